// Login throttling (SPEC §6.2): how long a client must wait before its next authentication attempt for one INS.
//
// Guarantees and decisions:
// - Keyed by (client address, INS) by the caller, never by the profile alone: a stranger's wrong guesses never
//   lock the patient out from the patient's own address, and an unknown INS is counted exactly like an
//   existing one (the caller keys on the INS as typed, before any lookup), so the answer is no existence oracle.
// - No hard lock: the first `freeFailures` failures cost nothing; each further one makes the next attempt wait
//   `baseDelayMs · 2^(failures − freeFailures)`, never more than `maxDelayMs`. Failures older than
//   `memoryMs` (counted from the last one) are forgotten.
// - `failures` counts attempts not proven right: the caller counts an attempt before checking it (so parallel
//   guesses cannot all pass a stale count) and takes it back on success.
// - Pure and total: negative, fractional or non-finite inputs are treated as 0 / "no failure yet", never throw.

export interface LoginThrottlePolicy {
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  memoryMs: number;
}

export interface ThrottleState {
  failures: number;
  /** Epoch ms of the last counted failure, or null. */
  lastFailureAt: number | null;
}

export type ThrottleDecision = { allowed: true; failures: number } | { allowed: false; retryAfterMs: number };

const count = (n: number) => (Number.isFinite(n) && n > 0 ? Math.floor(n) : 0);

/** The wait required after `failures` counted failures (0 while they are free). */
export function loginDelayMs(failures: number, policy: LoginThrottlePolicy): number {
  const over = count(failures) - count(policy.freeFailures);
  if (over < 0) return 0;
  const max = Math.max(0, policy.maxDelayMs);
  // 2^over overflows to Infinity past ~1000; the cap applies anyway.
  return Math.min(max, Math.max(0, policy.baseDelayMs) * 2 ** Math.min(over, 1000));
}

/**
 * Whether an attempt at `now` may go ahead given the stored state. When allowed, `failures` is the count the
 * caller stores for this attempt (previous count + 1, or 1 after a forgotten streak).
 */
export function loginThrottle(state: ThrottleState | null, now: number, policy: LoginThrottlePolicy): ThrottleDecision {
  const last = state?.lastFailureAt;
  const known = state !== null && last !== null && last !== undefined && Number.isFinite(last);
  const failures = known && now - last < policy.memoryMs ? count(state.failures) : 0;
  if (failures > 0) {
    const waitUntil = last! + loginDelayMs(failures, policy);
    if (waitUntil > now) return { allowed: false, retryAfterMs: waitUntil - now };
  }
  return { allowed: true, failures: failures + 1 };
}
