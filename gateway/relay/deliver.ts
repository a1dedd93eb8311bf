/**
 * One delivery attempt of one message to one recipient over SMTP with mutual TLS (SPEC §4 "Patient
 * outbound"): the patient's reply leaves towards the professional's MSSanté operator.
 *
 * Guarantees:
 * - STARTTLS is mandatory (`requireTLS`): no byte of the envelope or the message is sent in clear. TLS 1.2
 *   minimum, ECDHE with AES-GCM or CHACHA20 only (the ingress's suites, SPEC §2). Our certificate (the
 *   gateway's IGC-Santé certificate) is presented as the client certificate.
 * - The destination's certificate must chain to the configured trust anchors (node:tls, `rejectUnauthorized`,
 *   with the CRLs when given) AND its subject DN must be listed in the ANS whitelist for the RECIPIENT'S
 *   DOMAIN (`isSenderAuthorised(whitelist, domain, dn) === 'ok'`). That check replaces hostname
 *   verification on purpose: in MSSanté the trust anchor of an operator is the DN the ANS publishes for
 *   the domain, not a DNS name. Operators' certificates are IGC-Santé "ORG" certificates whose CN is a
 *   server name that need not match the MX host (MX names point at hosting providers, shared front ends,
 *   load balancers), so RFC 6125 matching would refuse legitimate operators, while a certificate that does
 *   match the MX name proves nothing about who may receive mail for the domain. A DN listed for another
 *   domain is refused too: hopital-a's operator cannot receive cabinet-b's mail.
 * - `envelopeFrom: ''` is sent as `MAIL FROM:<>` (null sender, for DSNs and MDNs).
 * - Nothing is logged here, and no result ever contains message bytes: only SMTP replies, error texts, host
 *   names and DNs.
 * - Every wait is bounded: connection set-up (TCP, greeting, STARTTLS) by `timeoutMs`, inactivity on an
 *   established session by 2 × `timeoutMs` (RFC 5321 §4.5.3.2.6 lets DATA termination take 10 min), and the
 *   whole attempt on one destination by 6 × `timeoutMs` (a peer trickling bytes cannot hold a worker).
 *
 * Failure semantics (the result, never a throw, except for programming errors in the input):
 * - Destinations are tried in order while the failure is at connection level: refused/reset/timeout, DNS,
 *   TLS (including a DN refusal), or a reply received before the session was established (e.g. a 421
 *   greeting). Once the session is up, a 4xx/5xx reply is final for this attempt and classified by
 *   `classifyReply` (config/relay.ts); a connection lost mid-session moves on to the next destination only
 *   if the message can be read again (a Buffer or a stream factory: a plain stream is consumed by DATA).
 * - A TLS or DN refusal is `temporary` with category `tls`: an operator may fix its certificate or the
 *   whitelist may catch up, and the 48 h schedule bounds the wait. That includes a destination certificate
 *   revoked by the CRLs in force (`tls.crl`, the response names CERT_REVOKED): a revoked server certificate is
 *   the operator's configuration to fix (it installs its new certificate), not a refusal of this recipient, so
 *   the message is retried and the patient is told only when the schedule runs out. The CRLs are read from
 *   `tls.crl` at each connection, so a reloaded set applies to the next attempt. A recipient domain absent from the
 *   whitelist is `temporary`/`whitelist` without connecting (the list may be stale; it is refreshed daily).
 * - When every destination failed, the result is permanent only if every failure was permanent; otherwise
 *   the most informative temporary failure is returned (TLS first, then rate limiting, then any reply).
 * - A message source that fails while being read is `temporary`/`source`: a local fault, never the peer's.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { dnFromX509, isSenderAuthorised, normalizeDomain, type Whitelist } from '../../certs/index.js';
import { RELAY_TIMEOUT_MS, classifyReply, type RelayDestination, type ReplyAction } from '../../config/index.js';
import { DestinationLimiter, destinationKey } from './limiter.js';

export { DestinationLimiter, destinationKey };

/** TLS 1.3 suites and the TLS 1.2 ECDHE + AEAD suites of SPEC §2 (same list as the ingress). */
export const OUTBOUND_CIPHERS =
  'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:' +
  'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:' +
  'ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256';

export type RawMessage = Buffer | NodeJS.ReadableStream | (() => NodeJS.ReadableStream);

export interface RelayTlsMaterial {
  /** The gateway's certificate chain (leaf first) and key, presented as the client certificate. */
  cert: string | Buffer;
  key: string | Buffer;
  /** Trust anchors, one PEM per entry (`loadTrustMaterial().ca`). */
  ca: string[];
  /** CRLs, one PEM per entry; when given, revocation is checked for the whole chain. */
  crl?: string[];
}

export interface DeliverInput {
  /** One recipient, `local@domain`; the domain selects the whitelist entry the peer must match. */
  to: string;
  /** Envelope sender; '' for the null sender (DSN/MDN): MAIL FROM:<>. */
  envelopeFrom: string;
  /** The message bytes, as they must arrive. A factory is called once per destination actually reached. */
  raw: RawMessage;
  /** In order of preference (`resolveDestination`). */
  destinations: RelayDestination[];
  tls: RelayTlsMaterial;
  whitelist: Whitelist;
  /** EHLO name (the gateway's host name). */
  heloName: string;
  /** Per-step timeout, see the header; default RELAY_TIMEOUT_MS (5 min). */
  timeoutMs?: number;
  /** When given, each destination attempt runs inside `limiter.run(destinationKey(dest), ...)`. */
  limiter?: DestinationLimiter;
}

export type DeliveryResult =
  | { ok: true; response: string; host: string }
  | {
      ok: false;
      action: ReplyAction;
      category: string;
      response: string;
      code?: number;
      host?: string;
    };

export type DeliveryFailure = Extract<DeliveryResult, { ok: false }>;

/** Error codes node:tls / OpenSSL give to certificate and handshake failures. */
const TLS_ERROR_CODE =
  /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|INVALID_CA|INVALID_PURPOSE|CRL_|PATH_LENGTH_EXCEEDED|ERR_RELAY_DN)/;

export const DN_NOT_LISTED_CODE = 'ERR_RELAY_DN_NOT_LISTED';

/**
 * The MSSanté identity check of a destination certificate (used as node:tls `checkServerIdentity`, which
 * node only calls once the chain verified): undefined when the certificate's subject DN is listed for
 * `domain`, an Error (code ERR_RELAY_DN_NOT_LISTED) otherwise.
 */
export function checkDestinationCertificate(whitelist: Whitelist, domain: string, peer: Pick<PeerCertificate, 'raw'> | undefined): Error | undefined {
  let dn = '';
  let decision: string;
  try {
    if (!peer?.raw || peer.raw.length === 0) throw new Error('no certificate');
    dn = dnFromX509(new X509Certificate(peer.raw));
    decision = isSenderAuthorised(whitelist, domain, dn);
  } catch (err) {
    decision = `unreadable certificate: ${(err as Error).message}`;
  }
  if (decision === 'ok') return undefined;
  const err = new Error(
    `Destination certificate ${dn ? `"${dn}" ` : ''}is not listed for ${normalizeDomain(domain)} in the MSSante whitelist (${decision})`,
  ) as NodeJS.ErrnoException;
  err.code = DN_NOT_LISTED_CODE;
  return err;
}

/** Hands out the message once per attempt: a Buffer or a factory any number of times, a stream once. */
class MessageSource {
  #used = false;
  constructor(private readonly raw: RawMessage) {}

  get replayable(): boolean {
    return Buffer.isBuffer(this.raw) || typeof this.raw === 'function';
  }

  canOpen(): boolean {
    return this.replayable || !this.#used;
  }

  open(): Buffer | Readable {
    const raw = this.raw;
    if (Buffer.isBuffer(raw)) return raw;
    this.#used = true;
    const stream = typeof raw === 'function' ? raw() : raw;
    return stream instanceof Readable ? stream : new Readable().wrap(stream);
  }

  size(): number | undefined {
    return Buffer.isBuffer(this.raw) ? this.raw.length : undefined;
  }
}

interface SmtpErrorLike {
  message?: unknown;
  code?: unknown;
  originalCode?: unknown;
  response?: unknown;
  responseCode?: unknown;
}

type AttemptOutcome = { kind: 'delivered'; response: string; host: string } | { kind: 'failed'; failure: DeliveryFailure; connectionLevel: boolean };

interface AttemptContext {
  to: string;
  domain: string;
  envelopeFrom: string;
  source: MessageSource;
  tls: RelayTlsMaterial;
  whitelist: Whitelist;
  heloName: string;
  timeoutMs: number;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function failureFrom(
  err: unknown,
  at: {
    host: string;
    phase: 'connect' | 'session';
    /** STARTTLS handshake in progress. */
    upgrading: boolean;
    /** STARTTLS handshake completed. */
    secured: boolean;
    dnRefusal: string | undefined;
    replayable: boolean;
  },
): AttemptOutcome {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SmtpErrorLike;
  const message = str(e.message) ?? String(err);
  const reply = str(e.response)?.trim();
  const code = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const errorCode = str(e.code);
  const originalCode = str(e.originalCode);
  const base = { ok: false as const, host: at.host, ...(code !== undefined ? { code } : {}) };
  const connectionLevel = at.phase === 'connect' || (code === undefined && at.replayable);

  if (at.dnRefusal !== undefined) {
    return { kind: 'failed', connectionLevel: true, failure: { ...base, action: 'temporary', category: 'tls', response: at.dnRefusal } };
  }
  if (errorCode === 'ESTREAM') {
    // Reading our own message failed: not the peer's doing, and not worth another destination now.
    return { kind: 'failed', connectionLevel: false, failure: { ...base, action: 'temporary', category: 'source', response: message } };
  }
  const tls = errorCode === 'ETLS' || at.upgrading || [errorCode, originalCode].some((c) => c !== undefined && TLS_ERROR_CODE.test(c));
  if (tls) {
    const detail = originalCode && !message.includes(originalCode) ? `${message} (${originalCode})` : message;
    return { kind: 'failed', connectionLevel: true, failure: { ...base, action: 'temporary', category: 'tls', response: reply ?? detail } };
  }
  if (code === undefined && at.phase === 'connect' && at.secured) {
    // TLS 1.3: the client's handshake ends before the server has checked our certificate, so a refusal
    // shows up as the connection dying before the post-STARTTLS EHLO is answered.
    return {
      kind: 'failed',
      connectionLevel: true,
      failure: {
        ...base,
        action: 'temporary',
        category: 'tls',
        response: `${message} right after the TLS handshake (the peer may have refused our client certificate)`,
      },
    };
  }
  if (code === undefined && errorCode === 'ETIMEDOUT') {
    return { kind: 'failed', connectionLevel, failure: { ...base, action: 'temporary', category: 'timeout', response: message } };
  }
  const response = reply ?? (originalCode && !message.includes(originalCode) ? `${message} (${originalCode})` : message);
  const verdict = classifyReply(code, response);
  return { kind: 'failed', connectionLevel, failure: { ...base, action: verdict.action, category: verdict.category, response } };
}

function attemptDestination(dest: RelayDestination, ctx: AttemptContext): Promise<AttemptOutcome> {
  const host = destinationKey(dest);
  return new Promise<AttemptOutcome>((resolve) => {
    let settled = false;
    let phase: 'connect' | 'session' = 'connect';
    let dnRefusal: string | undefined;

    const tlsOptions: ConnectionOptions = {
      cert: ctx.tls.cert,
      key: ctx.tls.key,
      ca: ctx.tls.ca,
      ...(ctx.tls.crl && ctx.tls.crl.length > 0 ? { crl: ctx.tls.crl } : {}),
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      ciphers: OUTBOUND_CIPHERS,
      // SNI names the MX host; an IP literal is not a valid SNI name (RFC 6066 §3), so none is sent then.
      ...(isIP(dest.host) ? {} : { servername: dest.host }),
      // Called by node:tls only after the chain verified; see the header for why no hostname check.
      checkServerIdentity: (_hostname, peer) => {
        const refusal = checkDestinationCertificate(ctx.whitelist, ctx.domain, peer);
        if (refusal) dnRefusal = refusal.message;
        return refusal;
      },
    };

    const conn = new SMTPConnection({
      host: dest.host,
      port: dest.port,
      secure: false,
      requireTLS: true,
      opportunisticTLS: false,
      ignoreTLS: false,
      name: ctx.heloName,
      connectionTimeout: ctx.timeoutMs,
      greetingTimeout: ctx.timeoutMs,
      socketTimeout: 2 * ctx.timeoutMs,
      dnsTimeout: ctx.timeoutMs,
      socketCloseTimeout: 5_000,
      logger: false,
      debug: false,
      transactionLog: false,
      tls: tlsOptions,
    });

    // SMTPConnection emits 'end' exactly once, when it is destroyed (close() included).
    const ended = new Promise<void>((r) => conn.once('end', () => r()));
    const finish = (outcome: AttemptOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(watchdog);
      if (outcome.kind === 'delivered') {
        // Polite QUIT, and the result only once the session is over, so that a DestinationLimiter slot
        // really covers the connection. The connection closes itself on the 221, or after 5 s at the latest.
        const quitTimer = setTimeout(() => conn.close(), 5_000);
        void ended.then(() => {
          clearTimeout(quitTimer);
          resolve(outcome);
        });
        conn.quit();
      } else {
        conn.close();
        resolve(outcome);
      }
    };
    const fail = (err: unknown): void =>
      finish(
        failureFrom(err, {
          host,
          phase,
          upgrading: conn.upgrading === true,
          secured: conn.secure === true,
          dnRefusal,
          replayable: ctx.source.replayable,
        }),
      );

    const deadlineMs = 6 * ctx.timeoutMs;
    const watchdog = setTimeout(() => fail(Object.assign(new Error(`Delivery attempt exceeded ${deadlineMs} ms`), { code: 'ETIMEDOUT' })), deadlineMs);

    conn.on('error', fail);
    // 'end' can precede the send callback that carries the reply (a 421 closes first, then fails the
    // send): give that callback its turn before settling on a bare "closed".
    conn.on('end', () => setImmediate(() => fail(Object.assign(new Error('Connection closed unexpectedly'), { code: 'ECONNECTION' }))));

    conn.connect((err) => {
      if (err) return fail(err);
      if (settled) return;
      phase = 'session';
      let body: Buffer | Readable;
      try {
        body = ctx.source.open();
      } catch (openErr) {
        return fail(Object.assign(new Error(`Cannot read the message: ${(openErr as Error).message}`), { code: 'ESTREAM' }));
      }
      const size = ctx.source.size();
      conn.send({ from: ctx.envelopeFrom, to: [ctx.to], use8BitMime: true, ...(size !== undefined ? { size } : {}) }, body, (sendErr, info) => {
        if (sendErr) return fail(sendErr);
        finish({ kind: 'delivered', response: info?.response ?? '', host });
      });
    });
  });
}

const RANK: Record<string, number> = { tls: 0, rate: 1 };

/** The failure to report when no destination took the message (see the header). */
function pickFailure(failures: DeliveryFailure[]): DeliveryFailure {
  const temporary = failures.filter((f) => f.action !== 'permanent');
  if (temporary.length === 0) return failures[failures.length - 1]!;
  const rank = (f: DeliveryFailure): number => RANK[f.category] ?? (f.action === 'rate-limited' ? 1 : f.code !== undefined ? 2 : 3);
  return temporary.reduce((best, f) => (rank(f) < rank(best) ? f : best));
}

const ADDRESS_RE = /^[^\s<>@]+@[^\s<>@]+$/;

/** Delivers `raw` to `to` through the first destination that takes it; see the header for the semantics. */
export async function deliverMessage(input: DeliverInput): Promise<DeliveryResult> {
  const to = input.to.trim();
  if (!ADDRESS_RE.test(to)) {
    return { ok: false, action: 'permanent', category: 'envelope', response: `Invalid recipient address "${input.to}"` };
  }
  const envelopeFrom = input.envelopeFrom.trim();
  if (envelopeFrom !== '' && !ADDRESS_RE.test(envelopeFrom)) {
    return { ok: false, action: 'permanent', category: 'envelope', response: `Invalid envelope sender "${input.envelopeFrom}"` };
  }
  const domain = normalizeDomain(to.slice(to.lastIndexOf('@') + 1));
  if (!input.whitelist.byDomain.get(domain)?.size) {
    return {
      ok: false,
      action: 'temporary',
      category: 'whitelist',
      response: `Recipient domain ${domain} is not in the MSSante whitelist: no operator certificate can be trusted for it`,
    };
  }
  if (input.destinations.length === 0) {
    return { ok: false, action: 'temporary', category: 'routing', response: `No destination for ${domain}` };
  }
  const timeoutMs = input.timeoutMs ?? RELAY_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`timeoutMs must be positive, got ${timeoutMs}`);

  const ctx: AttemptContext = {
    to,
    domain,
    envelopeFrom,
    source: new MessageSource(input.raw),
    tls: input.tls,
    whitelist: input.whitelist,
    heloName: input.heloName,
    timeoutMs,
  };
  const failures: DeliveryFailure[] = [];
  for (const dest of input.destinations) {
    if (!ctx.source.canOpen()) break;
    const run = (): Promise<AttemptOutcome> => attemptDestination(dest, ctx);
    const outcome = input.limiter ? await input.limiter.run(destinationKey(dest), run) : await run();
    if (outcome.kind === 'delivered') return { ok: true, response: outcome.response, host: outcome.host };
    failures.push(outcome.failure);
    if (!outcome.connectionLevel) return outcome.failure;
  }
  return pickFailure(failures);
}
