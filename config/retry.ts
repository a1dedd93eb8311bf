/**
 * Retry schedules as data: a schedule is the list of waits between attempts (element i is the wait after
 * attempt i+1 failed), so its length bounds the attempts and its sum bounds the time spent trying. Used by the
 * outbound relay (config/relay.ts) and inbound processing (config/inbound.ts).
 * - `parseSchedule` never guesses: a malformed override throws an Error naming the variable and the entry.
 * - `retryDelay` returns null once the schedule is exhausted: the caller gives up (and sends its DSN).
 */

/** Reads a comma-separated list of non-negative integers (ms) from `name`; unset or blank → a copy of `fallback`. */
export function parseSchedule(value: string | undefined, name: string, fallback: readonly number[]): number[] {
  if (value === undefined || value.trim() === '') return [...fallback];
  return value.split(',').map((part, index) => {
    const v = part.trim();
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
      throw new Error(`${name}: entry #${index + 1} "${v}" is not a non-negative integer (ms)`);
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

export const sum = (schedule: readonly number[]) => schedule.reduce((a, b) => a + b, 0);
