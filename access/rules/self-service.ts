// Account self-service (issue 11 item 6): what a provisional code proves, state by state, and the code a patient
// may ask for by e-mail.
//
// Guarantees and decisions:
// - A provisional code (from the operator's letter or asked for by e-mail) plus the birth date proves the person;
//   what it then allows depends only on the profile's state (`provisionalCodeUse`): never activated (`pending`,
//   `created`) → activation; `active` → choosing a new password (the forgotten-password path); `opposed` or
//   `closed` → reactivation. Exactly one use per state, so one code never does two things.
// - Reactivation goes where the lifecycle sends a reopened profile (`reopenState`, checked with `canTransition`):
//   `active` when the patient had activated it (password and history kept), else `created`; the patient then
//   activates with the same code (it is kept for that case only).
// - A code may be asked for in any state (`canRequestProvisionalCode`): the answer is the same for every INS, known
//   or not, and the e-mail goes only to the address on file; a missing or unknown state never gets one.
// - `generateProvisionalCode`: 12 decimal digits from the CSPRNG (about 40 bits, easy to type; guessing is bounded
//   by the per (client, INS) throttle and the code's short validity).

import { randomInt } from 'node:crypto';
import { canTransition, isProfileState, reopenState, type ProfileState } from './profile-state.js';

export type ProvisionalCodeUse = 'activate' | 'reset-password' | 'reactivate';

export const PROVISIONAL_CODE_DIGITS = 12;

/** What a right provisional code and birth date allow for a profile in this state (null: nothing). */
export function provisionalCodeUse(state: ProfileState | undefined): ProvisionalCodeUse | null {
  switch (state) {
    case 'pending':
    case 'created':
      return 'activate';
    case 'active':
      return 'reset-password';
    case 'opposed':
    case 'closed':
      return 'reactivate';
    default:
      return null;
  }
}

/** Where reactivation takes an `opposed` or `closed` profile, or null when the lifecycle does not allow it. */
export function reactivationTarget(state: ProfileState, wasActivated: boolean): 'created' | 'active' | null {
  if (provisionalCodeUse(state) !== 'reactivate') return null;
  const to = reopenState(wasActivated);
  return canTransition(state, to) ? to : null;
}

export function canRequestProvisionalCode(state: unknown): boolean {
  return isProfileState(state) && provisionalCodeUse(state) !== null;
}

export function generateProvisionalCode(): string {
  let s = '';
  for (let i = 0; i < PROVISIONAL_CODE_DIGITS; i++) s += String(randomInt(0, 10));
  return s;
}
