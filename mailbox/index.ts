/** The patient's mailbox: delivery of inbound messages, reading. */
export { deliverInbound, markDeliveryFailed, parseAndStore, PermanentDeliveryError, contentContext, documentContext, type DeliverDeps, type MessageContent, type AttachmentMeta } from './deliver-inbound.js';
export { listMessages, readMessage, openAttachment, deliveryStats, InvalidCursorError, UNKNOWN_PROFESSIONAL, type MessageSummary, type MessageDetail, type AttachmentSummary } from './read.js';
