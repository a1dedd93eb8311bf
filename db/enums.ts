/**
 * The values of the status and kind columns, in one place: db/schema.ts types its columns with them, and the
 * modules that write or read a state take its type from here (through db/index.ts; access/rules and
 * mailbox/rules re-export them next to their rules). Pure data, no imports: the schema sits below every module.
 */

/** A patient profile's lifecycle state (SPEC §6.1; the transitions are access/rules/profile-state.ts). */
export const PROFILE_STATES = ['pending', 'created', 'active', 'opposed', 'closed'] as const;
export type ProfileState = (typeof PROFILE_STATES)[number];

// --- The activity history (access/activity.ts) -----------------------------------------------------------

/** Every kind of event in a patient's history (the webmail has a French label for each: web/views/activity.js). */
export const ACTIVITY_KINDS = [
  'message-received',
  'exchange-ended',
  'reply-forbidden-by-sender',
  'message-sent',
  'delivery-failed',
  'document-listed',
  'document-read',
  'document-added',
  'document-masked',
  'document-deleted',
  'document-revealed',
  'access-refused',
  'emergency-access',
  // By the operator or the system (actor kind 'system'): the profile itself.
  'profile-updated',
  'profile-state-changed',
  'provisional-code-issued',
] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

/** Who acted: a professional (token), an organisation (certificate), or the system / the operator. */
export const ACTIVITY_ACTOR_KINDS = ['professional', 'organisation', 'system'] as const;
export type ActivityActorKind = (typeof ACTIVITY_ACTOR_KINDS)[number];

// --- The mailbox (mailbox/) -----------------------------------------------------------------------------

/**
 * One recipient of one inbound message: `queued` until the worker files it (`delivered`), ends an exchange with a
 * `[FIN]` (`ended`), matches it as a report on a patient's message (`report`), or gives up (`failed`: its DSN).
 */
export const DELIVERY_STATUSES = ['queued', 'delivered', 'failed', 'ended', 'report'] as const;
export type DeliveryRowStatus = (typeof DELIVERY_STATUSES)[number];

/** A message leaving the gateway: `queued` until the destination answered 250 (`sent`) or it failed for good. */
export const OUTBOUND_STATUSES = ['queued', 'sent', 'failed'] as const;
export type OutboundStatus = (typeof OUTBOUND_STATUSES)[number];

/** What leaves: a patient's own message, a read receipt (MDN) or a delivery report (DSN). */
export const OUTBOUND_KINDS = ['patient', 'mdn', 'dsn'] as const;
export type OutboundKind = (typeof OUTBOUND_KINDS)[number];

export const MAILBOX_FOLDERS = ['inbox', 'sent'] as const;
export type MailboxFolder = (typeof MAILBOX_FOLDERS)[number];

/** A message (from a professional or the patient), or a notice the gateway itself put in the inbox. */
export const MAILBOX_MESSAGE_KINDS = ['message', 'notice'] as const;
export type MailboxMessageKind = (typeof MAILBOX_MESSAGE_KINDS)[number];

// --- The vault's documents (vault/documents.ts) ------------------------------------------------------------

/** Who wrote a document: a professional (token), the patient, an insurer or an establishment (organisation certificate). */
export const DOCUMENT_AUTHOR_KINDS = ['professional', 'patient', 'insurer', 'establishment'] as const;
export type DocumentAuthorKind = (typeof DOCUMENT_AUTHOR_KINDS)[number];

/** How it came: attached to a message, or uploaded through the API. */
export const DOCUMENT_ORIGIN_KINDS = ['message', 'upload'] as const;
export type DocumentOriginKind = (typeof DOCUMENT_ORIGIN_KINDS)[number];
