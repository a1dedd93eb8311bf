// What a CSV import row may change on a profile that already exists (SPEC §8 provisioning, §6.1 lifecycle).
//
// Guarantees and decisions:
// - Credentials are never touched: no password, no activation date, no session is created by an import.
// - Identity traits (names, birth date, e-mail) follow the file; the changed fields are listed so they can be
//   recorded in the patient's history.
// - The state follows the file only along a lifecycle transition (`canTransition`) that an operator's file may
//   make: never into `active` (activation belongs to the patient) and never out of `opposed` or `closed` (the
//   patient's choice; reopening is an explicit operator action, POST /v1/admin/patients/:ins/state). Any other
//   requested state is kept as it is and reported (`stateKept`). Re-importing yesterday's file therefore never
//   rewinds a live profile.
// - A provisional code in the row is issued only to a profile that was never activated and whose resulting state
//   still allows activation (pending, created); otherwise it is ignored and reported (`codeIgnored`).
// - Pure: no clock, no database; any runtime value is accepted (an unknown state is never changed).

import { canActivate, canTransition, isProfileState, type ProfileState } from './profile-state.js';
import type { PatientImportRow } from './patient-csv.js';

export interface ImportedIdentity {
  familyName: string;
  givenNames: string;
  birthDate: string;
  email: string;
}

export interface ExistingProfile {
  state: string;
  /** Ever activated by the patient (a password exists). */
  activated: boolean;
  identity: ImportedIdentity;
}

export interface ImportUpdatePlan {
  /** Identity fields whose value changes. */
  identityChanged: (keyof ImportedIdentity)[];
  /** The new state, or null to keep the current one. */
  stateTo: ProfileState | null;
  /** The file asked for another state that the rules refuse: the current state is kept. */
  stateKept: boolean;
  /** Store the row's provisional code (replacing the previous one). */
  issueCode: boolean;
  /** The row had a code that is not issued. */
  codeIgnored: boolean;
}

const IDENTITY_FIELDS: (keyof ImportedIdentity)[] = ['familyName', 'givenNames', 'birthDate', 'email'];

/** Whether an import file may move a profile from `from` to `to`. */
export function importMayTransition(from: string, to: string): boolean {
  if (!isProfileState(from) || !isProfileState(to)) return false;
  if (to === 'active' || from === 'opposed' || from === 'closed') return false;
  return canTransition(from, to);
}

export function planImportUpdate(existing: ExistingProfile, row: PatientImportRow): ImportUpdatePlan {
  const identityChanged = IDENTITY_FIELDS.filter((f) => existing.identity[f] !== row[f]);
  const wantsChange = row.state !== existing.state;
  const stateTo = wantsChange && importMayTransition(existing.state, row.state) ? row.state : null;
  const finalState = stateTo ?? existing.state;
  const hasCode = typeof row.provisionalCode === 'string' && row.provisionalCode !== '';
  const issueCode = hasCode && !existing.activated && isProfileState(finalState) && canActivate(finalState);
  return { identityChanged, stateTo, stateKept: wantsChange && stateTo === null, issueCode, codeIgnored: hasCode && !issueCode };
}
