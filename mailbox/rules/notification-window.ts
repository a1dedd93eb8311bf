/**
 * New-message notices to the patient's personal e-mail (SPEC §6.6, DOMAIN §3): at most one e-mail per patient
 * per window, whatever the number of messages, so that a hospital sending a thousand documents cannot flood a
 * patient's personal mailbox; and never any health data.
 *
 * Pure: the clock is the `now` passed in. The caller keeps, per patient, when the last notice was sent and
 * whether a deferred one is scheduled, and applies the decision atomically with that state (one row, one
 * UPDATE), so two workers cannot both send.
 *
 * Bad input throws a RangeError (invalid `now`, negative or non-finite window, unusable address): a wrong
 * decision here would either spam a patient or silently drop notices, and both are worse than a failed job that
 * is retried and shows up in the logs.
 */
import { parseAddress } from './contacts.js';

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

export const NOTICE_SUBJECT = 'Nouveau message dans Mon espace santé';

// Fixed text: it takes no argument about the message on purpose, so no subject, sender, document name or
// count can ever leak into the patient's personal (non-health) mailbox.
const NOTICE_TEXT = [
  'Bonjour,',
  '',
  'Vous avez reçu un ou plusieurs nouveaux messages dans votre messagerie Mon espace santé. Connectez-vous pour les consulter.',
  '',
  'Ceci est un message automatique, merci de ne pas y répondre.',
  '',
].join('\r\n');

/** The notice e-mail for `to` (the patient's personal address). */
export function newMessageNotice(to: string): NoticeEmail {
  const parsed = parseAddress(to);
  if (!parsed) throw new RangeError('invalid notification address');
  return { to: parsed.address, subject: NOTICE_SUBJECT, text: NOTICE_TEXT };
}
