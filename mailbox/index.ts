/** The patient's mailbox: delivery of inbound messages, reading. */
export { deliverBatch, deliverInbound, type BatchResult } from './deliver-batch.js';
export {
  markQueuedDeliveriesFailed,
  prepareDelivery,
  type DeliveryRow,
  type DeliveryWrite,
  parseAndStore,
  PermanentDeliveryError,
  contentContext,
  documentContext,
  type DeliverDeps,
  type MessageContent,
  type AttachmentMeta,
} from './deliver-inbound.js';
export {
  listMessages,
  readMessage,
  openAttachment,
  deliveryStats,
  InvalidCursorError,
  type MessageSummary,
  type MessageDetail,
  type AttachmentSummary,
  type AttachmentDetail,
} from './read.js';
export { listThread, setRead, deleteMessage, listContacts, type Page } from './read.js';
export {
  replyToMessage,
  writeToContact,
  SendRefusedError,
  type SendRefusal,
  MAX_PATIENT_ATTACHMENT_BYTES,
  ATTACHMENTS_TOO_LARGE,
  type SendDeps,
} from './patient-send.js';
export { queueOutbound, OUTBOX_TOPIC_OUTBOUND, type OutboundRequest } from './outbound.js';
export {
  queueMdn,
  queueDsnForFailedDelivery,
  queueUnreadableNotice,
  UNREADABLE_NOTICE_SUBJECT,
  queueXdmRefusalNotice,
  readHeaderBlock,
  failOutboundMessage,
  type FailedOutbound,
  type ReportDeps,
} from './reports-out.js';
export { parseDirectoryCsv, importDirectory, directoryNames, type DirectoryRow } from './directory.js';
export * from './rules/index.js';
