/** Notification e-mails to patients (no health data). */
export { createNotifier, loginCodeNotice, type Notice, type Notifier } from './notifier.js';
