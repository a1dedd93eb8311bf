// Patient profile lifecycle (SPEC §6.1) and what it means for incoming mail (SPEC §2.3).
//
// Guarantees and decisions:
// - `mailAcceptance` gives 'unknown' for a missing profile, `pending` and `opposed` alike, so the SMTP answer
//   cannot reveal that a person exists, is in the opposition window, or opposed. Only `created` (opened by
//   default when the window ended: it keeps mail until the patient activates it) and `active` accept mail.
//   `closed` is distinguishable on purpose: MES bounces say "messagerie fermée".
// - Transitions: pending → created | active | opposed | closed; created → active | closed; active → closed;
//   opposed | closed → created | active (reopening). `created → opposed` is refused: opposition belongs to the
//   6-week window, afterwards the patient closes the profile instead. A same-state "transition" is false, so
//   callers can tell a no-op from a change. Reopening lands in `active` when the patient had ever activated the
//   profile (the account, password and history exist) and in `created` otherwise (`reopenState`).
// - Sessions: only an `active` profile may hold a live patient session (`canHoldSession`); every state change
//   revokes the profile's sessions (access/lifecycle.ts), and opening a session re-checks the state.
// - Every function accepts any runtime value: an unknown string is never a valid state, never accepts mail
//   (it is 'unknown'), and never transitions.

import { PROFILE_STATES, type ProfileState } from '../../db/index.js';

export { PROFILE_STATES, type ProfileState };

export type MailAcceptance = 'accept' | 'unknown' | 'closed';

export function isProfileState(x: unknown): x is ProfileState {
  return typeof x === 'string' && (PROFILE_STATES as readonly string[]).includes(x);
}

/** The states that accept mail (from `mailAcceptance`), for SQL that re-checks them atomically. */
export function mailAcceptingStates(): ProfileState[] {
  return PROFILE_STATES.filter((s) => mailAcceptance(s) === 'accept');
}

export function mailAcceptance(state: ProfileState | undefined): MailAcceptance {
  switch (state) {
    case 'created':
    case 'active':
      return 'accept';
    case 'closed':
      return 'closed';
    default:
      // undefined, pending, opposed and anything unexpected: indistinguishable from "no such patient".
      return 'unknown';
  }
}

const TRANSITIONS: Readonly<Record<ProfileState, readonly ProfileState[]>> = {
  pending: ['created', 'active', 'opposed', 'closed'],
  created: ['active', 'closed'],
  active: ['closed'],
  opposed: ['created', 'active'],
  closed: ['created', 'active'],
};

export function canTransition(from: ProfileState, to: ProfileState): boolean {
  if (!isProfileState(from) || !isProfileState(to)) return false;
  return TRANSITIONS[from].includes(to);
}

/** The states from which a profile may move to `to`, for SQL that checks the transition atomically with the change. */
export function statesThatMayBecome(to: ProfileState): ProfileState[] {
  return PROFILE_STATES.filter((s) => canTransition(s, to));
}

/** Target state when an `opposed` or `closed` profile is reopened. */
export function reopenState(wasActivated: boolean): 'created' | 'active' {
  return wasActivated ? 'active' : 'created';
}

/** The patient may activate with the provisional code only before the first activation. */
export function canActivate(state: ProfileState): boolean {
  return state === 'pending' || state === 'created';
}

/** Whether a profile in this state may use a patient session (login needs `active`; any other state ends them). */
export function canHoldSession(state: ProfileState | undefined): boolean {
  return state === 'active';
}

/** The states of `canHoldSession`, for SQL that checks them atomically with the session lookup. */
export function sessionStates(): ProfileState[] {
  return PROFILE_STATES.filter((s) => canHoldSession(s));
}
