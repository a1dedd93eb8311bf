/**
 * End of exchange and answerability (SPEC §4 "[FIN]", DOMAIN §1 ECO.2.2.8 and §3, ENS v1.3 §7).
 *
 * Two distinct signals from professionals, which must not be confused:
 *  - a message whose subject is exactly `[FIN]` is not delivered; it ends the whole exchange with that
 *    professional (every earlier message becomes unanswerable, no new message may be started);
 *  - the header `X-MSS-MES: FIN` on a delivered message makes only that message unanswerable.
 *
 * Pure functions, no I/O, no clock. Bad input (null, non-string, garbage) is read as "no signal": a subject that
 * is not a string is not `[FIN]`, a missing header does not forbid the reply. That reading is safe because the
 * contact check still applies to every reply.
 */
import { ONLY_KNOWN_PROFESSIONALS } from './contacts.js';
import { say, SENTENCES } from './sentences.js';

export const MESSAGE_FORBIDS_REPLY = SENTENCES.messageForbidsReply.text;
export const MAX_SUBJECT_LENGTH = 200;
const EMPTY_SUBJECT = '(sans objet)';

/**
 * True for a subject that is exactly `[FIN]`. Case-sensitive, as the ENS specification says; white space around
 * it is ignored because header folding and clients add some (String.prototype.trim: also NBSP). `[fin]`,
 * `[FIN] merci` and `Re: [FIN]` are ordinary messages that must be delivered.
 */
export function isEndOfExchange(subject: string | null | undefined): boolean {
  return typeof subject === 'string' && subject.trim() === '[FIN]';
}

/** Who a message is from, as the mailbox knows it: its `From` and its contact (the Reply-To when there is one). */
export interface MessageParties {
  from: string | null;
  contact: string | null;
}

/** The addresses a `[FIN]` speaks for: its From and its contact address, lower-cased, without duplicates. */
export function endOfExchangeAddresses(fin: MessageParties): string[] {
  const out = new Set<string>();
  for (const a of [fin.from, fin.contact]) if (typeof a === 'string' && a.trim()) out.add(a.trim().toLowerCase());
  return [...out];
}

/**
 * Whether a `[FIN]` closes an earlier message (and ends that message's contact): when the message's From or its
 * contact is one of the `[FIN]`'s addresses, whichever address the patient would have answered. A professional
 * whose messages carried `Reply-To: secretariat@…` ends the exchange with a `[FIN]` from their own address.
 */
export function closedByEndOfExchange(fin: MessageParties, message: MessageParties): boolean {
  const addresses = new Set(endOfExchangeAddresses(fin));
  return endOfExchangeAddresses(message).some((a) => addresses.has(a));
}

/**
 * True when the message carries `X-MSS-MES: FIN`. The value is compared case-insensitively (header values of
 * this kind are tokens); header names are matched case-insensitively too, in case a caller did not lower-case
 * them. The ASCII-only regex avoids Unicode case folding (`'fın'.toUpperCase() === 'FIN'`).
 */
export function forbidsReply(headers: Record<string, string>): boolean {
  if (headers == null || typeof headers !== 'object') return false;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'x-mss-mes' && typeof value === 'string' && /^FIN$/i.test(value.trim())) return true;
  }
  return false;
}

export interface Answerability {
  canReply: boolean;
  /** French notice shown on the message when it cannot be answered. */
  closedNotice: string | null;
}

/**
 * Can the patient answer this message, and if not, what does the message say?
 *
 * Precedence, most specific explanation first:
 *  1. `closedAt` (a later `[FIN]` closed it): the official app names the professional on every message of an
 *     ended exchange, and that remains true whatever the message's own headers say;
 *  2. `X-MSS-MES: FIN`: the sender forbade replying to this very message; saying so is more accurate than a
 *     generic "not a contact", and it holds even though the professional may still be reachable otherwise;
 *  3. no contact (the sender's address is not an MSSanté address the patient may write to): the generic
 *     official sentence;
 *  4. a contact whose exchange was ended although this message carries no `closedAt` (a `[FIN]` recorded while
 *     this message was being delivered): refused with the same notice as 1, since the send-time check would
 *     refuse the reply anyway.
 */
export function answerability(input: {
  noReplyHeader: boolean;
  closedAt: Date | null;
  contactEnded: boolean;
  contactDisplayName: string;
  hasContact: boolean;
}): Answerability {
  const ended = () => say('exchangeEndedBy', { name: input.contactDisplayName?.trim() || SENTENCES.endedByUnnamed.text });
  if (input.closedAt != null) return { canReply: false, closedNotice: ended() };
  if (input.noReplyHeader) return { canReply: false, closedNotice: MESSAGE_FORBIDS_REPLY };
  if (!input.hasContact) return { canReply: false, closedNotice: ONLY_KNOWN_PROFESSIONALS };
  if (input.contactEnded) return { canReply: false, closedNotice: ended() };
  return { canReply: true, closedNotice: null };
}

// "Re:", "RE :", "re[2]:" and the French "Réf" / "Réf." / "Réf :" already mark an answer; adding one more
// prefix on every round trip would bury the subject.
/** A subject is cut to this many characters before it is cleaned (the result keeps at most 200). */
const MAX_SUBJECT_INPUT = 4096;
const REPLY_PREFIX = /^(?:re\s*(?:\[\d+\])?\s*:|réf(?=[\s.:]|$))/iu;

/** Subject of a reply: the original with one "Re: " prefix, on one line, at most 200 characters. */
export function replySubject(original: string): string {
  const cleaned = (typeof original === 'string' ? original : '')
    .slice(0, MAX_SUBJECT_INPUT)
    // eslint-disable-next-line no-control-regex -- folded or hostile subjects carry CR/LF and other controls
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const subject = cleaned.length === 0 ? `Re: ${EMPTY_SUBJECT}` : REPLY_PREFIX.test(cleaned) ? cleaned : `Re: ${cleaned}`;
  const chars = Array.from(subject);
  return chars.length > MAX_SUBJECT_LENGTH ? chars.slice(0, MAX_SUBJECT_LENGTH).join('').trimEnd() : subject;
}
