/**
 * Notices to the patient's personal e-mail (SPEC §6.6, DOMAIN §3): at most one e-mail per patient per window,
 * whatever the number of messages, documents or professional actions, so that a hospital sending a thousand
 * documents cannot flood a patient's personal mailbox; and never any health data.
 *
 * Three pure rules, used by the dispatcher (app/notification-dispatcher.ts): `notificationDecision` says WHEN a
 * notice may go; `noticeKinds` says WHAT it announces, from the distinct facts recorded since the last notice
 * (new mailbox messages, documents, activity events); `notificationNotice` writes the fixed French text, one
 * sentence per kind, in a fixed order. The texts take no argument about what happened on purpose: no subject,
 * sender, document title, professional's name or count can ever reach the personal mailbox.
 *
 * Pure: the clock is the `now` passed in. The caller keeps, per patient, when the last notice was sent and
 * whether one is pending, and applies the decision atomically with that state, so two workers cannot both send.
 *
 * Bad input throws a RangeError (invalid `now`, negative or non-finite window, unusable address, no kind): a
 * wrong decision here would either spam a patient or silently drop notices, and both are worse than a failed
 * job that is retried and shows up in the logs.
 */
import { parseAddress } from './contacts.js';
import { SENTENCES } from './sentences.js';

export interface NotificationState {
  /** When the last notice e-mail was sent to this patient, if ever. */
  lastSentAt: Date | null;
  /** A deferred notice is already scheduled (at lastSentAt + window). */
  pending: boolean;
}

export interface NotificationDecision {
  /** Send a notice now (and record `now` as lastSentAt). */
  sendNow: boolean;
  /**
   * Otherwise, the one deferred notice that covers this message. The same date for every message of the window,
   * so the caller can key the scheduled job by it and scheduling it twice is harmless; when `pending` is already
   * set, the caller need not schedule anything.
   */
  sendAt: Date | null;
}

function checkDate(d: Date, what: string): number {
  const t = d instanceof Date ? d.getTime() : Number.NaN;
  if (!Number.isFinite(t)) throw new RangeError(`${what} must be a valid Date`);
  return t;
}

/**
 * Decision for one new message. Outside the window after the last notice: send now. Inside it: defer to the end
 * of the window, where one notice covers every message received meanwhile. A `windowMs` of 0 disables grouping.
 */
export function notificationDecision(state: NotificationState, now: Date, windowMs: number): NotificationDecision {
  const t = checkDate(now, 'now');
  if (typeof windowMs !== 'number' || !Number.isFinite(windowMs) || windowMs < 0) {
    throw new RangeError('windowMs must be a finite number >= 0');
  }
  if (state.lastSentAt == null) return { sendNow: true, sendAt: null };
  const last = checkDate(state.lastSentAt, 'lastSentAt');
  // A lastSentAt in the future (clock stepped back, another host's clock) must not defer notices for longer
  // than one window: cap the deferral at now + window.
  const due = Math.min(last + windowMs, t + windowMs);
  if (t >= due) return { sendNow: true, sendAt: null };
  return { sendNow: false, sendAt: new Date(due) };
}

export interface NoticeEmail {
  to: string;
  subject: string;
  text: string;
}

/** What a notice may announce, in the order of its sentences. */
export const NOTICE_KINDS = ['new-message', 'new-document', 'professional-action'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/**
 * One distinct fact recorded since the last notice, as the dispatcher reads it from the tables (never content):
 * a mailbox message (folder, kind), a document (who filed it, how, whether the patient may see it yet), an
 * activity event (kind, actor kind).
 */
export type NotificationFact =
  | { source: 'mailbox'; folder: string; kind: string }
  | { source: 'document'; authorKind: string; originKind: string; hiddenFromPatient: boolean; deleted: boolean }
  | { source: 'activity'; kind: string; actorKind: string; onHiddenDocument: boolean };

/** Activity kinds that are a professional's action on the patient's documents (attempts refused included). */
export const PROFESSIONAL_DOCUMENT_ACTIONS: readonly string[] = [
  'document-listed',
  'document-read',
  'document-masked',
  'document-deleted',
  'access-refused',
  'emergency-access',
];

/** Activity kinds recorded when a message is put in the patient's inbox. */
export const MESSAGE_EVENTS: readonly string[] = ['message-received', 'reply-forbidden-by-sender'];

function kindOf(f: NotificationFact): NoticeKind | null {
  switch (f.source) {
    case 'mailbox':
      // Messages from professionals and the gateway's own notices (delivery failure) land in the inbox.
      return f.folder === 'inbox' ? 'new-message' : null;
    case 'document':
      // Deposited by a professional or the insurer, not through a message (a message's attachments are announced
      // as the message); not one the patient may not see yet (announcement consultation), nor one already gone.
      return f.originKind === 'upload' &&
        (f.authorKind === 'professional' || f.authorKind === 'insurer' || f.authorKind === 'establishment') &&
        !f.hiddenFromPatient &&
        !f.deleted
        ? 'new-document'
        : null;
    case 'activity':
      // A delivered message's event is dated at delivery, its mailbox row at the SMTP acceptance (possibly before
      // the last notice): both count. A professional's upload is announced as a new document (above).
      if (MESSAGE_EVENTS.includes(f.kind)) return 'new-message';
      // A document revealed after the announcement consultation is, for the patient, a new document.
      if (f.kind === 'document-revealed') return f.onHiddenDocument ? null : 'new-document';
      // An action on a document still hidden from the patient is not announced (nor is the document).
      return f.actorKind === 'professional' && PROFESSIONAL_DOCUMENT_ACTIONS.includes(f.kind) && !f.onHiddenDocument ? 'professional-action' : null;
  }
}

/** The kinds a notice announces for these facts, without duplicates, in NOTICE_KINDS order (empty: nothing to say). */
export function noticeKinds(facts: readonly NotificationFact[]): NoticeKind[] {
  const found = new Set(facts.map(kindOf));
  return NOTICE_KINDS.filter((k) => found.has(k));
}

export interface NoticeEmail {
  to: string;
  subject: string;
  text: string;
}

/** The subject when the notice announces only messages (unchanged since the first version)... */
export const NOTICE_SUBJECT = SENTENCES.newMessageSubject.text;
/** ...and when it announces anything else. */
export const ACTIVITY_NOTICE_SUBJECT = SENTENCES.activitySubject.text;

/** One fixed sentence per kind (README, "Receipts and notices"; the texts are in sentences.ts). */
export const NOTICE_SENTENCES: Readonly<Record<NoticeKind, string>> = {
  'new-message': SENTENCES.newMessages.text,
  'new-document': SENTENCES.newDocuments.text,
  'professional-action': SENTENCES.professionalActions.text,
};

/** The notice e-mail for `to` (the patient's personal address) announcing `kinds` (one sentence each). */
export function notificationNotice(to: string, kinds: readonly NoticeKind[]): NoticeEmail {
  const parsed = parseAddress(to);
  if (!parsed) throw new RangeError('invalid notification address');
  const ordered = NOTICE_KINDS.filter((k) => kinds.includes(k));
  if (ordered.length === 0 || kinds.some((k) => !NOTICE_KINDS.includes(k))) throw new RangeError('a notice needs known kinds');
  const text = [
    SENTENCES.noticeGreeting.text,
    '',
    ...ordered.map((k) => NOTICE_SENTENCES[k]),
    SENTENCES.noticeCallToAction.text,
    '',
    SENTENCES.noticeAutomatic.text,
    '',
  ].join('\r\n');
  const subject = ordered.length === 1 && ordered[0] === 'new-message' ? NOTICE_SUBJECT : ACTIVITY_NOTICE_SUBJECT;
  return { to: parsed.address, subject, text };
}

/** The notice for new messages only. */
export function newMessageNotice(to: string): NoticeEmail {
  return notificationNotice(to, ['new-message']);
}
