/** The mailbox's status and kind values (db/enums.ts is their one home: the schema types its columns with them). */
export {
  DELIVERY_STATUSES,
  OUTBOUND_STATUSES,
  OUTBOUND_KINDS,
  MAILBOX_FOLDERS,
  MAILBOX_MESSAGE_KINDS,
  type DeliveryRowStatus,
  type OutboundStatus,
  type OutboundKind,
  type MailboxFolder,
  type MailboxMessageKind,
} from '../../db/index.js';
