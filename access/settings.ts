/**
 * A patient's access settings (SPEC §6.4): blocked professionals (by RPPS), the administrator doctor, "mask
 * all", and whether emergency access is allowed. Read as one snapshot for each access decision; changed only by
 * the patient. The administrator doctor must be a professional who already accessed the record (checked against
 * the activity history).
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/index.js';
import { schema } from '../db/index.js';

export interface AccessSettingsSnapshot {
  blockedRpps: ReadonlySet<string>;
  administratorRpps: string | null;
  allMasked: boolean;
  emergencyAllowed: boolean;
}

export async function accessSnapshot(db: Db, patientId: string): Promise<AccessSettingsSnapshot> {
  const [s] = await db.select().from(schema.accessSettings).where(eq(schema.accessSettings.patientId, patientId));
  const blocked = await db
    .select({ rpps: schema.blockedProfessionals.rpps })
    .from(schema.blockedProfessionals)
    .where(eq(schema.blockedProfessionals.patientId, patientId));
  return {
    blockedRpps: new Set(blocked.map((b) => b.rpps)),
    administratorRpps: s?.administratorRpps ?? null,
    allMasked: s?.allMasked ?? false,
    emergencyAllowed: s?.emergencyAllowed ?? true,
  };
}

export const RPPS = /^\d{11}$/;

export async function blockProfessional(db: Db, patientId: string, rpps: string): Promise<void> {
  await db.insert(schema.blockedProfessionals).values({ patientId, rpps }).onConflictDoNothing();
}

export async function unblockProfessional(db: Db, patientId: string, rpps: string): Promise<boolean> {
  const res = await db
    .delete(schema.blockedProfessionals)
    .where(and(eq(schema.blockedProfessionals.patientId, patientId), eq(schema.blockedProfessionals.rpps, rpps)))
    .returning({ rpps: schema.blockedProfessionals.rpps });
  return res.length === 1;
}

export async function updateAccessSettings(
  db: Db,
  patientId: string,
  change: { allMasked?: boolean; emergencyAllowed?: boolean; administratorRpps?: string | null },
): Promise<'ok' | 'administrator-never-accessed'> {
  if (change.administratorRpps) {
    const [seen] = await db
      .select({ id: schema.activityEvents.id })
      .from(schema.activityEvents)
      .where(and(eq(schema.activityEvents.patientId, patientId), eq(schema.activityEvents.actorRpps, change.administratorRpps)))
      .limit(1);
    if (!seen) return 'administrator-never-accessed';
  }
  await db
    .insert(schema.accessSettings)
    .values({ patientId, ...change })
    .onConflictDoUpdate({ target: schema.accessSettings.patientId, set: { ...change, updatedAt: sql`now()` } });
  return 'ok';
}
