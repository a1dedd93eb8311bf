/**
 * Inbound processing data: how long a delivery that got 250 is retried before its sender gets a DSN.
 *
 * A delivery fails temporarily when something it needs is away (the virus scanner, the database under a
 * failover, a restart mid-job). Such failures are retried on `INBOUND_RETRY_SCHEDULE_MS`: quick retries for
 * blips, then a few per hour, ending well within 48 h (SPEC §2.5: "a permanent failure after 250 sends a
 * DSN"), so a professional learns in bounded time that a message was not filed, instead of never.
 * Malformed messages (MIME limits, unparseable) fail permanently at once: no retry can help them.
 */
import { parseSchedule, sum } from './retry.js';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;

/** 1 s, 5 s, 30 s, 2, 5, 15, 30 min, 1 h, 2 h, then 4 h ten times: 20 attempts over ~43.9 h. */
export const INBOUND_RETRY_SCHEDULE_MS: readonly number[] = Object.freeze([
  1 * S,
  5 * S,
  30 * S,
  2 * MIN,
  5 * MIN,
  15 * MIN,
  30 * MIN,
  1 * H,
  2 * H,
  ...Array.from({ length: 10 }, () => 4 * H),
]);

export const INBOUND_RETRY_SCHEDULE_ENV = 'INBOUND_RETRY_SCHEDULE_MS';

/** The schedule from INBOUND_RETRY_SCHEDULE_MS, or the default. Overrides (tests) are not held to 48 h. */
export function parseInboundRetrySchedule(value: string | undefined): number[] {
  return parseSchedule(value, INBOUND_RETRY_SCHEDULE_ENV, INBOUND_RETRY_SCHEDULE_MS);
}

/** The longest the default schedule keeps a delivery before its DSN. */
export const INBOUND_RETRY_SPAN_MS = sum(INBOUND_RETRY_SCHEDULE_MS);
