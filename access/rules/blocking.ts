// Whether a patient's blocks stop an actor (SPEC §6.4, issue 11 item 7): one pure function, `blockedBy`, behind
// every place that checks a block (decideAccess and its `blockRefusal`, used by a professional's listing, upload
// and change to their own document).
//
// Guarantees and decisions:
// - An actor is blocked when the patient blocked their RPPS ('professional'), or the establishment (FINESS) they
//   act for ('establishment'); when both are blocked, the named person is said first. A
//   FINESS block stops every professional who presents that FINESS and an establishment's own systems alike,
//   whatever their RPPS: it is how a patient says "nobody from this hospital".
// - Only exact identifiers match. A missing or empty FINESS never matches (a professional acting for no
//   establishment is judged on their RPPS alone); an RPPS is compared as given, so an empty RPPS is blocked only
//   if that exact value was blocked (the patient API accepts 11 digits only).
// - `parseFiness` reads what a patient typed: spaces, dots and dashes removed, Corsica's 2a/2b upper-cased, then
//   9 characters (digits, or 2A/2B first), the FINESS_PATTERN that professionals' tokens are checked against.

import { FINESS_PATTERN } from '../pro-auth/verify.js';

export interface PatientBlocks {
  blockedRpps: ReadonlySet<string>;
  blockedFiness: ReadonlySet<string>;
}

export interface BlockableActor {
  rpps?: string | null;
  /** The establishment the actor acts for, when known. */
  finess?: string | null;
}

export type Block = 'professional' | 'establishment';

/** Which of the patient's blocks stops this actor, or null when none does. */
export function blockedBy(blocks: PatientBlocks, actor: BlockableActor): Block | null {
  if (typeof actor.rpps === 'string' && blocks.blockedRpps.has(actor.rpps)) return 'professional';
  if (typeof actor.finess === 'string' && actor.finess !== '' && blocks.blockedFiness.has(actor.finess)) return 'establishment';
  return null;
}

/** The FINESS number a patient typed, normalised, or null when it is not one. */
export function parseFiness(raw: string): string | null {
  const finess = raw.replace(/[\s.-]+/g, '').toUpperCase();
  return FINESS_PATTERN.test(finess) ? finess : null;
}
