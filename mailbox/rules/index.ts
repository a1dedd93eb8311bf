/**
 * The mailbox rules: pure functions (no I/O, no clock but the values passed in) deciding who may write to whom,
 * end of exchange, threading, notification grouping, delivery reports, which documents a patient may attach and
 * the listing cursors; and the table of the fixed sentences a patient reads (sentences.ts).
 * The mailbox's I/O wraps them.
 */
export * from './contacts.js';
export * from './exchange.js';
export * from './threading.js';
export * from './notification-window.js';
export * from './reports.js';
export * from './scheduling.js';
export * from './attachments.js';
export * from './sentences.js';
export * from './notices.js';
export * from './statuses.js';
