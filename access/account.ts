/**
 * Account self-service (issue 11 item 6), over the database: a new provisional code by e-mail, a forgotten
 * password, reactivation after closure or opposition, changing the password, logging out everywhere.
 *
 * - New provisional code (`requestProvisionalCode`): the request is counted towards the (client address, INS as
 *   typed) throttle of access/login-throttle.ts before anything else (429 alike for every INS); the answer never
 *   depends on the INS. The work itself (lookup, hashing, storing, e-mail) is returned as a job the caller runs
 *   after answering, so neither the answer nor its timing tells a known INS from an unknown one. The code (12
 *   digits, `requestedCodeValidityMs`) replaces any previous provisional code, goes only to the address on file,
 *   and its issue is recorded in the patient's history ('provisional-code-issued', actor 'system', in the same
 *   transaction), since someone other than the patient may have asked for it.
 * - Forgotten password (`resetPassword`) and reactivation (`reactivateProfile`) are verified exactly like
 *   activation (`checkProvisional`: same throttling, same dummy-hash timing, one refusal text per form for a wrong
 *   code or birth date, an expired code, an unknown INS or a state the code cannot serve, per
 *   rules/self-service.ts). A reset sets the password (policy checked), consumes the code and, in one transaction,
 *   revokes every session and pending login code of the profile; it is conditional on the checked code still
 *   being stored (no double use). Reactivation moves the profile through the lifecycle (`moveProfile`: sessions
 *   revoked, no lost race) to `reactivationTarget`; the code is consumed when it lands in `active` and kept for the
 *   activation that follows when it lands in `created`.
 * - Changing the password needs the current one (counted towards the same throttle, keyed by the profile's INS),
 *   is conditional on the stored hash being the one checked, and revokes every other session and pending login
 *   code; the current session stays open.
 * - `endAllSessions` revokes every session of the patient, the current one included, and pending login codes.
 * The patient's own actions (reset, reactivation, password change, logout) are not recorded in the history, like
 * activation and closing (access/lifecycle.ts).
 */
import { and, eq, isNull, ne } from 'drizzle-orm';
import type { Limits } from '../config/index.js';
import { type Db, schema } from '../db/index.js';
import type { Keyring } from '../vault/index.js';
import { activityInsert } from './activity.js';
import { moveProfile } from './lifecycle.js';
import { attemptSucceeded, throttleKey } from './login-throttle.js';
import { checkProvisional, findByIns, gated, newPasswordHash, PatientAccessError, readIdentity, reserve } from './patients.js';
import { profileStatesChanged } from './profile-lookup.js';
import {
  canRequestProvisionalCode,
  generateProvisionalCode,
  hashSecret,
  hashToken,
  provisionalCodeUse,
  reactivationTarget,
  verifySecret,
  type ProfileState,
} from './rules/index.js';

/** An e-mail to the patient's personal address (the shape of the notifier's Notice). No health data. */
export interface AccountNotice {
  to: string;
  subject: string;
  text: string;
}

export function provisionalCodeNotice(to: string, code: string, validityMinutes: number): AccountNotice {
  return {
    to,
    subject: 'Votre code provisoire Mon espace santé',
    text:
      `Bonjour,\r\n\r\nVous avez demandé un nouveau code provisoire. Votre code provisoire est : ${code}\r\n` +
      `Il est valable ${validityMinutes} minutes et ne sert qu'une fois. Avec votre date de naissance, il permet de choisir un nouveau mot de passe, ` +
      "de rouvrir votre profil ou de l'activer.\r\n\r\n" +
      "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de passe ne change pas.\r\n\r\n" +
      'Mon espace santé — ce message est envoyé automatiquement, merci de ne pas y répondre.\r\n',
  };
}

/** What the job of `requestProvisionalCode` produced: the e-mail to send, or null (no such profile, or it changed). */
export type CodeIssueJob = () => Promise<AccountNotice | null>;

/** Counts the request (or throws `throttled`); returns the job that issues the code, to run after answering. */
export async function requestProvisionalCode(db: Db, keyring: Keyring, limits: Limits, input: { ins: string }, client: string): Promise<CodeIssueJob> {
  await reserve(db, limits, throttleKey(client, input.ins));
  return () => issueRequestedCode(db, keyring, limits, input.ins);
}

async function issueRequestedCode(db: Db, keyring: Keyring, limits: Limits, ins: string): Promise<AccountNotice | null> {
  const p = await findByIns(db, ins);
  if (!p || !canRequestProvisionalCode(p.state)) return null;
  const code = generateProvisionalCode();
  const codeHash = await gated(limits, () => hashSecret(code), true);
  const expires = new Date(Date.now() + limits.requestedCodeValidityMs);
  const issued = await db.transaction(async (tx) => {
    const res = await tx
      .update(schema.patients)
      .set({ provisionalCodeHash: codeHash, provisionalCodeExpiresAt: expires, updatedAt: new Date() })
      .where(and(eq(schema.patients.id, p.id), eq(schema.patients.state, p.state)))
      .returning({ id: schema.patients.id });
    if (res.length !== 1) return false;
    await tx.execute(
      activityInsert(keyring, {
        patientId: p.id,
        kind: 'provisional-code-issued',
        actor: 'system',
        actorKind: 'system',
        detail: { validUntil: expires.toISOString(), source: 'patient-request' },
      }),
    );
    return true;
  });
  if (!issued) return null;
  return provisionalCodeNotice(readIdentity(keyring, p.ins, p.identity).email, code, Math.round(limits.requestedCodeValidityMs / 60_000));
}

/** Revokes the profile's sessions (all, or all but `keepTokenHash`) and pending login codes, in `tx`. */
async function revokeAccess(tx: Db, patientId: string, now: Date, keepTokenHash?: string): Promise<void> {
  const s = schema.sessions;
  await tx
    .update(s)
    .set({ revokedAt: now })
    .where(and(eq(s.patientId, patientId), isNull(s.revokedAt), ...(keepTokenHash ? [ne(s.tokenHash, keepTokenHash)] : [])));
  const lc = schema.loginChallenges;
  await tx
    .update(lc)
    .set({ usedAt: now })
    .where(and(eq(lc.patientId, patientId), isNull(lc.usedAt)));
}

/** Forgotten password: provisional code + birth date on an `active` profile, then a new password. */
export async function resetPassword(
  db: Db,
  keyring: Keyring,
  limits: Limits,
  input: { ins: string; provisionalCode: string; birthDate: string; password: string },
  client: string,
): Promise<void> {
  const refused = new PatientAccessError('reset-refused');
  const p = await checkProvisional(db, keyring, limits, input, client, (s) => provisionalCodeUse(s) === 'reset-password', refused);
  const passwordHash = await newPasswordHash(limits, input.password);
  const done = await db.transaction(async (tx) => {
    const now = new Date();
    const res = await tx
      .update(schema.patients)
      .set({ passwordHash, provisionalCodeHash: null, provisionalCodeExpiresAt: null, updatedAt: now })
      .where(and(eq(schema.patients.id, p.id), eq(schema.patients.state, 'active'), eq(schema.patients.provisionalCodeHash, p.provisionalCodeHash)))
      .returning({ id: schema.patients.id });
    if (res.length !== 1) return false;
    await revokeAccess(tx, p.id, now);
    return true;
  });
  if (!done) throw refused;
}

/** Reactivation after closure or opposition; returns the state the profile is now in. */
export async function reactivateProfile(
  db: Db,
  keyring: Keyring,
  limits: Limits,
  input: { ins: string; provisionalCode: string; birthDate: string },
  client: string,
): Promise<'created' | 'active'> {
  const refused = new PatientAccessError('reactivation-refused');
  const p = await checkProvisional(db, keyring, limits, input, client, (s) => provisionalCodeUse(s) === 'reactivate', refused);
  const from = p.state as ProfileState;
  const to = reactivationTarget(from, p.activatedAt !== null);
  if (!to) throw refused;
  const set = to === 'active' ? { provisionalCodeHash: null, provisionalCodeExpiresAt: null } : {};
  if (!(await moveProfile(db, { id: p.id, from, to }, set))) throw refused;
  profileStatesChanged();
  return to;
}

/** Changes the password of the session's patient; other sessions end. */
export async function changePassword(
  db: Db,
  limits: Limits,
  session: { patientId: string; token: string },
  input: { currentPassword: string; newPassword: string },
  client: string,
): Promise<void> {
  const refused = new PatientAccessError('password-refused');
  const [p] = await db.select().from(schema.patients).where(eq(schema.patients.id, session.patientId));
  if (!p || p.state !== 'active' || !p.passwordHash) throw refused;
  const key = throttleKey(client, p.ins);
  await reserve(db, limits, key);
  const stored = p.passwordHash;
  if (!(await gated(limits, () => verifySecret(input.currentPassword, stored)))) throw refused;
  await attemptSucceeded(db, key, 'undo');
  const passwordHash = await newPasswordHash(limits, input.newPassword);
  const done = await db.transaction(async (tx) => {
    const now = new Date();
    const res = await tx
      .update(schema.patients)
      .set({ passwordHash, updatedAt: now })
      .where(and(eq(schema.patients.id, p.id), eq(schema.patients.passwordHash, stored)))
      .returning({ id: schema.patients.id });
    if (res.length !== 1) return false;
    await revokeAccess(tx, p.id, now, hashToken(session.token));
    return true;
  });
  if (!done) throw refused;
}

/** "Log out everywhere": every session of the patient ends, this one included. */
export async function endAllSessions(db: Db, patientId: string): Promise<void> {
  await db.transaction(async (tx) => revokeAccess(tx, patientId, new Date()));
}
