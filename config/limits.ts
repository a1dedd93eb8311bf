/**
 * The gateway's limits, in one table.
 *
 * Every number that bounds work done for an untrusted peer lives here, with the reason for its value. Each
 * one can be overridden by the environment variable named in `env` (read once at start by `loadConfig`).
 * Exceeding a limit always produces an explicit SMTP reply or problem+json answer carrying a searchable code;
 * nothing is truncated silently.
 */

export interface LimitDef {
  /** Default value. */
  readonly value: number;
  /** Environment variable that overrides it. */
  readonly env: string;
  /** Why this value. */
  readonly why: string;
}

const MiB = 1024 * 1024;

export const LIMITS = {
  // --- SMTP ingress -------------------------------------------------------------------------------------
  maxMessageBytes: {
    value: 25 * MiB,
    env: 'LIMIT_MAX_MESSAGE_BYTES',
    why: 'Mon espace santé refuses messages over 25 MB (CNAM ENS v1.3 §6); advertised in EHLO SIZE and enforced while streaming.',
  },
  maxRecipients: {
    value: 100,
    env: 'LIMIT_MAX_RECIPIENTS',
    why: 'SPEC §3: 100 recipients per message; RFC 5321 §4.5.3.1.8 minimum is 100.',
  },
  maxMimeParts: {
    value: 1000,
    env: 'LIMIT_MAX_MIME_PARTS',
    why: 'SPEC §3: bounds parser work on hostile MIME trees (deep nesting, part bombs).',
  },
  maxMimeDepth: {
    value: 20,
    env: 'LIMIT_MAX_MIME_DEPTH',
    why: 'SPEC §3: multiparts nested deeper than this are a parser attack (real mail nests 3 or 4: mixed > alternative > related); refused while DATA streams.',
  },
  maxHeaderBytes: {
    value: 1 * MiB,
    env: 'LIMIT_MAX_HEADER_BYTES',
    why: 'SPEC §3: a header block larger than this is an attack, not a letter.',
  },
  maxConnectionsPerCertificate: {
    value: 50,
    env: 'LIMIT_MAX_CONNECTIONS_PER_CERT',
    why: 'Fair sharing between operators: a bulk sender gets many sessions but cannot take all of them (counted across every SMTP process sharing the database).',
  },
  maxConnections: {
    value: 500,
    env: 'LIMIT_MAX_CONNECTIONS',
    why: 'Total concurrent SMTP sessions per gateway process; above it new sessions get 421 and retry.',
  },
  maxMessagesPerConnection: {
    value: 1000,
    env: 'LIMIT_MAX_MESSAGES_PER_CONNECTION',
    why: 'Forces long-lived bulk sessions to reconnect now and then, so load spreads over processes.',
  },
  maxInflatedBytesPerMessage: {
    value: 50 * MiB,
    env: 'LIMIT_MAX_INFLATED_BYTES_PER_MESSAGE',
    why: 'Every XDM archive of one message shares this budget (each archive also has its own caps, and entries under 1 MiB skip the ratio cap): twenty small bombs in one message cannot add up to gigabytes. Twice the message size limit.',
  },
  maxConnectionsPerIp: {
    value: 60,
    env: 'LIMIT_MAX_CONNECTIONS_PER_IP',
    why: 'SPEC §3: one host cannot take every session slot before it has authenticated; above the per-certificate cap so an operator meets that one first (counted per SMTP process).',
  },
  authDeadlineMs: {
    value: 30_000,
    env: 'LIMIT_AUTH_DEADLINE_MS',
    why: 'From connection to an accepted MAIL FROM (STARTTLS, client certificate, whitelisted sender) an MTA needs well under a second; an idle or stalling socket is closed long before the 5-minute idle timeout.',
  },
  maxCommandsWithoutMessage: {
    value: 200,
    env: 'LIMIT_MAX_COMMANDS_WITHOUT_MESSAGE',
    why: 'SPEC §3: commands (NOOP, RSET, EHLO...) and refusals a session may spend between two accepted messages; twice the recipients of one message, so a bulk session whose recipients are all refused still reaches DATA; a session that only talks is closed.',
  },
  idleTimeoutMs: {
    value: 5 * 60_000,
    env: 'LIMIT_IDLE_TIMEOUT_MS',
    why: 'RFC 5321 §4.5.3.2.7 server timeout is at least 5 minutes.',
  },
  messagesPerMinutePerDomain: {
    value: 30_000,
    env: 'LIMIT_MESSAGES_PER_MINUTE_PER_DOMAIN',
    why: 'Stops a runaway sender (a loop) while letting a hospital batch through at full speed (one process accepts ~500-900 msg/s measured; 6 000/min refused part of a 3 000-message batch); fair scheduling keeps other senders served anyway. Summed over every SMTP process, each flushing its counts every 0.5 s.',
  },

  whitelistMaxAgeMs: {
    value: 48 * 3600_000,
    env: 'LIMIT_WHITELIST_MAX_AGE_MS',
    why: 'The ANS list is regenerated daily; older than two days means our refresh is broken: alert (the last good copy stays in use).',
  },
  whitelistReloadMs: {
    value: 3600_000,
    env: 'LIMIT_WHITELIST_RELOAD_MS',
    why: 'How often the whitelist is checked: the file re-read when it changed on disk (a `whitelist import` is picked up within this), the WHITELIST-STALE alert logged while the list in force is too old, a failed download retried. A bad file keeps the last good copy.',
  },
  whitelistDownloadMs: {
    value: 24 * 3600_000,
    env: 'LIMIT_WHITELIST_DOWNLOAD_MS',
    why: 'With WHITELIST_URL, how often the list is downloaded after a success: the ANS publishes no refresh frequency (DOMAIN.md §2), daily is the inferred one, ample for a list of operators that changes rarely and well inside LIMIT_WHITELIST_MAX_AGE_MS; after a failure it is retried at every check.',
  },
  whitelistDownloadTimeoutMs: {
    value: 60_000,
    env: 'LIMIT_WHITELIST_DOWNLOAD_TIMEOUT_MS',
    why: 'Whole download (connection, TLS, redirects, body): the file (a few MB) takes seconds; a server that stalls or trickles is given up and retried at the next check, the list in force stays.',
  },
  whitelistMaxBytes: {
    value: 32 * MiB,
    env: 'LIMIT_WHITELIST_MAX_BYTES',
    why: 'Largest list downloaded or imported: the published file holds 6 554 entries (March 2025), roughly 4 MB, so 8 times that leaves years of growth while a broken or hostile server cannot fill memory or disk.',
  },
  whitelistFutureSkewMs: {
    value: 3600_000,
    env: 'LIMIT_WHITELIST_FUTURE_SKEW_MS',
    why: 'A list whose DateDeGeneration is further ahead of our clock than this is refused: accepting it would make every genuine later list look older and be refused until that date.',
  },
  crlReloadMs: {
    value: 3600_000,
    env: 'LIMIT_CRL_RELOAD_MS',
    why: "How often the CRL_FILE files are re-read (an operator job fetches the CAs' CRLs into them): a revocation takes effect within this for new TLS sessions, in and out; a bad file keeps the CRLs in force (alert CRL-RELOAD).",
  },

  recipientCacheMs: {
    value: 5_000,
    env: 'LIMIT_RECIPIENT_CACHE_MS',
    why: 'An open profile is remembered this long for RCPT TO (a bulk sender names the same patients thousands of times); refusals are never cached and the accept statement re-checks every recipient.',
  },
  // --- Processing -------------------------------------------------------------------------------------------
  workerConcurrency: {
    value: 4,
    env: 'LIMIT_WORKER_CONCURRENCY',
    why: 'Parallel deliveries per worker process; parsing is CPU-bound, 2 per core keeps I/O overlapped.',
  },
  maxAttachmentsPerMessage: {
    value: 200,
    env: 'LIMIT_MAX_ATTACHMENTS',
    why: 'More attachments than this is not a clinical message; refused rather than filed.',
  },
  maxTextBodyBytes: {
    value: 2 * MiB,
    env: 'LIMIT_MAX_TEXT_BODY_BYTES',
    why: 'The readable body kept for display; the raw message is kept whole anyway.',
  },
  blobChunkBytes: {
    value: 256 * 1024,
    env: 'LIMIT_BLOB_CHUNK_BYTES',
    why: 'Encrypted blobs are stored in chunks of this size, so a large message or document is never held whole in memory: 20 sessions streaming 25 MB messages hold about 1 MiB each (measured: 1 MiB chunks cost 170 MiB more RSS).',
  },
  blobInlineBytes: {
    value: 2 * MiB,
    env: 'LIMIT_BLOB_INLINE_BYTES',
    why: 'A blob up to this size is written by the statement that references it (one round trip, one commit); 20 sessions hold at most 40 MiB this way.',
  },
  orphanBlobAgeMs: {
    value: 60 * 60_000,
    env: 'LIMIT_ORPHAN_BLOB_AGE_MS',
    why: 'Chunks written for a message whose transaction never committed are collected after this age.',
  },
  outboxSweepMs: {
    value: 1000,
    env: 'LIMIT_OUTBOX_SWEEP_MS',
    why: 'How often committed-but-not-enqueued work is looked for (besides the immediate kick after each commit).',
  },
  staleEnqueueMs: {
    value: 10 * 60_000,
    env: 'LIMIT_STALE_ENQUEUE_MS',
    why: 'A delivery enqueued this long ago and still not done is enqueued again (its job may have been lost with Redis).',
  },

  // --- Patient access --------------------------------------------------------------------------------------
  provisionalCodeValidityMs: {
    value: 42 * 24 * 3600_000,
    env: 'LIMIT_PROVISIONAL_CODE_VALIDITY_MS',
    why: 'SPEC §6.1: the provisional code is valid 6 weeks.',
  },
  requestedCodeValidityMs: {
    value: 60 * 60_000,
    env: 'LIMIT_REQUESTED_CODE_VALIDITY_MS',
    why: 'A provisional code the patient asks for by e-mail (forgotten password, reactivation, activation) is valid this long: the patient asked for it and uses it at once.',
  },
  oppositionWindowMs: {
    value: 42 * 24 * 3600_000,
    env: 'LIMIT_OPPOSITION_WINDOW_MS',
    why: 'SPEC §6.1: a pending profile becomes created when the 6-week opposition window ends without opposition.',
  },
  lifecycleCheckMs: {
    value: 60_000,
    env: 'LIMIT_LIFECYCLE_CHECK_MS',
    why: 'How often a worker ends opposition windows and reveals the hidden documents whose date has come: a profile is created, and a document shown, within a minute of its time; each run is one indexed query when nothing is due.',
  },
  maxRevealDelayMs: {
    value: 365 * 24 * 3600_000,
    env: 'LIMIT_MAX_REVEAL_DELAY_MS',
    why: "A document hidden until an announcement consultation may be given a reveal date at most a year ahead (API-PRO-08 / API-ORG-22 beyond): further is a typo in the year, and the document would stay out of the patient's sight for good.",
  },
  loginCodeValidityMs: {
    value: 10 * 60_000,
    env: 'LIMIT_LOGIN_CODE_VALIDITY_MS',
    why: 'The e-mailed one-time code is short-lived.',
  },
  loginCodeMaxAttempts: {
    value: 5,
    env: 'LIMIT_LOGIN_CODE_MAX_ATTEMPTS',
    why: 'Six digits with 5 tries gives a 1 in 200 000 chance per challenge.',
  },
  loginFreeFailures: {
    value: 5,
    env: 'LIMIT_LOGIN_FREE_FAILURES',
    why: 'Wrong passwords, provisional codes or one-time codes from one client address for one INS before each new attempt must wait (typos are free; no hard lock anyone else could trigger).',
  },
  loginDelayBaseMs: {
    value: 30_000,
    env: 'LIMIT_LOGIN_DELAY_BASE_MS',
    why: 'Wait after the first failure beyond the free ones, doubled at each further failure (brute-force defence, SPEC §6.2): 20 guesses cost hours, a patient who mistypes waits seconds.',
  },
  loginDelayMaxMs: {
    value: 15 * 60_000,
    env: 'LIMIT_LOGIN_DELAY_MAX_MS',
    why: 'The growing wait never exceeds this: at most 4 guesses an hour per client address and INS, and a patient is never shut out for longer.',
  },
  loginFailureMemoryMs: {
    value: 24 * 3600_000,
    env: 'LIMIT_LOGIN_FAILURE_MEMORY_MS',
    why: 'Failures older than this (counted from the last one) are forgotten; a success forgets them at once.',
  },
  loginMaxLiveChallenges: {
    value: 3,
    env: 'LIMIT_LOGIN_MAX_LIVE_CHALLENGES',
    why: 'Pending one-time codes per account: bounds parallel code guessing (3 × 5 tries) and the e-mails a password holder can trigger.',
  },
  sessionIdleMs: {
    value: 30 * 60_000,
    env: 'LIMIT_SESSION_IDLE_MS',
    why: 'A patient session expires after this much inactivity.',
  },
  sessionAbsoluteMs: {
    value: 12 * 3600_000,
    env: 'LIMIT_SESSION_ABSOLUTE_MS',
    why: 'A patient session never lasts longer than this.',
  },
  minPasswordLength: {
    value: 12,
    env: 'LIMIT_MIN_PASSWORD_LENGTH',
    why: 'ANSSI guidance for passwords backed by a second factor.',
  },
  proTokenMaxLifetimeSeconds: {
    value: 12 * 3600,
    env: 'LIMIT_PRO_TOKEN_MAX_LIFETIME_SECONDS',
    why: "A professional's bearer token whose exp - iat (exp - now without iat) exceeds this is refused: a stolen token is usable for its whole life, and an identity provider's access tokens last minutes to hours; 12 h covers a hospital shift.",
  },
  proJwksRefreshMs: {
    value: 600_000,
    env: 'LIMIT_PRO_JWKS_REFRESH_MS',
    why: "How often the identity provider's keys (PRO_JWKS_URL, discovery, PRO_JWKS_FILE) are fetched again: a key it withdraws stops verifying within this; a failed fetch keeps the keys in force (alert PRO-JWKS), so tokens signed with a known key keep working while it is unreachable.",
  },
  proJwksCooldownMs: {
    value: 30_000,
    env: 'LIMIT_PRO_JWKS_COOLDOWN_MS',
    why: 'A token naming a kid we do not have makes us fetch the keys at once (the provider rotated), but at most once per this after the last attempt: tokens with made-up kids cannot turn the gateway into a flood of requests to the provider.',
  },
  proJwksTimeoutMs: {
    value: 5_000,
    env: 'LIMIT_PRO_JWKS_TIMEOUT_MS',
    why: 'Whole fetch of the keys or the discovery document (a few KB): a request that met an unknown kid waits at most this before its answer; a slow provider is given up and retried after the cooldown.',
  },
  organisationBatchMaxDocuments: {
    value: 1000,
    env: 'LIMIT_ORGANISATION_BATCH_MAX_DOCUMENTS',
    why: 'Documents per bulk request of the organisation API: the per-document results are answered once the body is read, so a batch stays one answer a hospital system can log; past it each document gets API-ORG-20 and goes in the next batch (its idempotency key makes resending safe).',
  },
  apiPageSize: {
    value: 50,
    env: 'LIMIT_API_PAGE_SIZE',
    why: 'Items per page of cursor-paginated lists.',
  },
  // --- HTTP rate limits (counted in PostgreSQL, shared by every API process) --------------------------------
  patientAuthPerIpPerMinute: {
    value: 60,
    env: 'LIMIT_PATIENT_AUTH_PER_IP_PER_MINUTE',
    why: 'Activation, opposition, login, one-time code and self-service requests (new provisional code, password reset, reactivation) per client address per minute (all together): a login is two requests, and one address can be a carrier NAT shared by many patients.',
  },
  patientAuthGlobalPerMinute: {
    value: 1200,
    env: 'LIMIT_PATIENT_AUTH_GLOBAL_PER_MINUTE',
    why: 'The same requests from every address together: a distributed guessing run is slowed to 20 per second, above normal peaks (each costs a slow password hash).',
  },
  proApiPerTokenPerMinute: {
    value: 600,
    env: 'LIMIT_PRO_API_PER_TOKEN_PER_MINUTE',
    why: "Professional API requests per bearer token (per client address without one) per minute: a practice's software listing and fetching documents stays under it, a scraping loop does not.",
  },
  scryptConcurrency: {
    value: 2,
    env: 'LIMIT_SCRYPT_CONCURRENCY',
    why: "Password hashes computed at once per process: each takes 128 MiB and a thread of libuv's pool of 4 for ~0.3 s, so a burst cannot take every thread (file and DNS work go on) nor 500 MiB.",
  },
  scryptMaxWaiting: {
    value: 32,
    env: 'LIMIT_SCRYPT_MAX_WAITING',
    why: 'Password checks queued behind those (about 5 s of work on 2 cores); beyond, the request gets 503 with Retry-After instead of piling up.',
  },
  importMaxBytes: {
    value: 50 * MiB,
    env: 'LIMIT_IMPORT_MAX_BYTES',
    why: 'Largest CSV accepted by the provisioning import.',
  },
} as const satisfies Record<string, LimitDef>;

export type LimitName = keyof typeof LIMITS;
export type Limits = { readonly [K in LimitName]: number };

/** Resolves every limit from the environment, falling back to its default; a malformed value is an error. */
export function resolveLimits(env: NodeJS.ProcessEnv = process.env): Limits {
  const out: Record<string, number> = {};
  for (const [name, def] of Object.entries(LIMITS) as [LimitName, LimitDef][]) {
    const raw = env[def.env];
    if (raw === undefined || raw === '') {
      out[name] = def.value;
      continue;
    }
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${def.env} must be a non-negative number, got "${raw}"`);
    out[name] = n;
  }
  return out as Limits;
}
