/**
 * Profile lifecycle (SPEC §6.1): pending → created when the 6-week opposition window ends (a periodic job),
 * → active by activation, → opposed / closed, and reopening. Transitions are checked by the pure
 * `canTransition`; a refused transition changes nothing. Reopening goes back to `active` when the patient had
 * activated, else `created`.
 */
import { and, eq, lte, sql } from 'drizzle-orm';
import type { Db } from '../db/index.js';
import { schema } from '../db/index.js';
import { canTransition, isProfileState, reopenState, type ProfileState } from './rules/profile-state.js';
import { parseIns } from './rules/ins.js';
import { profileStatesChanged } from './profile-lookup.js';

/** Pending profiles whose opposition window is over become `created`. Returns how many. */
export async function endOppositionWindows(db: Db, windowMs: number): Promise<number> {
  const cutoff = new Date(Date.now() - windowMs);
  const res = await db
    .update(schema.patients)
    .set({ state: 'created', updatedAt: sql`now()` })
    .where(and(eq(schema.patients.state, 'pending'), lte(schema.patients.createdAt, cutoff)))
    .returning({ id: schema.patients.id });
  return res.length;
}

export type TransitionResult = { ok: true; state: ProfileState } | { ok: false; reason: 'unknown' | 'not-allowed' };

/** An operator- or patient-requested change of state; `reopen` picks created/active itself. */
export async function changeProfileState(db: Db, rawIns: string, target: ProfileState | 'reopen'): Promise<TransitionResult> {
  const parsed = parseIns(rawIns);
  if (!parsed.ok) return { ok: false, reason: 'unknown' };
  const [p] = await db.select().from(schema.patients).where(eq(schema.patients.ins, parsed.ins));
  if (!p || !isProfileState(p.state)) return { ok: false, reason: 'unknown' };
  const to: ProfileState = target === 'reopen' ? reopenState(p.activatedAt !== null) : target;
  if (target === 'reopen' && p.state !== 'opposed' && p.state !== 'closed') return { ok: false, reason: 'not-allowed' };
  if (!canTransition(p.state, to)) return { ok: false, reason: 'not-allowed' };
  const res = await db
    .update(schema.patients)
    .set({ state: to, updatedAt: sql`now()` })
    .where(and(eq(schema.patients.id, p.id), eq(schema.patients.state, p.state)))
    .returning({ id: schema.patients.id });
  if (res.length !== 1) return { ok: false, reason: 'not-allowed' };
  profileStatesChanged();
  return { ok: true, state: to };
}
