/**
 * Inbound processing data: how long a delivery that got 250 is retried before its sender gets a DSN. The
 * schedule itself, its reasons and its parser live with the relay's in config/retry.ts (`RETRY_SCHEDULES.inbound`);
 * the names below are its views for the inbound worker.
 */
import { RETRY_SCHEDULES, scheduleSpan } from './retry.js';

/** 1 s, 5 s, 30 s, 2, 5, 15, 30 min, 1 h, 2 h, then 4 h ten times: 20 attempts over ~43.9 h (config/retry.ts). */
export const INBOUND_RETRY_SCHEDULE_MS: readonly number[] = RETRY_SCHEDULES.inbound.delaysMs;

export const INBOUND_RETRY_SCHEDULE_ENV = RETRY_SCHEDULES.inbound.env;

/** The longest the default schedule keeps a delivery before its DSN. */
export const INBOUND_RETRY_SPAN_MS = scheduleSpan(INBOUND_RETRY_SCHEDULE_MS);
