/**
 * A patient's access settings (SPEC §6.4, DOMAIN.md §6): blocked professionals (by RPPS), blocked establishments
 * (by FINESS), the administrator doctor, "mask all", and the two emergency settings the patient can each refuse:
 * access by the SAMU regulator and "bris de glace" (life at risk). Read as one snapshot for each access decision;
 * changed only by the patient. Both emergency settings are allowed until the patient refuses them (column
 * defaults). The administrator doctor must be a professional who already accessed the record (checked against
 * the activity history). FINESS numbers reach these functions already checked (`parseFiness`, access/rules).
 */
import { and, eq, sql } from 'drizzle-orm';
import { type Db, schema } from '../db/index.js';

export interface AccessSettingsSnapshot {
  blockedRpps: ReadonlySet<string>;
  blockedFiness: ReadonlySet<string>;
  administratorRpps: string | null;
  allMasked: boolean;
  samuRegulatorAllowed: boolean;
  breakGlassAllowed: boolean;
}

export async function accessSnapshot(db: Db, patientId: string): Promise<AccessSettingsSnapshot> {
  const [[s], blocked, establishments] = await Promise.all([
    db.select().from(schema.accessSettings).where(eq(schema.accessSettings.patientId, patientId)),
    db.select({ rpps: schema.blockedProfessionals.rpps }).from(schema.blockedProfessionals).where(eq(schema.blockedProfessionals.patientId, patientId)),
    db.select({ finess: schema.blockedEstablishments.finess }).from(schema.blockedEstablishments).where(eq(schema.blockedEstablishments.patientId, patientId)),
  ]);
  return {
    blockedRpps: new Set(blocked.map((b) => b.rpps)),
    blockedFiness: new Set(establishments.map((b) => b.finess)),
    administratorRpps: s?.administratorRpps ?? null,
    allMasked: s?.allMasked ?? false,
    samuRegulatorAllowed: s?.samuRegulatorAllowed ?? true,
    breakGlassAllowed: s?.breakGlassAllowed ?? true,
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

/** Blocks an establishment: none of its professionals (or systems) sees anything. Idempotent. */
export async function blockEstablishment(db: Db, patientId: string, finess: string): Promise<void> {
  await db.insert(schema.blockedEstablishments).values({ patientId, finess }).onConflictDoNothing();
}

/** Lifts an establishment block; false when it was not blocked. */
export async function unblockEstablishment(db: Db, patientId: string, finess: string): Promise<boolean> {
  const res = await db
    .delete(schema.blockedEstablishments)
    .where(and(eq(schema.blockedEstablishments.patientId, patientId), eq(schema.blockedEstablishments.finess, finess)))
    .returning({ finess: schema.blockedEstablishments.finess });
  return res.length === 1;
}

export interface AccessSettingsChange {
  allMasked?: boolean;
  samuRegulatorAllowed?: boolean;
  breakGlassAllowed?: boolean;
  administratorRpps?: string | null;
}

/** Why a change of the access settings is refused. */
export type SettingsRefusal = 'administrator-never-accessed';

export async function updateAccessSettings(db: Db, patientId: string, change: AccessSettingsChange): Promise<'ok' | SettingsRefusal> {
  if (change.administratorRpps) {
    const [seen] = await db
      .select({ id: schema.activityEvents.id })
      .from(schema.activityEvents)
      .where(and(eq(schema.activityEvents.patientId, patientId), eq(schema.activityEvents.actorRpps, change.administratorRpps)))
      .limit(1);
    if (!seen) return 'administrator-never-accessed';
  }
  // Only the fields given: an absent field keeps its value (an explicit `undefined` must not reach the SET list).
  const set: AccessSettingsChange = {};
  if (change.allMasked !== undefined) set.allMasked = change.allMasked;
  if (change.samuRegulatorAllowed !== undefined) set.samuRegulatorAllowed = change.samuRegulatorAllowed;
  if (change.breakGlassAllowed !== undefined) set.breakGlassAllowed = change.breakGlassAllowed;
  if (change.administratorRpps !== undefined) set.administratorRpps = change.administratorRpps;
  await db
    .insert(schema.accessSettings)
    .values({ patientId, ...set })
    .onConflictDoUpdate({ target: schema.accessSettings.patientId, set: { ...set, updatedAt: sql`now()` } });
  return 'ok';
}
