/**
 * The values of the mailbox's state columns, in one place: db/schema.ts types its columns with them, and the code
 * that writes or reads a state takes its type from here. Pure data, no imports (the schema imports this file).
 */

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
