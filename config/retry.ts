/**
 * Both retry schedules of the gateway, as data with their reasons, and their one parser. A schedule is the list
 * of waits between attempts (element i is the wait after attempt i+1 failed), so its length bounds the attempts
 * and its sum bounds the time spent trying:
 * - `inbound`: a delivery that got 250 and then failed temporarily (the scanner away, a database failover, a
 *   restart mid-job), retried by the inbound worker (app/worker.ts) before its sender gets a DSN;
 * - `relay`: a patient's message (or a report) the destination's server deferred, retried by the outbound relay
 *   (app/outbound-worker.ts) before a notice goes back into the patient's inbox.
 *
 * Guarantees:
 * - The defaults are frozen; each stays within (inbound) or spans (relay) the 48 h of SPEC §2.5 and §4
 *   (tests/relay/config.test.ts checks both).
 * - `parseRetrySchedule` never guesses: unset or blank gives a copy of the default; anything else must be
 *   comma-separated non-negative integers (ms), else an Error names the variable and the entry, so a typo fails
 *   at start, not at 3 a.m. Overrides (tests use a few ms) are deliberately not held to 48 h.
 * - `retryDelay` returns null once the schedule is exhausted: the caller gives up (and sends its DSN or notice).
 */

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;

export interface RetrySchedule {
  /** The variable that overrides it (comma-separated ms). */
  readonly env: string;
  /** The default waits, in ms. */
  readonly delaysMs: readonly number[];
  /** Why these waits. */
  readonly why: string;
}

const schedule = (env: string, delaysMs: number[], why: string): RetrySchedule => Object.freeze({ env, delaysMs: Object.freeze(delaysMs), why });

export const RETRY_SCHEDULES = Object.freeze({
  inbound: schedule(
    'INBOUND_RETRY_SCHEDULE_MS',
    [1 * S, 5 * S, 30 * S, 2 * MIN, 5 * MIN, 15 * MIN, 30 * MIN, 1 * H, 2 * H, ...Array.from({ length: 10 }, () => 4 * H)],
    'Quick retries for blips (1 s, 5 s, 30 s, 2, 5, 15, 30 min), then 1 h, 2 h and 4 h ten times: 20 attempts over ~43.9 h, ' +
      'ending well within the 48 h of SPEC §2.5 ("a permanent failure after 250 sends a DSN"), so a professional learns in ' +
      'bounded time that a message was not filed, instead of never. Malformed messages fail at once: no retry can help them.',
  ),
  relay: schedule(
    'RELAY_RETRY_SCHEDULE_MS',
    [5 * MIN, 7 * MIN, 8 * MIN, 25 * MIN, 75 * MIN, 120 * MIN, ...Array.from({ length: 11 }, () => 240 * MIN)],
    "ZoneMTA's DEFAULT_DEFER_TIMES (lib/sender.js: 5, 7, 8, 25, 75, 120 min, then 240 min repeated): quick retries absorb " +
      'greylisting and short outages, then one attempt every 4 h; 6 + 11 delays = 48 h exactly (SPEC §4 "retries with backoff ' +
      'over 48 h"), i.e. 18 attempts before the message is declared undeliverable.',
  ),
} as const);

export type RetryScheduleName = keyof typeof RETRY_SCHEDULES;

/** The schedule `name` from its variable's value (`RETRY_SCHEDULES[name].env`); unset or blank → a copy of the default. */
export function parseRetrySchedule(name: RetryScheduleName, value: string | undefined): number[] {
  const { env, delaysMs } = RETRY_SCHEDULES[name];
  if (value === undefined || value.trim() === '') return [...delaysMs];
  return value.split(',').map((part, index) => {
    const v = part.trim();
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
      throw new Error(`${env}: entry #${index + 1} "${v}" is not a non-negative integer (ms)`);
    }
    return Number(v);
  });
}

/**
 * Delay before the next attempt, given how many attempts were already made (1 after the first failure).
 * 0 attempts → 0 (now). Returns null when the schedule is exhausted.
 */
export function retryDelay(attemptsMade: number, schedule: readonly number[]): number | null {
  if (!Number.isInteger(attemptsMade) || attemptsMade < 0) {
    throw new RangeError(`attemptsMade must be a non-negative integer, got ${attemptsMade}`);
  }
  if (attemptsMade === 0) return 0;
  return schedule[attemptsMade - 1] ?? null;
}

/** The longest a schedule keeps trying. */
export const scheduleSpan = (schedule: readonly number[]) => schedule.reduce((a, b) => a + b, 0);
