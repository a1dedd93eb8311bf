/**
 * Patients' profiles and authentication (SPEC §6.1–6.2), over the database.
 *
 * - Import: one transaction per file (all rows or none). A new INS is created as the file says. An existing
 *   profile keeps its state and credentials: identity traits follow the file, the state only along the
 *   transitions `planImportUpdate` (rules/patient-import.ts) allows, through the lifecycle (`moveProfile`:
 *   sessions revoked), and a provisional code is issued only to a profile never activated. Every change to an
 *   existing profile is recorded in the patient's activity history (actor 'operator'), in the same transaction
 *   (a creation is not: the history starts with the profile). Provisional codes
 *   are hashed before the transaction, as background work of the scrypt gate (logins go first).
 * - Activation: provisional code + birth date, for a pending or created profile, then a password (policy
 *   checked); the code is consumed; the state change goes through the lifecycle.
 * - Opposition (`opposeProfile`): during the 6-week window only (state `pending`), verified exactly like
 *   activation (same throttling, same dummy-hash timing, and one and the same refusal text for a wrong code or
 *   birth date, an expired code, an unknown INS or any other state); the profile becomes `opposed` and the code
 *   is consumed. The state change is conditional on the profile still being `pending` (no lost race).
 * - Login: password, then a 6-digit code sent by e-mail (stored hashed, short-lived, limited attempts; at most
 *   `loginMaxLiveChallenges` pending per account, further logins are refused until one is used or expires).
 *   Wrong INS and wrong password get one and the same answer.
 * - Throttling (access/login-throttle.ts): every attempt at a provisional code, a password or a one-time code is
 *   counted per (client address, INS as typed) before it is checked, with growing delays and no hard lock; an
 *   unknown INS is throttled exactly like an existing one (same status, body and Retry-After).
 * - Password hashes made with an older scrypt cost are replaced at the next right password (conditional on the
 *   stored hash being the one checked). Every scrypt call goes through the process's gate (scrypt-gate.ts):
 *   when too many are waiting the request is refused with `busy` (503, Retry-After).
 * - Sessions are random 256-bit tokens stored by their SHA-256, with idle and absolute expiry; a session opens
 *   only while its profile is in a state that `canHoldSession` accepts (checked in the same statement).
 * - CSRF: `csrfTokenFor(token)` is base64url(SHA-256("csrf\0" + token)), a value the database never holds (it
 *   stores hex SHA-256 of the bare token), so a read of the sessions table gives neither; `csrfTokenMatches`
 *   compares in constant time.
 * - Self-service (a new provisional code, forgotten password, reactivation, password change, logging out
 *   everywhere) is in account.ts, built on `checkProvisional`, `reserve` and `gated` exported from here.
 * Errors are PatientAccessError with a reason (one per form whatever the cause, so nothing about the profile
 * leaks), the rule broken for a weak password, and how long to wait when throttled or busy; the API gives each
 * reason its status, code and French text (api/problems.ts).
 */
import { profileStatesChanged } from './profile-lookup.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import { and, asc, eq, exists, gt, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Limits } from '../config/index.js';
import { type Db, schema } from '../db/index.js';
import { type Keyring, openValue, sealValue } from '../vault/index.js';
import { activityInsert } from './activity.js';
import { moveProfile } from './lifecycle.js';
import { attemptSucceeded, LoginThrottled, reserveAttempt, throttleKey } from './login-throttle.js';
import { ScryptBusy, scryptGate } from './scrypt-gate.js';
import {
  canActivate,
  canTransition,
  checkPasswordPolicy,
  generateLoginCode,
  generateToken,
  hashSecret,
  hashToken,
  isProfileState,
  needsRehash,
  parseIns,
  planImportUpdate,
  sessionStates,
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

/**
 * Why a patient's request about their account is refused. The API gives each reason its status, code and French
 * text (api/problems.ts); several causes share one reason on purpose (a wrong code, an unknown INS and a profile
 * in the wrong state all read `activation-refused`), so that nothing about the profile leaks.
 */
export type PatientAccessRefusal =
  | 'invalid-credentials'
  | 'throttled'
  | 'challenges-pending'
  | 'busy'
  | 'activation-refused'
  | 'opposition-refused'
  | 'reset-refused'
  | 'reactivation-refused'
  | 'password-refused'
  | 'weak-password'
  | 'invalid-code';

export class PatientAccessError extends Error {
  /** The patient-facing explanation of a reason whose text varies (weak-password: the rule broken). */
  readonly detail?: string;
  /** When to try again (throttled, challenges-pending, busy). */
  readonly retryAfterMs?: number;
  constructor(
    readonly reason: PatientAccessRefusal,
    opts: { detail?: string; retryAfterMs?: number } = {},
  ) {
    super(opts.detail ?? reason);
    this.name = 'PatientAccessError';
    if (opts.detail !== undefined) this.detail = opts.detail;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }
}

const identityContext = (ins: string) => `patient-identity:${ins}`;
// A valid scrypt hash of a random secret: verifying against it costs the same as a real check, so that an
// unknown INS is not told apart by timing.
let dummyHash: Promise<string> | null = null;

/** scrypt through the process's gate; a full queue becomes `busy` (503). */
export async function gated<T>(limits: Limits, work: () => Promise<T>, background = false): Promise<T> {
  try {
    return await scryptGate(limits).run(work, { background });
  } catch (err) {
    if (err instanceof ScryptBusy) throw new PatientAccessError('busy', { retryAfterMs: 2_000 });
    throw err;
  }
}

/** Counts an attempt for (client, INS) or refuses it (429 with Retry-After). Also used by access/account.ts. */
export async function reserve(db: Db, limits: Limits, key: string): Promise<void> {
  try {
    await reserveAttempt(db, limits, key);
  } catch (err) {
    if (err instanceof LoginThrottled) throw new PatientAccessError('throttled', { retryAfterMs: err.retryAfterMs });
    throw err;
  }
}

export interface ImportResult {
  created: number;
  updated: number;
  /** Existing profiles the file left as they were. */
  unchanged: number;
  /** Rows asking for a state the lifecycle refuses for an import: the profile kept its state. */
  stateKept: number;
  /** Rows with a provisional code for a profile that was already activated (or opposed, closed): not issued. */
  codesIgnored: number;
}

const OPERATOR = 'operator';

export async function importPatients(db: Db, keyring: Keyring, limits: Limits, rows: PatientImportRow[]): Promise<ImportResult> {
  const result: ImportResult = { created: 0, updated: 0, unchanged: 0, stateKept: 0, codesIgnored: 0 };
  // Hash only the codes that can be issued: new profiles and profiles never activated (re-checked under lock).
  const activated = new Set(
    (
      await db
        .select({ ins: schema.patients.ins })
        .from(schema.patients)
        .where(
          and(
            sql`${schema.patients.ins} = ANY(${sql.param(rows.map((r) => r.ins))}::text[])`,
            sql`(${schema.patients.activatedAt} IS NOT NULL OR ${schema.patients.passwordHash} IS NOT NULL)`,
          ),
        )
    ).map((r) => r.ins),
  );
  const codeHashes = new Map<string, string>();
  await Promise.all(
    rows.map(async (r) => {
      if (r.provisionalCode && !activated.has(r.ins)) codeHashes.set(r.ins, await gated(limits, () => hashSecret(r.provisionalCode!), true));
    }),
  );
  const expires = new Date(Date.now() + limits.provisionalCodeValidityMs);
  const codeHashFor = async (r: PatientImportRow) => codeHashes.get(r.ins) ?? (await gated(limits, () => hashSecret(r.provisionalCode!), true));
  let statesMoved = false;
  await db.transaction(async (tx) => {
    for (const row of rows) {
      const identity: PatientIdentity = { familyName: row.familyName, givenNames: row.givenNames, birthDate: row.birthDate, email: row.email };
      const [p] = await tx.select().from(schema.patients).where(eq(schema.patients.ins, row.ins)).for('update');
      if (!p) {
        const codeHash = row.provisionalCode ? await codeHashFor(row) : null;
        await tx.insert(schema.patients).values({
          ins: row.ins,
          state: row.state,
          identity: sealValue(keyring, identity, identityContext(row.ins)),
          provisionalCodeHash: codeHash,
          provisionalCodeExpiresAt: codeHash ? expires : null,
        });
        result.created++;
        continue;
      }
      const plan = planImportUpdate(
        { state: p.state, activated: p.activatedAt !== null || p.passwordHash !== null, identity: readIdentity(keyring, p.ins, p.identity) },
        row,
      );
      const event = (kind: 'profile-updated' | 'provisional-code-issued', detail: Record<string, unknown>) =>
        tx.execute(activityInsert(keyring, { patientId: p.id, kind, actor: OPERATOR, actorKind: 'system', detail }));
      let changed = false;
      if (plan.identityChanged.length) {
        await tx
          .update(schema.patients)
          .set({ identity: sealValue(keyring, identity, identityContext(row.ins)), updatedAt: new Date() })
          .where(eq(schema.patients.id, p.id));
        await event('profile-updated', { fields: plan.identityChanged });
        changed = true;
      }
      if (plan.stateTo && isProfileState(p.state)) {
        if (await moveProfile(tx, { id: p.id, from: p.state, to: plan.stateTo }, {}, { keyring, actor: OPERATOR, detail: { source: 'import' } })) {
          changed = statesMoved = true;
        } else {
          result.stateKept++;
        }
      }
      if (plan.stateKept) result.stateKept++;
      if (plan.issueCode) {
        const codeHash = await codeHashFor(row);
        await tx
          .update(schema.patients)
          .set({ provisionalCodeHash: codeHash, provisionalCodeExpiresAt: expires, updatedAt: new Date() })
          .where(and(eq(schema.patients.id, p.id), isNull(schema.patients.activatedAt), isNull(schema.patients.passwordHash)));
        await event('provisional-code-issued', { validUntil: expires.toISOString() });
        changed = true;
      }
      if (plan.codeIgnored) result.codesIgnored++;
      if (changed) result.updated++;
      else result.unchanged++;
    }
  });
  if (statesMoved) profileStatesChanged();
  return result;
}

export function readIdentity(keyring: Keyring, ins: string, sealed: Buffer): PatientIdentity {
  return openValue<PatientIdentity>(keyring, sealed, identityContext(ins));
}

export async function findByIns(db: Db, rawIns: string) {
  const parsed = parseIns(rawIns.trim());
  if (!parsed.ok) return undefined;
  const [row] = await db.select().from(schema.patients).where(eq(schema.patients.ins, parsed.ins));
  return row;
}

type PatientRow = typeof schema.patients.$inferSelect;
export type ProvisionalRow = PatientRow & { provisionalCodeHash: string; provisionalCodeExpiresAt: Date };

/**
 * The profile whose provisional code and birth date are right and whose state `allowed` accepts; else throws
 * `refused` (after the same scrypt work as a real check) or `throttled`. Every attempt counts towards the
 * (client, INS) throttle until it proves right.
 */
export async function checkProvisional(
  db: Db,
  keyring: Keyring,
  limits: Limits,
  input: { ins: string; provisionalCode: string; birthDate: string },
  client: string,
  allowed: (state: ProfileState) => boolean,
  refused: PatientAccessError,
): Promise<ProvisionalRow> {
  const key = throttleKey(client, input.ins);
  await reserve(db, limits, key);
  const p = await findByIns(db, input.ins);
  if (!p || !isProfileState(p.state) || !allowed(p.state) || !p.provisionalCodeHash || !p.provisionalCodeExpiresAt) {
    const dummy = await getDummyHash(limits);
    await gated(limits, () => verifySecret(input.provisionalCode, dummy));
    throw refused;
  }
  const codeHash = p.provisionalCodeHash;
  const codeOk = await gated(limits, () => verifySecret(input.provisionalCode, codeHash));
  const birthOk = readIdentity(keyring, p.ins, p.identity).birthDate === input.birthDate;
  if (!codeOk || !birthOk || p.provisionalCodeExpiresAt <= new Date()) throw refused;
  await attemptSucceeded(db, key, 'reset');
  return p as ProvisionalRow;
}

/** A new password's hash: the password policy first (weak-password), then scrypt behind the concurrency gate. */
export async function newPasswordHash(limits: Limits, password: string): Promise<string> {
  const policy = checkPasswordPolicy(password, limits.minPasswordLength);
  if (!policy.ok) throw new PatientAccessError('weak-password', { detail: policy.reason });
  return gated(limits, () => hashSecret(password));
}

export async function activatePatient(
  db: Db,
  keyring: Keyring,
  limits: Limits,
  input: { ins: string; provisionalCode: string; birthDate: string; password: string },
  client: string,
): Promise<void> {
  const refused = new PatientAccessError('activation-refused');
  const p = await checkProvisional(db, keyring, limits, input, client, canActivate, refused);
  const passwordHash = await newPasswordHash(limits, input.password);
  const moved = await moveProfile(
    db,
    { id: p.id, from: p.state as ProfileState, to: 'active' },
    {
      passwordHash,
      activatedAt: new Date(),
      provisionalCodeHash: null,
      provisionalCodeExpiresAt: null,
    },
  );
  // The profile changed state in between (an opposition, the operator): the activation did not happen.
  if (!moved) throw refused;
  profileStatesChanged();
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
  client: string,
): Promise<void> {
  const refused = new PatientAccessError('opposition-refused');
  const p = await checkProvisional(db, keyring, limits, input, client, (state) => state === 'pending' && canTransition(state, 'opposed'), refused);
  // Only if still pending: the window may have ended (→ created) or an activation won in between.
  const moved = await moveProfile(db, { id: p.id, from: 'pending', to: 'opposed' }, { provisionalCodeHash: null, provisionalCodeExpiresAt: null });
  if (!moved) throw refused;
  profileStatesChanged();
}

async function getDummyHash(limits: Limits): Promise<string> {
  dummyHash ??= gated(limits, () => hashSecret(generateToken(16)), true);
  return dummyHash;
}

export interface LoginChallenge {
  challengeId: string;
  /** The code to send by e-mail; never returned to the HTTP client. */
  code: string;
  email: string;
}

/** First factor. `client`: the client address (throttling key with the INS as typed). */
export async function startLogin(db: Db, keyring: Keyring, limits: Limits, input: { ins: string; password: string }, client: string): Promise<LoginChallenge> {
  const key = throttleKey(client, input.ins);
  await reserve(db, limits, key);
  const p = await findByIns(db, input.ins);
  if (!p || p.state !== 'active' || !p.passwordHash) {
    const dummy = await getDummyHash(limits);
    await gated(limits, () => verifySecret(input.password, dummy));
    throw new PatientAccessError('invalid-credentials');
  }
  const stored = p.passwordHash;
  if (!(await gated(limits, () => verifySecret(input.password, stored)))) {
    throw new PatientAccessError('invalid-credentials');
  }
  // The password was right; failures stay counted until the one-time code is right too.
  await attemptSucceeded(db, key, 'undo');
  if (needsRehash(stored)) {
    const fresh = await gated(limits, () => hashSecret(input.password));
    await db
      .update(schema.patients)
      .set({ passwordHash: fresh, updatedAt: new Date() })
      .where(and(eq(schema.patients.id, p.id), eq(schema.patients.passwordHash, stored)));
  }
  const code = generateLoginCode();
  const lc = schema.loginChallenges;
  const created = await db.transaction(async (tx) => {
    // The profile row's lock serialises this account's logins, so the cap holds under parallel requests.
    await tx.select({ id: schema.patients.id }).from(schema.patients).where(eq(schema.patients.id, p.id)).for('update');
    const now = new Date();
    const live = await tx
      .select({ expiresAt: lc.expiresAt })
      .from(lc)
      .where(and(eq(lc.patientId, p.id), isNull(lc.usedAt), gt(lc.expiresAt, now), lt(lc.attempts, limits.loginCodeMaxAttempts)))
      .orderBy(asc(lc.expiresAt));
    if (live.length >= limits.loginMaxLiveChallenges) return { id: null, refusedMs: live[0]!.expiresAt.getTime() - now.getTime() };
    const [c] = await tx
      .insert(lc)
      .values({ patientId: p.id, codeHash: hashToken(code), expiresAt: new Date(now.getTime() + limits.loginCodeValidityMs) })
      .returning({ id: lc.id });
    return { id: c!.id, refusedMs: 0 };
  });
  if (created.id === null) throw new PatientAccessError('challenges-pending', { retryAfterMs: created.refusedMs });
  return { challengeId: created.id, code, email: readIdentity(keyring, p.ins, p.identity).email };
}

export interface PatientSession {
  token: string;
  patientId: string;
  expiresAt: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Second factor. A wrong code counts towards the (client, INS) throttle of the challenge's profile. */
export async function verifyLogin(db: Db, limits: Limits, input: { challengeId: string; code: string }, client: string): Promise<PatientSession> {
  const invalid = new PatientAccessError('invalid-code');
  if (!UUID.test(input.challengeId)) throw invalid;
  const lc = schema.loginChallenges;
  const [c] = await db
    .select({
      id: lc.id,
      patientId: lc.patientId,
      codeHash: lc.codeHash,
      attempts: lc.attempts,
      usedAt: lc.usedAt,
      expiresAt: lc.expiresAt,
      ins: schema.patients.ins,
    })
    .from(lc)
    .innerJoin(schema.patients, eq(schema.patients.id, lc.patientId))
    .where(eq(lc.id, input.challengeId));
  if (!c || c.usedAt || c.expiresAt <= new Date() || c.attempts >= limits.loginCodeMaxAttempts) throw invalid;
  const key = throttleKey(client, c.ins);
  await reserve(db, limits, key);
  // Count the attempt first, so parallel guesses cannot exceed the limit.
  const [counted] = await db
    .update(lc)
    .set({ attempts: sql`${lc.attempts} + 1` })
    .where(and(eq(lc.id, c.id), sql`${lc.attempts} < ${limits.loginCodeMaxAttempts}`))
    .returning({ attempts: lc.attempts });
  if (!counted) throw invalid;
  if (hashToken(input.code.trim()) !== c.codeHash) throw invalid;
  const [used] = await db
    .update(lc)
    .set({ usedAt: new Date() })
    .where(and(eq(lc.id, c.id), isNull(lc.usedAt)))
    .returning({ id: lc.id });
  if (!used) throw invalid;
  await attemptSucceeded(db, key, 'reset');
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

/**
 * The live session of a token, or null (unknown, revoked, expired, idle too long, or its profile no longer in a
 * state that may hold a session); extends its idle window.
 */
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
        exists(
          db
            .select({ one: sql`1` })
            .from(schema.patients)
            .where(and(eq(schema.patients.id, schema.sessions.patientId), inArray(schema.patients.state, sessionStates()))),
        ),
      ),
    )
    .returning({ patientId: schema.sessions.patientId, expiresAt: schema.sessions.expiresAt });
  return s ?? null;
}

/** The patient of a live session, or null; extends its idle window. */
export async function authenticateSession(db: Db, limits: Limits, token: string): Promise<string | null> {
  return (await openSession(db, limits, token))?.patientId ?? null;
}

/** The patient's own identifier (for their own address, shown to them only), or null. */
export async function patientInsOf(db: Db, patientId: string): Promise<string | null> {
  const [p] = await db.select({ ins: schema.patients.ins }).from(schema.patients).where(eq(schema.patients.id, patientId));
  return p?.ins ?? null;
}

/** The current state of a patient's profile (null for a missing row or an unknown state). */
export async function profileStateOf(db: Db, patientId: string): Promise<ProfileState | null> {
  const [p] = await db.select({ state: schema.patients.state }).from(schema.patients).where(eq(schema.patients.id, patientId));
  return p && isProfileState(p.state) ? p.state : null;
}

export async function endSession(db: Db, token: string): Promise<void> {
  await db
    .update(schema.sessions)
    .set({ revokedAt: new Date() })
    .where(eq(schema.sessions.tokenHash, hashToken(token)));
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
