/**
 * The texts of the notices the gateway itself puts in a patient's inbox (sender "Mon espace santé" or the
 * professional's display name, never an address): a patient's message that could not be delivered, and a
 * professional's message that could not be shown. The sentences are those of sentences.ts.
 *
 * Pure: no I/O, no clock (dates are passed in). Bad input never throws: a missing subject reads as empty and an
 * unreadable date is left out of the sentence rather than shown as "Invalid Date".
 */
import { say } from './sentences.js';

/** A date as the patient reads it: French, Paris time ("12/03/2026 14:05:09"); null when it is not a date. */
export function parisDateTime(iso: string | null | undefined): string | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d.toLocaleString('fr-FR', { timeZone: 'Europe/Paris' });
}

/**
 * The notice of a patient's message that finally failed: which message (its subject, when it was sent) and why,
 * in one of the fixed reasons of config/relay.ts (`patientFailureReason`), never the remote server's reply.
 */
export function undeliveredNoticeText(original: { subject?: string | null; date?: string | null } | null, reason: string): string {
  const when = parisDateTime(original?.date);
  return say('undelivered', { subject: original?.subject ?? '', sentAt: when ? say('undeliveredSentAt', { when }) : '', reason });
}

/** The notice a patient reads instead of a professional's message that failed after its 250 (no content at all). */
export function unreadableNoticeText(professional: string): string {
  return say('unreadable', { professional });
}
