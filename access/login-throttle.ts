/**
 * Login throttling over the database: the growing delays of rules/login-throttle.ts, per (client address, INS),
 * shared by every API process.
 *
 * Guarantees:
 * - `reserveAttempt` decides and counts in one transaction holding the row's lock: the attempt is counted as a
 *   failure *before* the secret is checked, so N parallel guesses are serialised on the row and only the free
 *   ones get through (no stale read of the count). A refused attempt changes nothing and throws `throttled`
 *   (429, Retry-After). The caller then calls `attemptSucceeded` on success: 'reset' forgets every failure (a
 *   completed login), 'undo' takes back only this attempt (a right password, the one-time code still to come).
 * - The key is SHA-256 of (address, INS as typed, upper-cased): an unknown INS is counted exactly like an
 *   existing one, and the table holds neither addresses nor INS.
 * - A crash between counting and checking leaves the attempt counted (fails safe). Rows whose last failure is
 *   older than `loginFailureMemoryMs` are deleted now and then (at most every 10 minutes per process).
 */
import { createHash } from 'node:crypto';
import { eq, lt, sql } from 'drizzle-orm';
import type { Limits } from '../config/index.js';
import { type Db, schema } from '../db/index.js';
import { loginThrottle, type LoginThrottlePolicy } from './rules/login-throttle.js';

export class LoginThrottled extends Error {
  constructor(readonly retryAfterMs: number) {
    super('attempts throttled'); // the patient's text is the API's (api/problems.ts patientThrottled)
    this.name = 'LoginThrottled';
  }
}

export function throttlePolicy(limits: Limits): LoginThrottlePolicy {
  return {
    freeFailures: limits.loginFreeFailures,
    baseDelayMs: limits.loginDelayBaseMs,
    maxDelayMs: limits.loginDelayMaxMs,
    memoryMs: limits.loginFailureMemoryMs,
  };
}

/** The throttle key of a client address and an INS as typed (never looked up first). */
export function throttleKey(clientAddress: string, ins: string): string {
  return createHash('sha256').update(`login\u0000${clientAddress}\u0000${ins.trim().toUpperCase()}`, 'utf8').digest('hex');
}

let lastSweep = 0;
const SWEEP_EVERY_MS = 10 * 60_000;

/** Counts an attempt, or throws `LoginThrottled` when the key must wait. */
export async function reserveAttempt(db: Db, limits: Limits, key: string): Promise<void> {
  const t = schema.loginThrottle;
  const now = Date.now();
  const refused = await db.transaction(async (tx) => {
    await tx.insert(t).values({ key }).onConflictDoNothing();
    const [row] = await tx.select().from(t).where(eq(t.key, key)).for('update');
    const d = loginThrottle(row ? { failures: row.failures, lastFailureAt: row.lastFailureAt?.getTime() ?? null } : null, now, throttlePolicy(limits));
    if (!d.allowed) return d.retryAfterMs;
    await tx
      .update(t)
      .set({ failures: d.failures, lastFailureAt: new Date(now) })
      .where(eq(t.key, key));
    return null;
  });
  if (now - lastSweep > SWEEP_EVERY_MS) {
    lastSweep = now;
    void db
      .delete(t)
      .where(lt(t.lastFailureAt, new Date(now - limits.loginFailureMemoryMs)))
      .catch(() => {
        /* best effort: the next sweep retries */
      });
  }
  if (refused !== null) throw new LoginThrottled(refused);
}

/** The reserved attempt proved right: 'reset' forgets all failures, 'undo' only this attempt. */
export async function attemptSucceeded(db: Db, key: string, how: 'reset' | 'undo'): Promise<void> {
  const t = schema.loginThrottle;
  if (how === 'reset') await db.delete(t).where(eq(t.key, key));
  else
    await db
      .update(t)
      .set({ failures: sql`GREATEST(${t.failures} - 1, 0)` })
      .where(eq(t.key, key));
}
