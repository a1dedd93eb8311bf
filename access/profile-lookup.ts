/**
 * The profile state a recipient check needs, by INS. Read-only; a database error propagates so that the
 * SMTP layer answers a temporary failure (the sender retries) rather than a wrong permanent one.
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../db/index.js';
import { schema } from '../db/index.js';
import { isProfileState, type ProfileState } from './rules/profile-state.js';

export interface ProfileRef {
  id: string;
  state: ProfileState;
}

export async function findProfileByIns(db: Db, ins: string): Promise<ProfileRef | undefined> {
  const [row] = await db
    .select({ id: schema.patients.id, state: schema.patients.state })
    .from(schema.patients)
    .where(eq(schema.patients.ins, ins));
  if (!row) return undefined;
  if (!isProfileState(row.state)) throw new Error(`patient ${row.id} has an unknown state`);
  return { id: row.id, state: row.state };
}
