/**
 * Patients' profiles and authentication (SPEC §6.1–6.2), over the database.
 *
 * - Import: upsert by INS, in one transaction per file (all rows or none); identity traits are sealed; the
 *   provisional code is stored hashed and valid `provisionalCodeValidityMs` from the import.
 * - Activation: provisional code + birth date, for a pending or created profile, then a password (policy
 *   checked); the code is consumed.
 * - Opposition (`opposeProfile`): during the 6-week window only (state `pending`), verified exactly like
 *   activation (same lock, same dummy-hash timing, and one and the same refusal text for a wrong code or birth
 *   date, an expired code, an unknown INS or any other state); the profile becomes `opposed` and the code is
 *   consumed. The state change is conditional on the profile still being `pending` (no lost race).
 * - Login: password, then a 6-digit code sent by e-mail (stored hashed, short-lived, limited attempts).
 *   Wrong INS and wrong password get one and the same answer; consecutive failures lock the profile for
 *   `loginLockMs`. Sessions are random 256-bit tokens stored by their SHA-256, with idle and absolute expiry.
 * - CSRF: `csrfTokenFor(token)` is base64url(SHA-256("csrf\0" + token)), a value the database never holds (it
 *   stores hex SHA-256 of the bare token), so a read of the sessions table gives neither; `csrfTokenMatches`
 *   compares in constant time.
 * Errors are PatientAccessError with a French message for the patient and an HTTP status.
 */
import { profileStatesChanged } from './profile-lookup.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Limits } from '../config/index.js';
import type { Db } from '../db/index.js';
import { schema } from '../db/index.js';
import type { Keyring } from '../vault/index.js';
import { openValue, sealValue } from '../vault/index.js';
import {
  canActivate,
  canTransition,
  checkPasswordPolicy,
  generateLoginCode,
  generateToken,
  hashSecret,
  hashToken,
  isProfileState,
  parseIns,
  verifySecret,
  type PatientImportRow,
  type ProfileState,
} from './rules/index.js';

export interface PatientIdentity {
  familyName: string;
  givenNames: string;
  birthDate: string;
  email: string;
}

export type PatientAccessErrorKind =
  | 'invalid-credentials'
  | 'locked'
  | 'activation-refused'
  | 'opposition-refused'
  | 'weak-password'
  | 'invalid-code'
  | 'invalid-session';

const STATUS: Record<PatientAccessErrorKind, number> = {
  'invalid-credentials': 401,
  locked: 429,
  'activation-refused': 400,
  'opposition-refused': 400,
  'weak-password': 400,
  'invalid-code': 401,
  'invalid-session': 401,
};

export class PatientAccessError extends Error {
  readonly status: number;
  constructor(
    readonly kind: PatientAccessErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'PatientAccessError';
    this.status = STATUS[kind];
  }
}

const identityContext = (ins: string) => `patient-identity:${ins}`;
const BAD_CREDENTIALS = 'Identifiant ou mot de passe incorrect.';
const LOCKED = 'Trop de tentatives. Réessayez plus tard.';
/** One text per form for every refusal, whatever the reason (wrong code, unknown INS, state): nothing about the profile leaks. */
const PROVISIONAL_REFUSED = 'Activation impossible : vérifiez votre code provisoire et votre date de naissance.';
const OPPOSITION_REFUSED =
  "Opposition impossible : vérifiez votre identifiant, votre code provisoire et votre date de naissance. Après les 6 semaines, fermez votre profil depuis « Mon profil ».";
// A valid scrypt hash of a random secret: verifying against it costs the same as a real check, so that an
// unknown INS is not told apart by timing.
let dummyHash: Promise<string> | null = null;

export interface ImportResult {
  created: number;
  updated: number;
}

export async function importPatients(db: Db, keyring: Keyring, limits: Limits, rows: PatientImportRow[]): Promise<ImportResult> {
  const prepared = await Promise.all(
    rows.map(async (r) => ({
      row: r,
      codeHash: r.provisionalCode ? await hashSecret(r.provisionalCode) : null,
    })),
  );
  let created = 0;
  let updated = 0;
  const expires = new Date(Date.now() + limits.provisionalCodeValidityMs);
  await db.transaction(async (tx) => {
    for (const { row, codeHash } of prepared) {
      const identity: PatientIdentity = {
        familyName: row.familyName,
        givenNames: row.givenNames,
        birthDate: row.birthDate,
        email: row.email,
      };
      const sealed = sealValue(keyring, identity, identityContext(row.ins));
      const [res] = await tx
        .insert(schema.patients)
        .values({
          ins: row.ins,
          state: row.state,
          identity: sealed,
          provisionalCodeHash: codeHash,
          provisionalCodeExpiresAt: codeHash ? expires : null,
        })
        .onConflictDoUpdate({
          target: schema.patients.ins,
          set: {
            state: row.state,
            identity: sealed,
            updatedAt: new Date(),
            ...(codeHash ? { provisionalCodeHash: codeHash, provisionalCodeExpiresAt: expires } : {}),
          },
        })
        .returning({ inserted: sql<boolean>`(xmax = 0)` });
      if (res?.inserted) created++;
      else updated++;
    }
  });
  if (updated) profileStatesChanged();
  return { created, updated };
}

export function readIdentity(keyring: Keyring, ins: string, sealed: Buffer): PatientIdentity {
  return openValue<PatientIdentity>(keyring, sealed, identityContext(ins));
}

async function findByIns(db: Db, rawIns: string) {
  const parsed = parseIns(rawIns.trim());
  if (!parsed.ok) return undefined;
  const [row] = await db.select().from(schema.patients).where(eq(schema.patients.ins, parsed.ins));
  return row;
}

type PatientRow = typeof schema.patients.$inferSelect;
type ProvisionalRow = PatientRow & { provisionalCodeHash: string; provisionalCodeExpiresAt: Date };

/**
 * The profile whose provisional code and birth date are right and whose state `allowed` accepts; else throws
 * `refused` (after the same scrypt work as a real check) or `locked`. A wrong code or birth date counts as a
 * failure towards the lock.
 */
async function checkProvisional(
  db: Db,
  keyring: Keyring,
  limits: Limits,
  input: { ins: string; provisionalCode: string; birthDate: string },
  allowed: (state: ProfileState) => boolean,
  refused: PatientAccessError,
): Promise<ProvisionalRow> {
  const p = await findByIns(db, input.ins);
  if (p && p.lockedUntil && p.lockedUntil > new Date()) throw new PatientAccessError('locked', LOCKED);
  if (!p || !isProfileState(p.state) || !allowed(p.state) || !p.provisionalCodeHash || !p.provisionalCodeExpiresAt) {
    await verifySecret(input.provisionalCode, await getDummyHash());
    throw refused;
  }
  const codeOk = await verifySecret(input.provisionalCode, p.provisionalCodeHash);
  const birthOk = readIdentity(keyring, p.ins, p.identity).birthDate === input.birthDate;
  if (!codeOk || !birthOk || p.provisionalCodeExpiresAt <= new Date()) {
    await recordFailure(db, p.id, p.failedLogins, limits);
    throw refused;
  }
  return p as ProvisionalRow;
}

export async function activatePatient(
  db: Db,
  keyring: Keyring,
  limits: Limits,
  input: { ins: string; provisionalCode: string; birthDate: string; password: string },
): Promise<void> {
  const refused = new PatientAccessError('activation-refused', PROVISIONAL_REFUSED);
  const p = await checkProvisional(db, keyring, limits, input, canActivate, refused);
  const policy = checkPasswordPolicy(input.password, limits.minPasswordLength);
  if (!policy.ok) throw new PatientAccessError('weak-password', policy.reason);
  const passwordHash = await hashSecret(input.password);
  await db
    .update(schema.patients)
    .set({
      state: 'active',
      passwordHash,
      activatedAt: new Date(),
      provisionalCodeHash: null,
      provisionalCodeExpiresAt: null,
      failedLogins: 0,
      lockedUntil: null,
      updatedAt: new Date(),
    })
    .where(eq(schema.patients.id, p.id));
}

/**
 * The patient opposes the creation of the profile during the 6-week window: `pending` → `opposed`, checked
 * like activation. Mail to the INS is then refused like an unknown recipient (`mailAcceptance`).
 */
export async function opposeProfile(
  db: Db,
  keyring: Keyring,
  limits: Limits,
  input: { ins: string; provisionalCode: string; birthDate: string },
): Promise<void> {
  const refused = new PatientAccessError('opposition-refused', OPPOSITION_REFUSED);
  const p = await checkProvisional(db, keyring, limits, input, (state) => state === 'pending' && canTransition(state, 'opposed'), refused);
  const done = await db
    .update(schema.patients)
    .set({
      state: 'opposed',
      provisionalCodeHash: null,
      provisionalCodeExpiresAt: null,
      failedLogins: 0,
      lockedUntil: null,
      updatedAt: new Date(),
    })
    // Only if still pending: the window may have ended (→ created) or an activation won in between.
    .where(and(eq(schema.patients.id, p.id), eq(schema.patients.state, 'pending')))
    .returning({ id: schema.patients.id });
  if (done.length !== 1) throw refused;
}

async function getDummyHash(): Promise<string> {
  dummyHash ??= hashSecret(generateToken(16));
  return dummyHash;
}

async function recordFailure(db: Db, patientId: string, previous: number, limits: Limits): Promise<void> {
  const failures = previous + 1;
  await db
    .update(schema.patients)
    .set({
      failedLogins: failures >= limits.loginFailuresBeforeLock ? 0 : failures,
      lockedUntil: failures >= limits.loginFailuresBeforeLock ? new Date(Date.now() + limits.loginLockMs) : null,
    })
    .where(eq(schema.patients.id, patientId));
}

export interface LoginChallenge {
  challengeId: string;
  /** The code to send by e-mail; never returned to the HTTP client. */
  code: string;
  email: string;
}

export async function startLogin(db: Db, keyring: Keyring, limits: Limits, input: { ins: string; password: string }): Promise<LoginChallenge> {
  const p = await findByIns(db, input.ins);
  if (p && p.lockedUntil && p.lockedUntil > new Date()) throw new PatientAccessError('locked', LOCKED);
  if (!p || p.state !== 'active' || !p.passwordHash) {
    await verifySecret(input.password, await getDummyHash());
    throw new PatientAccessError('invalid-credentials', BAD_CREDENTIALS);
  }
  if (!(await verifySecret(input.password, p.passwordHash))) {
    await recordFailure(db, p.id, p.failedLogins, limits);
    throw new PatientAccessError('invalid-credentials', BAD_CREDENTIALS);
  }
  const code = generateLoginCode();
  const [c] = await db
    .insert(schema.loginChallenges)
    .values({ patientId: p.id, codeHash: hashToken(code), expiresAt: new Date(Date.now() + limits.loginCodeValidityMs) })
    .returning({ id: schema.loginChallenges.id });
  await db.update(schema.patients).set({ failedLogins: 0 }).where(eq(schema.patients.id, p.id));
  return { challengeId: c!.id, code, email: readIdentity(keyring, p.ins, p.identity).email };
}

export interface PatientSession {
  token: string;
  patientId: string;
  expiresAt: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function verifyLogin(db: Db, limits: Limits, input: { challengeId: string; code: string }): Promise<PatientSession> {
  const invalid = new PatientAccessError('invalid-code', 'Code incorrect ou expiré.');
  if (!UUID.test(input.challengeId)) throw invalid;
  const [c] = await db.select().from(schema.loginChallenges).where(eq(schema.loginChallenges.id, input.challengeId));
  if (!c || c.usedAt || c.expiresAt <= new Date() || c.attempts >= limits.loginCodeMaxAttempts) throw invalid;
  // Count the attempt first, so parallel guesses cannot exceed the limit.
  const [counted] = await db
    .update(schema.loginChallenges)
    .set({ attempts: sql`${schema.loginChallenges.attempts} + 1` })
    .where(and(eq(schema.loginChallenges.id, c.id), sql`${schema.loginChallenges.attempts} < ${limits.loginCodeMaxAttempts}`))
    .returning({ attempts: schema.loginChallenges.attempts });
  if (!counted) throw invalid;
  if (hashToken(input.code.trim()) !== c.codeHash) throw invalid;
  const [used] = await db
    .update(schema.loginChallenges)
    .set({ usedAt: new Date() })
    .where(and(eq(schema.loginChallenges.id, c.id), isNull(schema.loginChallenges.usedAt)))
    .returning({ id: schema.loginChallenges.id });
  if (!used) throw invalid;
  const token = generateToken(32);
  const expiresAt = new Date(Date.now() + limits.sessionAbsoluteMs);
  await db.insert(schema.sessions).values({ tokenHash: hashToken(token), patientId: c.patientId, expiresAt });
  return { token, patientId: c.patientId, expiresAt };
}

export interface LiveSession {
  patientId: string;
  /** Absolute expiry (the idle window is extended by every authenticated request). */
  expiresAt: Date;
}

/** The live session of a token, or null (unknown, revoked, expired or idle too long); extends its idle window. */
export async function openSession(db: Db, limits: Limits, token: string): Promise<LiveSession | null> {
  if (!token || token.length > 200) return null;
  const now = new Date();
  const idleCutoff = new Date(now.getTime() - limits.sessionIdleMs);
  const [s] = await db
    .update(schema.sessions)
    .set({ lastSeenAt: now })
    .where(
      and(
        eq(schema.sessions.tokenHash, hashToken(token)),
        isNull(schema.sessions.revokedAt),
        gt(schema.sessions.expiresAt, now),
        gt(schema.sessions.lastSeenAt, idleCutoff),
      ),
    )
    .returning({ patientId: schema.sessions.patientId, expiresAt: schema.sessions.expiresAt });
  return s ?? null;
}

/** The patient of a live session, or null; extends its idle window. */
export async function authenticateSession(db: Db, limits: Limits, token: string): Promise<string | null> {
  return (await openSession(db, limits, token))?.patientId ?? null;
}

/** The current state of a patient's profile (null for a missing row or an unknown state). */
export async function profileStateOf(db: Db, patientId: string): Promise<ProfileState | null> {
  const [p] = await db.select({ state: schema.patients.state }).from(schema.patients).where(eq(schema.patients.id, patientId));
  return p && isProfileState(p.state) ? p.state : null;
}

export async function endSession(db: Db, token: string): Promise<void> {
  await db.update(schema.sessions).set({ revokedAt: new Date() }).where(eq(schema.sessions.tokenHash, hashToken(token)));
}

/** The anti-CSRF token of a session: derived, never stored, distinct from the stored `hashToken`. */
export function csrfTokenFor(sessionToken: string): string {
  return createHash('sha256').update('csrf\u0000', 'utf8').update(sessionToken, 'utf8').digest('base64url');
}

/** Whether `presented` is the session's anti-CSRF token (constant-time; false for a missing value). */
export function csrfTokenMatches(sessionToken: string, presented: string | undefined): boolean {
  if (typeof presented !== 'string') return false;
  const expected = Buffer.from(csrfTokenFor(sessionToken), 'utf8');
  const given = Buffer.from(presented, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
