/**
 * The profile state a recipient check needs, by INS. Read-only; a database error propagates so that the
 * SMTP layer answers a temporary failure (the sender retries) rather than a wrong permanent one.
 *
 * `RecipientCache` remembers, for a few seconds, profiles that accept mail, so a bulk sender's thousands of
 * RCPT TO for the same patients cost no query each. Only accepting profiles are cached: a refusal is always
 * read fresh (a profile imported a second ago must not get a permanent 550), and whatever the cache said,
 * the accept statement re-checks every recipient's state atomically with the commit (gateway/ingress/accept.ts),
 * so a profile closed meanwhile never receives the message. State changes made by this process clear every
 * cache at once (`profileStatesChanged`); those made by another process are seen within the TTL, and until
 * then the DATA re-check answers 451 (the retry gets the exact refusal).
 */
import { eq } from 'drizzle-orm';
import { type Db, schema } from '../db/index.js';
import { isProfileState, mailAcceptance, type ProfileState } from './rules/profile-state.js';

export interface ProfileRef {
  id: string;
  state: ProfileState;
}

export async function findProfileByIns(db: Db, ins: string): Promise<ProfileRef | undefined> {
  const [row] = await db.select({ id: schema.patients.id, state: schema.patients.state }).from(schema.patients).where(eq(schema.patients.ins, ins));
  if (!row) return undefined;
  if (!isProfileState(row.state)) throw new Error(`patient ${row.id} has an unknown state`);
  return { id: row.id, state: row.state };
}

let generation = 0;

/** Called by every code path of this process that changes profile states: cached acceptances are dropped. */
export function profileStatesChanged(): void {
  generation++;
}

export class RecipientCache {
  private readonly entries = new Map<string, { ref: ProfileRef; at: number }>();
  private generation = generation;

  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
    private readonly maxEntries = 100_000,
  ) {}

  async lookup(ins: string): Promise<ProfileRef | undefined> {
    if (this.generation !== generation) {
      this.entries.clear();
      this.generation = generation;
    }
    const hit = this.entries.get(ins);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.ref;
    const ref = await findProfileByIns(this.db, ins);
    if (ref && mailAcceptance(ref.state) === 'accept') {
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      this.entries.set(ins, { ref, at: Date.now() });
    } else {
      this.entries.delete(ins);
    }
    return ref;
  }
}
