/**
 * Outbound relay data: retry schedule, classification of remote SMTP replies, static routes, connection caps.
 *
 * Patients' replies leave the gateway through `gateway/relay/` towards the professional's MSSanté operator.
 * Everything that decides *how long* and *whether* we keep trying lives here, as data, so that it can be
 * reviewed without reading the delivery code.
 *
 * Guarantees:
 * - `RETRY_SCHEDULE_MS` spans at least 48 h (SPEC §4 "retries with backoff over 48 h"); after its last delay
 *   `retryDelay` (config/retry.ts) returns null and the caller gives up (a DSN goes back into the patient's mailbox).
 * - `classifyReply` always answers: the first matching rule of `REPLY_RULES` wins, otherwise the reply class
 *   decides (4xx temporary, 5xx permanent) and a failure without any SMTP code (network, TLS, timeout) is
 *   temporary. Nothing is ever classified permanent without a 5xx reply from the remote server.
 * - Parsers (`parseRoutes`, `relayMaxConnections`; the retry schedule's is config/retry.ts) never guess: a malformed value
 *   throws an Error naming the variable and the offending entry, so a typo fails at start, not at 3 a.m.
 */

import { RETRY_SCHEDULES } from './retry.js';

// --- Retry schedule ------------------------------------------------------------------------------------------

/**
 * Delays between attempts, in ms: element i is the wait after attempt i+1 failed temporarily. The schedule and
 * its reasons live with the inbound one in config/retry.ts (`RETRY_SCHEDULES.relay`: ZoneMTA's 5, 7, 8, 25, 75,
 * 120 min, then 4 h, 48 h exactly, 18 attempts in all).
 */
export const RETRY_SCHEDULE_MS: readonly number[] = RETRY_SCHEDULES.relay.delaysMs;

/** Name of the variable that overrides the schedule (tests use a few milliseconds). */
export const RETRY_SCHEDULE_ENV = RETRY_SCHEDULES.relay.env;

// --- Classification of remote replies --------------------------------------------------------------------

/**
 * - temporary: keep the message and try again per the schedule.
 * - permanent: give up now, a DSN goes back to the patient.
 * - rate-limited: temporary, and the remote asked us to slow down: the worker should not open more
 *   connections to that destination (it keeps the same schedule, DestinationLimiter caps concurrency).
 */
export type ReplyAction = 'temporary' | 'permanent' | 'rate-limited';

export interface ReplyRule {
  /** Tested against the whole reply, e.g. "550 5.1.1 <dr@x.fr>: Recipient address rejected: User unknown". */
  readonly pattern: RegExp;
  readonly action: ReplyAction;
  /** Stable, short machine-readable reason: tls, greylist, rate, recipient, mailbox-full, message-size, ... */
  readonly category: string;
  /** Why this classification. */
  readonly note: string;
}

export interface ReplyClassification {
  action: ReplyAction;
  category: string;
}

/**
 * Ordered: the first match wins, so specific rules come before the generic ones of the same code class.
 * ZoneMTA's config/bounces.txt is the model (regex, action, category; the real reply it was written for
 * quoted above each rule). "[GW-...]" replies are the ones our own ingress sends (gateway/ingress/replies.ts),
 * i.e. what another MSSanté-style server answers.
 */
export const REPLY_RULES: readonly ReplyRule[] = Object.freeze([
  // 450 4.2.0 <dr@hopital-a.mssante.fr>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/hopital-a.mssante.fr.html
  // 451 4.7.1 Greylisting in action, please come back later            (milter-greylist)
  {
    pattern: /^4\d\d[ -].*\bgr[ae]y-?list/i,
    action: 'temporary',
    category: 'greylist',
    note: 'Greylisting: the first attempt is always deferred; the 5-minute first retry passes it.',
  },
  // 452 4.5.3 Too many recipients / Trop de destinataires [GW-RCPT-06]
  // 552 5.5.3 Too many recipients                                         (some Exchange versions)
  {
    pattern: /^[45]\d\d[ -].*\btoo many recipients\b/i,
    action: 'temporary',
    category: 'too-many-recipients',
    note: 'RFC 5321 §4.5.3.1.10: a "too many recipients" reply, even 552, must be treated as temporary.',
  },
  // 454 4.7.0 TLS not available due to local problem                    (Postfix)
  // 530 5.7.0 Must issue a STARTTLS command first                       (Postfix, smtp-server, our GW-TLS-01)
  {
    pattern: /^(454|530)[ -].*\b(TLS|STARTTLS|SSL)\b/i,
    action: 'temporary',
    category: 'tls',
    note: 'STARTTLS failed on the remote side or it did not see our TLS session: an operator configuration fault, not a property of the message.',
  },
  // 530 5.7.0 Authentication required                                   (Postfix smtpd_sender_restrictions = permit_sasl_authenticated, reject)
  {
    pattern: /^530[ -]/,
    action: 'temporary',
    category: 'auth',
    note: 'MSSanté authenticates by client certificate, never by AUTH: "authentication required" means the peer did not accept our certificate, which operators fix.',
  },
  // 554 5.7.1 Client certificate not trusted / Certificat client non reconnu [GW-TLS-03]
  // 550 5.7.1 Certificate not listed for this sender domain / Certificat non reference pour ce domaine [GW-MAIL-02]
  // 421 4.7.0 TLS required                                              (Gmail)
  {
    pattern: /^[45]\d\d[ -]+[45]\.7\.\d+\b.*\b(certificate|certificat|TLS|STARTTLS|SSL)\b/i,
    action: 'temporary',
    category: 'tls',
    note: 'The remote refused our certificate: after a renewal the ANS whitelist takes up to a day to reach every operator; the schedule bounds the wait.',
  },
  // 452 4.2.2 The email account that you tried to reach is over quota.  (Gmail)
  // 552 5.2.2 <dr@hopital-a.mssante.fr> Quota exceeded (mailbox for user is full)   (Dovecot LMTP behind Postfix)
  {
    pattern: /^[45]\d\d[ -](?:.*\b[45]\.2\.2\b|.*\b(mailbox (is )?full|over quota|quota exceeded)\b)/i,
    action: 'temporary',
    category: 'mailbox-full',
    note: 'Decision: temporary even as 552. RFC 3463 X.2.2 is "a persistent transient failure": the professional frees space and a patient reply must not be lost for that; the 48 h schedule bounds it.',
  },
  // 421 4.7.0 Too many connections, try again later / Trop de connexions, reessayez plus tard [GW-CONN-01]
  // 421 4.7.0 mx.hopital-a.mssante.fr Error: too many connections from 203.0.113.7   (Postfix anvil)
  // 451 4.7.1 Too many messages from this domain, slow down / Trop de messages, ralentissez [GW-MAIL-05]
  // 450 4.2.1 The user you are trying to contact is receiving mail too quickly. Please resend your message at a later time.   (Gmail)
  // 451 4.7.500 Server busy. Please try again later from [203.0.113.7]. (S77714)   (Microsoft 365)
  // 454 Throttling failure: Maximum sending rate exceeded.              (Amazon SES)
  {
    pattern:
      /^4\d\d[ -].*(\brate[ -]?limit|\bratelimit|\btoo many (connections|concurrent|sessions|messages)\b|\bthrottl|\btoo quickly\b|\bslow down\b|\bralentissez\b|\btrop de (connexions|messages)\b|\bserver busy\b|\btoo busy\b|\bsending rate\b)/i,
    action: 'rate-limited',
    category: 'rate',
    note: 'The remote asks us to slow down: retry later with no more parallel connections than now.',
  },
  // 421 4.7.0 Try again later, closing connection.                      (Gmail, unusual traffic)
  // 451 4.7.1 Please try again later                                    (policy daemons, Exim ratelimit ACL)
  {
    pattern: /^4\d\d[ -]+4\.7\.\d+\b.*\btry again later\b/i,
    action: 'rate-limited',
    category: 'rate',
    note: 'A 4.7.x "try again later" is a policy deferral aimed at the sending host: treated as a request to slow down.',
  },
  // 421 4.3.2 Server shutting down, try again later / Arret en cours [GW-PROTO-05]
  // 421 4.4.2 Timeout, closing connection / Delai depasse [GW-PROTO-04]
  // 421 mx.hopital-a.mssante.fr Service not available, closing transmission channel
  {
    pattern: /^421[ -]/,
    action: 'temporary',
    category: 'service',
    note: 'RFC 5321 §3.8: 421 means the server is closing the channel (shutdown, overload, timeout).',
  },
  // 451 4.3.0 Temporary failure, try again later / Erreur temporaire, reessayez [GW-RCPT-05]
  // 452 4.3.1 Insufficient system storage                               (Postfix)
  {
    pattern: /^4\d\d[ -]+4\.3\.\d+\b/,
    action: 'temporary',
    category: 'service',
    note: 'Mail system status (RFC 3463 X.3.x) on a 4xx: their system is unwell.',
  },
  // 451 4.4.1 No answer from host                                       (relays behind a front MX)
  {
    pattern: /^4\d\d[ -]+4\.4\.\d+\b/,
    action: 'temporary',
    category: 'network',
    note: 'Network or routing status (RFC 3463 X.4.x) beyond the first hop.',
  },
  // 550 5.1.1 <dr@hopital-a.mssante.fr>: Recipient address rejected: User unknown in virtual mailbox table   (Postfix)
  // 550 5.1.1 Recipient unknown to Mon espace sante / Destinataire inconnu de Mon espace sante [GW-RCPT-03]
  // 550 5.1.1 The email account that you tried to reach does not exist.   (Gmail)
  // 553 5.1.3 <dr@hopital-a..mssante.fr>: Recipient address rejected: bad address syntax
  {
    pattern: /^5\d\d[ -]+5\.1\.[0-36]\b/,
    action: 'permanent',
    category: 'recipient',
    note: 'Bad destination mailbox (RFC 3463 X.1.0-X.1.3, X.1.6 moved): retrying cannot help, the patient gets a DSN.',
  },
  // 550 5.2.1 Patient mailbox closed / Messagerie du patient fermee [GW-RCPT-04]
  // 550 5.2.1 The email account that you tried to reach is disabled.    (Gmail)
  {
    pattern: /^5\d\d[ -]+5\.2\.1\b/,
    action: 'permanent',
    category: 'recipient',
    note: 'Mailbox disabled (RFC 3463 X.2.1): the professional no longer receives here.',
  },
  // 550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [AM0PR01MB1234.eurprd01.prod.protection.outlook.com]   (Microsoft 365 directory-based edge blocking)
  {
    pattern: /^5\d\d[ -]+5\.4\.1\b.*recipient address rejected/i,
    action: 'permanent',
    category: 'recipient',
    note: 'Microsoft 365 reports unknown recipients as 5.4.1 "Access denied".',
  },
  // 550 No such user here                                               (sendmail, no enhanced code)
  // 550 <dr@hopital-a.mssante.fr>: Recipient address rejected: User unknown
  {
    pattern: /^55\d[ -].*\b(user unknown|unknown user|no such user|mailbox unavailable|does not exist)\b/i,
    action: 'permanent',
    category: 'recipient',
    note: 'Unknown user from a server that sends no enhanced status code.',
  },
  // 552 5.3.4 Message too big / Message trop volumineux [GW-DATA-01]
  // 552 5.3.4 Message size exceeds fixed limit                          (Postfix)
  // 552 5.2.3 Message length exceeds administrative limit               (Exim)
  {
    pattern: /^5\d\d[ -]+(5\.3\.4|5\.2\.3)\b|^552[ -].*\b(too (big|large)|size exceeds|exceeds .*\b(size|limit))\b/i,
    action: 'permanent',
    category: 'message-size',
    note: 'The same bytes will be refused again: the patient gets a DSN (attachments too large for that operator).',
  },
  // 554 5.7.1 Service unavailable; Client host [203.0.113.7] blocked using zen.spamhaus.org   (Postfix reject_rbl_client)
  // 550 5.7.1 Your IP address is listed by https://spamhaus.org/zen, correct this
  {
    pattern: /^[45]\d\d[ -].*(\bblocked using\b|\bblack ?list(ed)?\b|\bis listed (at|on|in|by)\b|\bDNSBL\b|\bRBL\b)/i,
    action: 'temporary',
    category: 'blacklist',
    note: 'Our sending IP is on a block list: we get it delisted, the message itself is fine (ZoneMTA defers these too).',
  },
  // 554 5.7.1 <dr@hopital-a.mssante.fr>: Message rejected: virus found (Eicar-Signature)   (amavis)
  // 550 5.7.1 Message rejected as spam                                  (rspamd)
  {
    pattern: /^5\d\d[ -].*\b(virus|malware|infected|spam)\b/i,
    action: 'permanent',
    category: 'content',
    note: 'Content refused by a filter: sending the same message again gives the same verdict.',
  },
  // 554 5.4.6 Too many hops                                             (Postfix: mail forwarding loop)
  {
    pattern: /^5\d\d[ -]+5\.4\.6\b|^5\d\d[ -].*\b(too many hops|hop count exceeded|mail loop)/i,
    action: 'permanent',
    category: 'loop',
    note: 'A mail loop on the remote side does not fix itself within the schedule.',
  },
  // 503 5.5.1 Error: need RCPT command                                  (Postfix)
  {
    pattern: /^503[ -]/,
    action: 'temporary',
    category: 'protocol',
    note: 'Bad sequence of commands describes the session state, not the message (nodemailer isPermanentResponseCode excludes 503 too): a new session may pass.',
  },
  // 500 5.5.2 Command not recognized / Commande inconnue [GW-PROTO-03]
  // 550 5.5.2 Bare LF line ending not allowed, use CRLF [GW-DATA-02]
  // 501 5.5.4 Syntax error in parameters / Erreur de syntaxe [GW-PROTO-02]
  {
    pattern: /^5\d\d[ -]+5\.5\.\d+\b|^50[0-4][ -]/,
    action: 'permanent',
    category: 'protocol',
    note: 'The remote refuses what we sent as malformed; the same bytes would be refused again.',
  },
  // 554 5.7.1 <dr@hopital-a.mssante.fr>: Relay access denied            (Postfix)
  // 550 5.7.1 Relaying denied: this gateway only serves patients / Relais refuse [GW-RCPT-01]
  // 550 5.7.1 Sender domain is not an authorised MSSante domain / Domaine expediteur non autorise [GW-MAIL-01]
  {
    pattern: /^5\d\d[ -]+5\.7\.\d+\b/,
    action: 'permanent',
    category: 'policy',
    note: 'Security or policy refusal (RFC 3463 X.7.x) not about certificates: permanent, the DSN carries the text.',
  },
  // Errors without any SMTP reply (node:tls / nodemailer texts):
  // "Error initiating TLS - unable to verify the first certificate", "certificate has expired",
  // "Client network socket disconnected before secure TLS connection was established"
  {
    pattern: /^(?!\d{3}[ -]).*\b(certificate|TLS|SSL|handshake|ERR_TLS_\w+|ERR_SSL_\w+|UNABLE_TO_\w+|CERT_\w+)\b/i,
    action: 'temporary',
    category: 'tls',
    note: 'TLS failed before any SMTP reply: fixable by an operator, bounded by the schedule.',
  },
]);

/**
 * Classifies a failure. `code` is the SMTP reply code when the remote answered, undefined for failures
 * without a reply (connection refused, reset, timeout, DNS, TLS). `text` is the full reply (it may or may
 * not start with the code; the code is prepended when missing so rules see one shape).
 */
export function classifyReply(code: number | undefined, text: string): ReplyClassification {
  const trimmed = text.trim();
  const subject = code !== undefined && !trimmed.startsWith(String(code)) ? `${code} ${trimmed}` : trimmed;
  for (const rule of REPLY_RULES) {
    if (rule.pattern.test(subject)) return { action: rule.action, category: rule.category };
  }
  if (code === undefined) return { action: 'temporary', category: 'network' };
  if (code >= 400 && code < 500) return { action: 'temporary', category: 'other' };
  if (code >= 500 && code < 600) return { action: 'permanent', category: 'other' };
  // A 2xx/3xx where a failure was reported, or garbage: the remote misbehaved, nothing proves the
  // message cannot go through later.
  return { action: 'temporary', category: 'protocol' };
}

// --- What the patient reads --------------------------------------------------------------------------------------

/**
 * When a patient's message cannot be delivered, the notice in the patient's inbox gives one of these fixed French
 * reasons, never the remote server's reply: that text is written for postmasters, in English, and may carry
 * addresses, host names or filter verdicts. The reply itself stays in `outbound_messages.last_response` for the
 * operator. A permanent refusal reads its category's sentence; retries that ran out read EXPIRED_REASON.
 */
export const PATIENT_REFUSAL_REASONS: Readonly<Record<string, string>> = Object.freeze({
  recipient: "l'adresse du professionnel n'existe pas ou plus chez son opérateur de messagerie",
  envelope: "l'adresse du professionnel n'est pas valide",
  'mailbox-full': 'la messagerie du professionnel est pleine',
  'message-size': 'le message est trop volumineux pour la messagerie du professionnel',
  content: 'la messagerie du professionnel a refusé le contenu du message',
  whitelist: "le professionnel n'utilise pas une messagerie de santé autorisée",
  loop: 'le message tournait en boucle entre deux serveurs',
});
export const DEFAULT_REFUSAL_REASON = 'la messagerie du professionnel a refusé le message';
export const EXPIRED_REASON = "la messagerie du professionnel n'a pas pu être jointe pendant deux jours";

/** The sentence the patient reads (see PATIENT_REFUSAL_REASONS). */
export function patientFailureReason(category: string, gaveUp: 'refused' | 'expired'): string {
  if (gaveUp === 'expired') return EXPIRED_REASON;
  return Object.hasOwn(PATIENT_REFUSAL_REASONS, category) ? PATIENT_REFUSAL_REASONS[category]! : DEFAULT_REFUSAL_REASON;
}

// --- Static routes -------------------------------------------------------------------------------------------

export interface RelayDestination {
  host: string;
  port: number;
}

/** Name of the variable holding the static route table (development: operator sinks on loopback). */
export const ROUTES_ENV = 'RELAY_ROUTES';

const DOMAIN_RE = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const HOST_RE = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/**
 * Parses `RELAY_ROUTES`: comma-separated `domain=host:port` (`hopital-a.mssante.fr=127.0.0.1:2526`,
 * `cabinet-b.mssante.fr=[::1]:2527`). Domains are lower-cased (a trailing root dot is dropped); blank
 * entries (a trailing comma) are ignored; anything else malformed, a port outside 1-65535 or a domain
 * listed twice throws. Unset or blank → empty map (routing by MX).
 */
export function parseRoutes(env: string | undefined): Map<string, RelayDestination> {
  const routes = new Map<string, RelayDestination>();
  if (env === undefined || env.trim() === '') return routes;
  for (const raw of env.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const fail = (why: string): never => {
      throw new Error(`${ROUTES_ENV}: entry "${entry}" ${why} (expected domain=host:port, IPv6 as [::1]:2525)`);
    };
    const eq = entry.indexOf('=');
    if (eq <= 0) fail('has no domain=');
    const domain = entry.slice(0, eq).trim().toLowerCase().replace(/\.$/, '');
    if (!DOMAIN_RE.test(domain)) fail(`has an invalid domain "${domain}"`);
    const target = entry.slice(eq + 1).trim();
    let host: string;
    let portText: string;
    const v6 = /^\[([0-9a-f:.]+)\]:(\d+)$/i.exec(target);
    if (v6) {
      host = v6[1]!;
      portText = v6[2]!;
      if (!host.includes(':')) fail(`has an invalid IPv6 address "${host}"`);
    } else {
      const m = /^([^:\s[\]]+):(\d+)$/.exec(target);
      if (!m) return fail('has no host:port');
      host = m[1]!;
      portText = m[2]!;
      if (!HOST_RE.test(host)) fail(`has an invalid host "${host}"`);
    }
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`has an invalid port "${portText}"`);
    if (routes.has(domain)) fail(`repeats the domain ${domain}`);
    routes.set(domain, { host, port });
  }
  return routes;
}

// --- Connection caps and timeouts --------------------------------------------------------------------------

/**
 * At most this many simultaneous SMTP sessions to one destination host:port. ZoneMTA's per-domain default
 * (`maxConnections` 5): enough for throughput, low enough not to trip an operator's per-client limits
 * (Postfix smtpd_client_connection_count_limit is 50, many MSSanté operators set far less).
 */
export const RELAY_MAX_CONNECTIONS_PER_DESTINATION = 5;
export const MAX_CONNECTIONS_ENV = 'RELAY_MAX_CONNECTIONS';

/** `RELAY_MAX_CONNECTIONS` (a positive integer) or the default. */
export function relayMaxConnections(env: string | undefined = process.env[MAX_CONNECTIONS_ENV]): number {
  if (env === undefined || env.trim() === '') return RELAY_MAX_CONNECTIONS_PER_DESTINATION;
  const value = env.trim();
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new Error(`${MAX_CONNECTIONS_ENV} must be a positive integer, got "${env}"`);
  }
  return n;
}

/**
 * Default per-step timeout of an outbound session: connection set-up (TCP, greeting, STARTTLS) and each
 * command reply. RFC 5321 §4.5.3.2 asks clients to wait 5 minutes for the greeting, MAIL and RCPT
 * replies; the DATA termination reply may take 10 minutes, so the delivery code allows twice this value
 * of inactivity on an established session.
 */
export const RELAY_TIMEOUT_MS = 5 * 60_000;
