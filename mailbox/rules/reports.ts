/**
 * Delivery status notifications (RFC 3464) and read receipts (RFC 8098), built as raw RFC 5322 text, and the
 * reading of the machine part of a DSN (SPEC §2 step 5, §4 "Read receipts", "Patient outbound"; DOMAIN §2, §3).
 *
 * Guarantees of every built report: CRLF line endings only (no bare CR or LF), no line over 998 characters
 * (header lines stay under 78), 7-bit output throughout (the human part and non-ASCII original headers are
 * quoted-printable, non-ASCII header values RFC 2047 encoded), so it can be relayed to any MTA without 8BITMIME.
 * Pure: no I/O, no clock, no randomness; the MIME boundary is derived from the report's Message-ID and checked
 * against the content, so the same input always gives the same bytes and a crafted original header cannot
 * inject a MIME part.
 *
 * Bad input: builders throw a RangeError for a value that would make the report invalid or misdirected
 * (unparseable or non-ASCII address, invalid Message-ID or Date, bad status code or MTA name): the caller logs
 * and alerts instead of sending a malformed report. Free texts (diagnostic, subject, UA) are cleaned instead:
 * controls removed, folded, capped. The parser never throws: unreadable lines are skipped.
 *
 * Privacy: only the header block of the original is ever included (text/rfc822-headers, cut at the first blank
 * line even when a whole message is passed), never its body; and the human-readable DSN text does not repeat
 * the recipient address, because a DSN for a patient's outbound message lands in the patient's mailbox, where
 * professionals' addresses must not be shown (the machine part carries them for the UI to interpret).
 */
import { createHash } from 'node:crypto';
import { parseAddress } from './contacts.js';
import { normalizeMessageId } from './threading.js';

const CRLF = '\r\n';
/** RFC 5322 §2.1.1 hard limit, and the recommended one for header lines. */
const MAX_LINE = 998;
const SOFT_LINE = 78;
const MAX_DIAGNOSTIC = 500;
/** Action and Status fields are a few words; longer values are cut before any pattern runs on them. */
const MAX_FIELD = 256;
/** A delivery-status body is a few hundred bytes per recipient; the reader looks at no more than this. */
const MAX_STATUS_TEXT = 256 * 1024;
const MAX_QUOTED_SUBJECT = 200;
/** UTF-8 bytes per RFC 2047 encoded-word: 40 base64 characters, so `Subject: =?UTF-8?B?…?=` stays under 76. */
const WORD_BYTES = 30;

export const DSN_SUBJECT_FAILED = 'Message non distribué / Undelivered Mail Returned to Sender';
export const DSN_SUBJECT_DELAYED = 'Message retardé / Delayed Mail (still being retried)';
export const MDN_SUBJECT_PREFIX = 'Accusé de lecture : ';

export interface DsnInput {
  reportingMta: string;
  originalEnvelopeFrom: string;
  originalRecipient: string;
  finalRecipient: string;
  /** RFC 3463 enhanced status code, class 4 or 5, e.g. `5.2.1`. */
  status: string;
  action: 'failed' | 'delayed';
  /** The SMTP reply that explains it, e.g. `550 5.2.1 Mailbox closed`. Non-ASCII is transliterated. */
  diagnostic: string;
  arrivalDate: Date;
  /** Header block of the original message (CRLF); anything after the first blank line is dropped. */
  originalHeaders: string;
  messageId: string;
  date: Date;
  from: string;
  /** The reason in French, for the human-readable part (the English part uses `diagnostic`). */
  humanText: string;
}

export interface MdnInput {
  from: string;
  to: string;
  originalMessageId: string;
  originalRecipient: string;
  finalRecipient: string;
  reportingUa: string;
  originalSubject: string;
  originalHeaders: string;
  messageId: string;
  date: Date;
}

// ---------------------------------------------------------------------------------------------------------------
// Validation and cleaning

function fail(what: string): never {
  throw new RangeError(`invalid ${what}`);
}

/** A bare ASCII address: SMTPUTF8 reports (RFC 6533, message/global-delivery-status) are not produced here. */
function asciiAddress(value: string, what: string): string {
  const parsed = parseAddress(value);
  if (!parsed || !/^[\x21-\x7e]+$/.test(parsed.address)) fail(what);
  return parsed.address;
}

function ownMessageId(value: string): string {
  return normalizeMessageId(value) ?? fail('messageId');
}

function validTime(d: Date, what: string): Date {
  if (!(d instanceof Date) || !Number.isFinite(d.getTime())) fail(what);
  return d;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** RFC 5322 §3.3 date-time, in UTC: independent of the host's time zone, so output is reproducible. */
export function rfc5322Date(d: Date): string {
  validTime(d, 'date');
  return `${DAYS[d.getUTCDay()]}, ${pad(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** One line of text: controls (CR/LF above all: header injection) become spaces, runs of white space one. */
function oneLine(s: string): string {
  return (
    (typeof s === 'string' ? s : '')
      // eslint-disable-next-line no-control-regex -- control characters are exactly what must not reach a header
      .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

/** Printable ASCII for the machine-readable fields, which RFC 3464/8098 define as US-ASCII. */
function asciiLine(s: string): string {
  return oneLine(s)
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[^\x20-\x7e]/g, '?');
}

function capChars(s: string, max: number): string {
  const chars = Array.from(s);
  return chars.length > max ? `${chars.slice(0, max).join('').trimEnd()}…` : s;
}

/** Multi-line free text: newlines kept (as LF, turned into CRLF by the encoder), other controls removed. */
function cleanText(s: string): string {
  return (
    (typeof s === 'string' ? s : '')
      .replace(/\r\n|\r/g, '\n')
      // eslint-disable-next-line no-control-regex -- controls other than LF and TAB have no place in a notice
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '')
      .trim()
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Encoders

/** RFC 2045 §6.7 quoted-printable of UTF-8 text; LF or CRLF in the input become hard CRLF line breaks. */
function quotedPrintable(text: string): string {
  return text
    .replace(/\r\n|\r/g, '\n')
    .split('\n')
    .map((line) => {
      const bytes = Buffer.from(line, 'utf8');
      const out: string[] = [];
      let cur = '';
      bytes.forEach((b, i) => {
        const last = i === bytes.length - 1;
        const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last);
        const token = literal ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
        // 75 + the soft-break "=" = 76, the RFC 2045 limit; a =XX token is never split.
        if (cur.length + token.length > 75) {
          out.push(`${cur}=`);
          cur = '';
        }
        cur += token;
      });
      out.push(cur);
      return out.join(CRLF);
    })
    .join(CRLF);
}

/**
 * An unstructured header (Subject). Plain when short printable ASCII; otherwise RFC 2047 B encoded-words cut on
 * character boundaries and folded, which decodes back to exactly the same text.
 */
function unstructuredHeader(name: string, value: string): string {
  const v = oneLine(value);
  const plain = `${name}: ${v}`;
  if (/^[\x20-\x7e]*$/.test(v) && !v.includes('=?') && plain.length <= SOFT_LINE) return plain;
  const words: string[] = [];
  let chunk = '';
  for (const ch of Array.from(v)) {
    if (chunk && Buffer.byteLength(chunk + ch, 'utf8') > WORD_BYTES) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return `${name}: ${words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`).join(`${CRLF} `)}`;
}

/** Folds a structured field at spaces so that lines stay under 78 characters where words allow. */
function foldField(line: string): string {
  if (line.length <= SOFT_LINE) return line;
  const words = line.split(' ');
  const lines: string[] = [];
  let cur = words.shift() ?? '';
  for (const w of words) {
    if (cur.length + 1 + w.length > SOFT_LINE && cur.trim().length > 0) {
      lines.push(cur);
      cur = ` ${w}`;
    } else {
      cur += ` ${w}`;
    }
  }
  lines.push(cur);
  return lines.join(CRLF);
}

interface Part {
  headers: string[];
  body: string;
}

function textPart(text: string): Part {
  return {
    headers: ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable'],
    body: quotedPrintable(text),
  };
}

/**
 * The original's header block as text/rfc822-headers (RFC 6522 §4). 7bit when it already is; else
 * quoted-printable (the type is text/*, so that is allowed), which keeps 8-bit headers and over-long lines
 * intact without needing 8BITMIME.
 */
function headersPart(raw: string): Part {
  const lines = (typeof raw === 'string' ? raw : '').split(/\r\n|\r|\n/);
  const end = lines.findIndex((l) => l.trim() === '');
  const block = end >= 0 ? lines.slice(0, end) : lines;
  const sevenBit = block.every((l) => l.length <= MAX_LINE && /^[\x20-\x7e\t]*$/.test(l));
  if (sevenBit) return { headers: ['Content-Type: text/rfc822-headers'], body: block.join(CRLF) + CRLF };
  return {
    headers: ['Content-Type: text/rfc822-headers; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable'],
    body: quotedPrintable(block.join('\n')) + CRLF,
  };
}

function described(part: Part, description: string): Part {
  return { ...part, headers: [...part.headers, `Content-Description: ${description}`] };
}

/** `=_` cannot start a quoted-printable or base64 line, and the content check makes a collision impossible. */
function boundaryFor(seed: string, parts: Part[]): string {
  for (let i = 0; ; i++) {
    const b = `=_mesgw_report_${createHash('sha256').update(`${seed}\u0000${i}`).digest('hex').slice(0, 32)}`;
    if (!parts.some((p) => p.body.includes(b) || p.headers.some((h) => h.includes(b)))) return b;
  }
}

function multipartReport(headers: string[], reportType: string, parts: Part[], seed: string): string {
  const boundary = boundaryFor(seed, parts);
  const lines = [
    ...headers,
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=${reportType};`,
    ` boundary="${boundary}"`,
    'Auto-Submitted: auto-replied',
    '',
    'This is a MIME-encapsulated message.',
    '',
  ];
  for (const p of parts) lines.push(`--${boundary}`, ...p.headers, '', p.body);
  lines.push(`--${boundary}--`, '');
  return lines.join(CRLF);
}

// ---------------------------------------------------------------------------------------------------------------
// Builders

/**
 * A DSN (RFC 3464) for one recipient: multipart/report; report-type=delivery-status, with a human part (French,
 * then English), the message/delivery-status part and the original's headers. Sent to the original envelope
 * sender; never for a null sender (`<>`, RFC 5321 §4.5.5: no notification about a notification), and the
 * empty address is refused here.
 */
export function buildDsn(input: DsnInput): string {
  const from = asciiAddress(input.from, 'from');
  const to = asciiAddress(input.originalEnvelopeFrom, 'originalEnvelopeFrom');
  const originalRecipient = asciiAddress(input.originalRecipient, 'originalRecipient');
  const finalRecipient = asciiAddress(input.finalRecipient, 'finalRecipient');
  const messageId = ownMessageId(input.messageId);
  const mta = (typeof input.reportingMta === 'string' ? input.reportingMta.trim() : '').toLowerCase();
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(mta) || mta.length > 253) fail('reportingMta');
  const status = typeof input.status === 'string' ? input.status.trim() : '';
  if (!/^[45]\.\d{1,3}\.\d{1,3}$/.test(status)) fail('status');
  if (input.action !== 'failed' && input.action !== 'delayed') fail('action');
  const date = rfc5322Date(validTime(input.date, 'date'));
  const arrival = rfc5322Date(validTime(input.arrivalDate, 'arrivalDate'));
  const rawDiagnostic = asciiLine(input.diagnostic);
  const diagnostic = (rawDiagnostic.length > MAX_DIAGNOSTIC ? `${rawDiagnostic.slice(0, MAX_DIAGNOSTIC - 3).trimEnd()}...` : rawDiagnostic) || status;
  const reason = cleanText(input.humanText);
  const failed = input.action === 'failed';

  const human = [
    `Ceci est un message automatique du serveur de messagerie ${mta}.`,
    '',
    failed
      ? "Votre message n'a pas pu être distribué à son destinataire. Il ne sera pas renvoyé."
      : "Votre message n'a pas encore pu être distribué à son destinataire. De nouvelles tentatives auront lieu ; vous n'avez rien à faire pour l'instant.",
    ...(reason ? ['', `Motif : ${reason}`] : []),
    `Code : ${status}`,
    '',
    '-- ',
    '',
    `This is an automatic message from the mail server ${mta}.`,
    '',
    failed
      ? 'Your message could not be delivered to its recipient. It will not be retried.'
      : 'Your message has not been delivered to its recipient yet. Delivery will be retried; no action is needed for now.',
    '',
    `Reason: ${diagnostic}`,
    `Status: ${status}`,
    '',
  ].join('\n');

  const deliveryStatus = [
    `Reporting-MTA: dns; ${mta}`,
    `Arrival-Date: ${arrival}`,
    '',
    `Original-Recipient: rfc822; ${originalRecipient}`,
    `Final-Recipient: rfc822; ${finalRecipient}`,
    `Action: ${input.action}`,
    `Status: ${status}`,
    foldField(`Diagnostic-Code: smtp; ${diagnostic}`),
    '',
  ].join(CRLF);

  return multipartReport(
    [
      `From: ${from}`,
      `To: ${to}`,
      unstructuredHeader('Subject', failed ? DSN_SUBJECT_FAILED : DSN_SUBJECT_DELAYED),
      `Date: ${date}`,
      `Message-ID: ${messageId}`,
    ],
    'delivery-status',
    [
      described(textPart(human), 'Notification'),
      described({ headers: ['Content-Type: message/delivery-status'], body: deliveryStatus }, 'Delivery report'),
      described(headersPart(input.originalHeaders), 'Undelivered Message Headers'),
    ],
    messageId,
  );
}

function frenchDate(d: Date): string {
  return `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} à ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} (UTC)`;
}

/**
 * A read receipt (RFC 8098) sent when the patient first displays a message that asked for one
 * (`Disposition-Notification-To`, which the patient cannot refuse: ENS v1.3 §6): multipart/report;
 * report-type=disposition-notification with a French/English human part, the
 * message/disposition-notification part and the original's headers only (no body: the receipt must carry no
 * health data beyond what the sender already wrote in the headers).
 */
export function buildMdn(input: MdnInput): string {
  const from = asciiAddress(input.from, 'from');
  const to = asciiAddress(input.to, 'to');
  const originalRecipient = asciiAddress(input.originalRecipient, 'originalRecipient');
  const finalRecipient = asciiAddress(input.finalRecipient, 'finalRecipient');
  const messageId = ownMessageId(input.messageId);
  const dateValue = validTime(input.date, 'date');
  // RFC 8098 §3.2.6: present whenever the original had one; an unusable value cannot be correlated anyway.
  const originalMessageId = normalizeMessageId(input.originalMessageId);
  const ua = asciiLine(input.reportingUa).slice(0, 200);
  const subject = capChars(oneLine(input.originalSubject), MAX_QUOTED_SUBJECT) || '(sans objet)';

  const human = [
    `Votre message « ${subject} » a été affiché par son destinataire dans Mon espace santé le ${frenchDate(dateValue)}.`,
    '',
    "Cet accusé de lecture indique seulement que le message a été affiché ; il ne garantit pas qu'il a été lu ou compris.",
    '',
    '-- ',
    '',
    `Your message "${subject}" was displayed by its recipient in Mon espace santé on ${rfc5322Date(dateValue)}.`,
    '',
    'This receipt only means that the message was displayed; there is no guarantee that it has been read or understood.',
    '',
  ].join('\n');

  const disposition = [
    ...(ua ? [foldField(`Reporting-UA: ${ua}`)] : []),
    `Original-Recipient: rfc822; ${originalRecipient}`,
    `Final-Recipient: rfc822; ${finalRecipient}`,
    ...(originalMessageId ? [`Original-Message-ID: ${originalMessageId}`] : []),
    'Disposition: automatic-action/MDN-sent-automatically; displayed',
    '',
  ].join(CRLF);

  return multipartReport(
    [
      `From: ${from}`,
      `To: ${to}`,
      unstructuredHeader('Subject', `${MDN_SUBJECT_PREFIX}${subject}`),
      `Date: ${rfc5322Date(dateValue)}`,
      `Message-ID: ${messageId}`,
      ...(originalMessageId ? [`References: ${originalMessageId}`] : []),
    ],
    'disposition-notification',
    [textPart(human), { headers: ['Content-Type: message/disposition-notification'], body: disposition }, headersPart(input.originalHeaders)],
    messageId,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Reading DSNs

export interface DeliveryStatus {
  perMessage: Record<string, string>;
  recipients: Record<string, string>[];
}

/**
 * The body of a message/delivery-status part (RFC 3464 §2.1): a group of per-message fields, then one group
 * per recipient, groups separated by blank lines; folded lines are unfolded, names lower-cased, values trimmed.
 * A repeated field keeps its first value (a later copy must not override what a compliant MTA wrote first).
 * Lines that are not fields are skipped. Objects are built with Object.fromEntries, so a field named
 * `__proto__` is an ordinary key and cannot touch prototypes.
 */
export function parseDeliveryStatus(text: string): DeliveryStatus {
  // Values are gathered as parts and joined once: appending to a growing string per folded line is quadratic.
  const groups: Map<string, string[]>[] = [];
  let current: Map<string, string[]> | null = null;
  let lastName: string | null = null;
  for (const line of (typeof text === 'string' ? text : '').slice(0, MAX_STATUS_TEXT).split(/\r\n|\r|\n/)) {
    if (line.trim() === '') {
      current = null;
      lastName = null;
      continue;
    }
    if (line[0] === ' ' || line[0] === '\t') {
      // Continuation of the previous field; a stray indented line opening a group is skipped.
      if (current && lastName !== null) current.get(lastName)!.push(line.trim());
      continue;
    }
    const m = /^([!-9;-~]+)[ \t]*:(.*)$/.exec(line);
    if (!m) {
      lastName = null;
      continue;
    }
    if (!current) {
      current = new Map();
      groups.push(current);
    }
    const name = m[1]!.toLowerCase();
    if (current.has(name)) {
      lastName = null;
      continue;
    }
    current.set(name, [m[2]!.trim()]);
    lastName = name;
  }
  const fields = (g: Map<string, string[]>) => Object.fromEntries([...g].map(([k, parts]) => [k, parts.filter(Boolean).join(' ')]));
  const [first, ...rest] = groups;
  return {
    perMessage: first ? fields(first) : {},
    recipients: rest.map(fields),
  };
}

/**
 * The outcome for the first recipient group: Action decides (RFC 3464 §2.3.3: a `failed` action with a 4.x.x
 * status after the retry period is still a failure); the Status class is the fallback when Action is missing
 * or unknown. Comments in parentheses are ignored.
 */
export function dsnOutcome(recipients: Record<string, string>[]): 'delivered' | 'delayed' | 'failed' | 'unknown' {
  const first = Array.isArray(recipients) ? recipients[0] : undefined;
  if (!first) return 'unknown';
  // Bounded before any regular expression: a field of unmatched "(" would make the comment stripping quadratic.
  const action = String(first['action'] ?? '')
    .slice(0, MAX_FIELD)
    .replace(/\([^)]*\)/g, '')
    .trim()
    .toLowerCase();
  if (action === 'failed') return 'failed';
  if (action === 'delayed') return 'delayed';
  if (action === 'delivered' || action === 'relayed' || action === 'expanded') return 'delivered';
  const cls = /^\s*([245])\.\d{1,3}\.\d{1,3}\b/.exec(String(first['status'] ?? '').slice(0, MAX_FIELD))?.[1];
  return cls === '2' ? 'delivered' : cls === '4' ? 'delayed' : cls === '5' ? 'failed' : 'unknown';
}

/**
 * Where a read receipt for a received message goes: the envelope sender, and only when the message's
 * Disposition-Notification-To names that very address. RFC 8098 §2.1: a request naming another address than
 * the Return-Path must not be honoured automatically; here it is not honoured at all, so a header can never send
 * a receipt (and the fact that the patient read the message) to a third party.
 */
export function receiptAddressFor(requested: readonly string[], envelopeSender: string): string | null {
  const sender = (typeof envelopeSender === 'string' ? envelopeSender : '').trim().toLowerCase();
  if (!sender || !Array.isArray(requested)) return null;
  return requested.some((a) => typeof a === 'string' && a.trim().toLowerCase() === sender) ? sender : null;
}
