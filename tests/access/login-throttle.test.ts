// The login throttling rule (access/rules/login-throttle.ts): free failures, then growing delays up to a cap,
// failures forgotten after a while, never a hard lock; total on odd input.
import { describe, expect, it } from 'vitest';
import { loginDelayMs, loginThrottle, type LoginThrottlePolicy } from '../../access/rules/login-throttle.js';

const policy: LoginThrottlePolicy = { freeFailures: 5, baseDelayMs: 30_000, maxDelayMs: 15 * 60_000, memoryMs: 24 * 3600_000 };
const T0 = 1_800_000_000_000;

describe('loginDelayMs', () => {
  it('costs nothing for the free failures, then doubles from the base delay up to the cap', () => {
    expect([0, 1, 4].map((n) => loginDelayMs(n, policy))).toEqual([0, 0, 0]);
    expect([5, 6, 7, 8, 9].map((n) => loginDelayMs(n, policy))).toEqual([30_000, 60_000, 120_000, 240_000, 480_000]);
    expect(loginDelayMs(10, policy)).toBe(15 * 60_000);
    expect(loginDelayMs(5000, policy)).toBe(15 * 60_000);
  });

  it('treats odd counts as no failure', () => {
    for (const n of [-3, Number.NaN, Number.NEGATIVE_INFINITY]) expect(loginDelayMs(n, policy)).toBe(0);
    expect(loginDelayMs(Number.POSITIVE_INFINITY, policy)).toBe(0);
  });
});

describe('loginThrottle', () => {
  it('lets a first attempt through and counts it', () => {
    expect(loginThrottle(null, T0, policy)).toEqual({ allowed: true, failures: 1 });
    expect(loginThrottle({ failures: 0, lastFailureAt: null }, T0, policy)).toEqual({ allowed: true, failures: 1 });
  });

  it('lets the free failures through at once, then makes the next attempt wait', () => {
    expect(loginThrottle({ failures: 4, lastFailureAt: T0 }, T0, policy)).toEqual({ allowed: true, failures: 5 });
    expect(loginThrottle({ failures: 5, lastFailureAt: T0 }, T0 + 1_000, policy)).toEqual({ allowed: false, retryAfterMs: 29_000 });
    expect(loginThrottle({ failures: 5, lastFailureAt: T0 }, T0 + 30_000, policy)).toEqual({ allowed: true, failures: 6 });
    expect(loginThrottle({ failures: 6, lastFailureAt: T0 }, T0 + 30_000, policy)).toEqual({ allowed: false, retryAfterMs: 30_000 });
  });

  it('is never a hard lock: even after many failures the wait ends within the cap', () => {
    const d = loginThrottle({ failures: 10_000, lastFailureAt: T0 }, T0, policy);
    expect(d).toEqual({ allowed: false, retryAfterMs: 15 * 60_000 });
    expect(loginThrottle({ failures: 10_000, lastFailureAt: T0 }, T0 + 15 * 60_000, policy).allowed).toBe(true);
  });

  it('forgets failures older than the memory', () => {
    expect(loginThrottle({ failures: 50, lastFailureAt: T0 }, T0 + policy.memoryMs, policy)).toEqual({ allowed: true, failures: 1 });
  });
});
