/**
 * The professionals a patient knows (issue 11 item 7), to pick the administrator doctor or someone to block by
 * name: read from the patient's activity history (events with an RPPS; names, profession, organisation and
 * FINESS are in the sealed detail, opened here as listActivity does) and from the patient's mailbox contacts
 * whose address the professionals' directory maps to an RPPS (ended exchanges included: a patient may want to
 * block exactly that professional). Merged by `mergeKnownProfessionals` (./rules/known-professionals.ts).
 *
 * Events about a document still hidden from the patient (before its announcement) are left out, as in the
 * history itself: the list must not tell the patient earlier than the history does that someone acted. Reads
 * only; at most KNOWN_PROFESSIONALS_MAX entries, each source read one row per RPPS.
 */
import { and, desc, eq, isNotNull, sql } from 'drizzle-orm';
import { type Db, schema } from '../db/index.js';
import { type Keyring, openValue } from '../vault/index.js';
import { activityContext } from './activity.js';
import { mergeKnownProfessionals, type KnownProfessional } from './rules/known-professionals.js';

/** A patient knows a few professionals; a list longer than this is not one to pick from (the RPPS field remains). */
export const KNOWN_PROFESSIONALS_MAX = 100;

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

export async function knownProfessionals(db: Db, keyring: Keyring, patientId: string): Promise<KnownProfessional[]> {
  const ev = schema.activityEvents;
  const notHidden = sql`(${ev.documentId} IS NULL OR NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = ${ev.documentId} AND d.hidden_from_patient))`;
  const events = await db
    .selectDistinctOn([ev.actorRpps], { id: ev.id, rpps: ev.actorRpps, detail: ev.detail, createdAt: ev.createdAt })
    .from(ev)
    .where(and(eq(ev.patientId, patientId), eq(ev.actorKind, 'professional'), isNotNull(ev.actorRpps), notHidden))
    .orderBy(ev.actorRpps, desc(ev.id));
  const history = events
    .sort((a, b) => b.id - a.id)
    .slice(0, KNOWN_PROFESSIONALS_MAX)
    .map((r) => {
      const d = r.detail ? openValue<Record<string, unknown>>(keyring, r.detail, activityContext(patientId)) : {};
      return {
        rpps: r.rpps!,
        displayName: text(d.displayName) ?? 'Professionnel de santé',
        profession: text(d.profession),
        organisation: text(d.organisation),
        finess: text(d.finess),
        lastSeenAt: r.createdAt.toISOString(),
      };
    });

  const c = schema.contacts;
  const dir = schema.professionals;
  const contacts = await db
    .select({ rpps: dir.rpps, displayName: dir.displayName, profession: dir.professionCode, lastMessageAt: c.lastMessageAt })
    .from(c)
    .innerJoin(dir, eq(dir.address, c.address))
    .where(and(eq(c.patientId, patientId), isNotNull(dir.rpps)))
    .orderBy(desc(c.lastMessageAt))
    .limit(KNOWN_PROFESSIONALS_MAX);
  return mergeKnownProfessionals(
    history,
    contacts.map((r) => ({
      rpps: r.rpps!,
      displayName: r.displayName,
      profession: r.profession,
      organisation: null,
      finess: null,
      lastSeenAt: r.lastMessageAt.toISOString(),
    })),
    KNOWN_PROFESSIONALS_MAX,
  );
}
