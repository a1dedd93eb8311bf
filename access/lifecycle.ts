/**
 * Profile lifecycle (SPEC §6.1): pending → created when the 6-week opposition window ends (a periodic job),
 * → active by activation, → opposed / closed, and reopening. Transitions are checked by the pure
 * `canTransition`; a refused transition changes nothing. Reopening goes back to `active` when the patient had
 * activated, else `created`.
 *
 * Every state change goes through `moveProfile` (or, for the periodic job and the patient's own closing, one
 * statement doing the same): the state is changed only if the profile is still in the state it was read in (or,
 * for one statement, in a state the rules allow the change from: no lost race), and in the same transaction every
 * session of the profile is revoked and, when an actor is given, the change is recorded in the patient's activity
 * history. A crash rolls all of it back together; a retry re-reads the state.
 */
import { and, eq, isNull, sql } from 'drizzle-orm';
import { type Db, cteStatement, schema, rowsOf } from '../db/index.js';
import type { Keyring } from '../vault/index.js';
import { activityInsert } from './activity.js';
import { canTransition, isProfileState, reopenState, statesThatMayBecome, type ProfileState } from './rules/profile-state.js';
import { parseIns } from './rules/ins.js';
import { profileStatesChanged } from './profile-lookup.js';

type PatientSet = Partial<typeof schema.patients.$inferInsert>;

/** Who made a change, for the activity history (the patient's own actions are not recorded there). */
export interface ChangeActor {
  keyring: Keyring;
  /** E.g. 'operator' (the admin API or a CSV import). */
  actor: string;
  detail?: Record<string, unknown>;
}

/**
 * Moves a profile from `from` to `to` when the rules allow it and it is still in `from`, with `set` written by
 * the same statement; revokes its sessions and records the change (with `by`) atomically. Returns whether it
 * moved. The caller calls `profileStatesChanged()` after its transaction commits (`changeProfileState` does).
 */
export async function moveProfile(db: Db, p: { id: string; from: ProfileState; to: ProfileState }, set: PatientSet = {}, by?: ChangeActor): Promise<boolean> {
  if (!canTransition(p.from, p.to)) return false;
  return db.transaction(async (tx) => {
    const now = new Date();
    const res = await tx
      .update(schema.patients)
      .set({ ...set, state: p.to, updatedAt: now })
      .where(and(eq(schema.patients.id, p.id), eq(schema.patients.state, p.from)))
      .returning({ id: schema.patients.id });
    if (res.length !== 1) return false;
    await tx
      .update(schema.sessions)
      .set({ revokedAt: now })
      .where(and(eq(schema.sessions.patientId, p.id), isNull(schema.sessions.revokedAt)));
    if (by) {
      await tx.execute(
        activityInsert(by.keyring, {
          patientId: p.id,
          kind: 'profile-state-changed',
          actor: by.actor,
          actorKind: 'system',
          detail: { from: p.from, to: p.to, ...by.detail },
        }),
      );
    }
    return true;
  });
}

/** Pending profiles whose opposition window is over become `created` (their sessions, if any, end). Returns how many. */
export async function endOppositionWindows(db: Db, windowMs: number): Promise<number> {
  if (!canTransition('pending', 'created')) return 0;
  const cutoff = new Date(Date.now() - windowMs);
  const res = await db.execute<{ id: string }>(sql`
    WITH moved AS (
      UPDATE patients SET state = 'created', updated_at = now()
      WHERE state = 'pending' AND created_at <= ${cutoff.toISOString()}::timestamptz
      RETURNING id
    ), revoked AS (
      UPDATE sessions SET revoked_at = now() WHERE revoked_at IS NULL AND patient_id IN (SELECT id FROM moved) RETURNING 1
    )
    SELECT id FROM moved`);
  const rows = rowsOf<{ id: string }>(res);
  if (rows.length) profileStatesChanged();
  return rows.length;
}

export type TransitionResult = { ok: true; state: ProfileState } | { ok: false; reason: 'unknown' | 'not-allowed' };

/**
 * An operator- or patient-requested change of state; `reopen` picks created/active itself. `by`: recorded in
 * the patient's history (operator changes); omitted for the patient's own (closing from « Mon profil »).
 */
export async function changeProfileState(db: Db, rawIns: string, target: ProfileState | 'reopen', by?: ChangeActor): Promise<TransitionResult> {
  const parsed = parseIns(rawIns);
  if (!parsed.ok) return { ok: false, reason: 'unknown' };
  const [p] = await db.select().from(schema.patients).where(eq(schema.patients.ins, parsed.ins));
  if (!p || !isProfileState(p.state)) return { ok: false, reason: 'unknown' };
  const to: ProfileState = target === 'reopen' ? reopenState(p.activatedAt !== null) : target;
  if (target === 'reopen' && p.state !== 'opposed' && p.state !== 'closed') return { ok: false, reason: 'not-allowed' };
  if (!(await moveProfile(db, { id: p.id, from: p.state, to }, {}, by))) return { ok: false, reason: 'not-allowed' };
  profileStatesChanged();
  return { ok: true, state: to };
}

/**
 * The patient closes their own profile (« Mon profil », after downloading the archive): ONE statement moves it to
 * `closed` when the rules allow it from the state it is in, and revokes every session of the profile, this one
 * included; mail is refused from then on (closed has its own SMTP reply). Not recorded in the history: the
 * patient's own actions are not (`ChangeActor`). A profile that may not be closed, or no longer exists, is left
 * as it is: `not-allowed`.
 */
export async function closeProfile(db: Db, patientId: string): Promise<TransitionResult> {
  const res = await db.execute<{ n: number }>(
    cteStatement(
      [
        [
          'moved',
          sql`UPDATE patients SET state = 'closed', updated_at = now() WHERE id = ${patientId}::uuid AND state = ANY(${sql.param(statesThatMayBecome('closed'))}::text[]) RETURNING id`,
        ],
        ['revoked', sql`UPDATE sessions SET revoked_at = now() WHERE patient_id IN (SELECT id FROM moved) AND revoked_at IS NULL`],
      ],
      sql`SELECT count(*)::int AS n FROM moved`,
    ),
  );
  const rows = rowsOf<{ n: number }>(res);
  if ((rows[0]?.n ?? 0) !== 1) return { ok: false, reason: 'not-allowed' };
  profileStatesChanged();
  return { ok: true, state: 'closed' };
}
