// A professional's access to one document of a patient's record (SPEC §6.4): one pure decision, with its
// reason for the patient's activity history (SPEC §6.5).
//
// Guarantees and decisions, in the order applied:
// 1. The patient blocked the professional, by RPPS or by the establishment (FINESS) they act for → no
//    ('blocked', saying which block: `blockedBy` in ./blocking.ts, `blockRefusal` here, which every other block
//    check calls too). First of all, emergency included: SPEC §6.4 puts it first, and a block is the patient's
//    explicit, named refusal of that person or establishment, whereas the emergency settings are a general
//    consent; the SAMU or another professional can still act.
// 2. The professional is the document's author → yes ('author'); 3. the patient's administrator doctor (the
//    médecin traitant) → yes ('administrator'). Both hold even on masked documents and whatever the grid says.
//    An empty or missing RPPS never matches: a broken identity must not turn into authorship.
// 4. An emergency request (`emergency` present) is judged on its own and replaces steps 5–7, so that what the
//    patient reads is the mode the professional chose. Its mode is SAMU regulation when `samuRegulator` is set
//    (the specific access mode wins when both grounds are set), else "bris de glace" when `lifeAtRisk` is set.
//    The two are separate settings, each refusable (DOMAIN.md §6): a SAMU request needs `samuRegulatorAllowed`,
//    a bris de glace request `breakGlassAllowed`, and the one the mode needs is checked first, the patient's
//    choice needing no further look ('emergency-not-allowed', with the refused `ground`). A request with neither
//    ground is refused as 'emergency-not-allowed' (ground null) when the patient refused both, since no
//    justification would help, else 'justification-required'. Then the written justification must have at least
//    10 characters once trimmed ('justification-required'). Granted, it bypasses masking and the grid
//    ('emergency', with its ground). A mode the patient refused never falls back to the other one: the
//    professional asks again in the mode that applies. Recording the request and its justification is the
//    caller's job.
// 5. Document masked (by the patient or by its author), or all the patient's documents masked → no ('masked'). 6. The authorization grid
//    (config/authorization-grid.ts, fail closed) forbids it → no ('grid'). 7. Otherwise yes ('grid').
// - Every setting counts only when it is exactly `true` (allowed) or `false` (not masked): a stray value fails
//   closed.
// - `hiddenFromPatient` is ignored on purpose: it hides a document from the patient until an announcement
//   consultation (SPEC §5), not from professionals.
// - Every decision carries a reason; `reasonText` gives the French wording shown in the activity history, and
//   says which emergency setting refused a request.

import { gridAllows } from '../../config/index.js';
import { blockedBy, type Block, type BlockableActor, type PatientBlocks } from './blocking.js';

export interface AccessRequest {
  professional: { rpps: string; profession: string; /** FINESS of the establishment they act for, if any. */ finess?: string | null };
  document: {
    authorRpps: string | null;
    /** Masked by the patient. */
    masked: boolean;
    /** Masked by its author; kept apart so that neither can lift the other's mask. */
    maskedByAuthor: boolean;
    typeCode?: string | null;
    rubric: string;
    hiddenFromPatient?: boolean;
  };
  patientSettings: {
    blockedRpps: ReadonlySet<string>;
    /** Establishments (FINESS) the patient blocked. */
    blockedFiness: ReadonlySet<string>;
    administratorRpps: string | null;
    allMasked: boolean;
    /** The patient allows access by the SAMU regulator. */
    samuRegulatorAllowed: boolean;
    /** The patient allows "bris de glace" (any professional, life at risk). */
    breakGlassAllowed: boolean;
  };
  emergency?: { justification: string; samuRegulator: boolean; lifeAtRisk: boolean } | null;
}

export type EmergencyGround = 'samu-regulator' | 'life-at-risk';

export type AccessDecision =
  | { allowed: true; reason: 'author' | 'administrator' | 'grid' }
  | { allowed: true; reason: 'emergency'; ground: EmergencyGround }
  | { allowed: false; reason: 'blocked'; by: Block }
  | { allowed: false; reason: 'masked' | 'grid' | 'justification-required' }
  /** `ground`: the mode the patient refused; null when the request named none and the patient refused both. */
  | { allowed: false; reason: 'emergency-not-allowed'; ground: EmergencyGround | null };

/** Minimum length of the written emergency justification, after trimming. */
export const MIN_JUSTIFICATION_LENGTH = 10;

function sameRpps(a: string | null | undefined, b: string | null | undefined): boolean {
  return typeof a === 'string' && a !== '' && a === b;
}

/**
 * Step 1 alone, for the callers that refuse a blocked professional before any document is looked at (listing,
 * upload, changes to their own documents): the refusal, or null when no block applies.
 */
export function blockRefusal(settings: PatientBlocks, professional: BlockableActor): Extract<AccessDecision, { reason: 'blocked' }> | null {
  const by = blockedBy(settings, professional);
  return by ? { allowed: false, reason: 'blocked', by } : null;
}

export function decideAccess(req: AccessRequest): AccessDecision {
  const { professional, document: doc, patientSettings, emergency } = req;

  const blocked = blockRefusal(patientSettings, professional);
  if (blocked) return blocked;
  if (sameRpps(doc.authorRpps, professional.rpps)) return { allowed: true, reason: 'author' };
  if (sameRpps(patientSettings.administratorRpps, professional.rpps)) {
    return { allowed: true, reason: 'administrator' };
  }

  if (emergency != null) {
    // `=== true`: only a real boolean grants; a truthy stray value from a caller does not.
    const ground: EmergencyGround | null = emergency.samuRegulator === true ? 'samu-regulator' : emergency.lifeAtRisk === true ? 'life-at-risk' : null;
    const samuAllowed = patientSettings.samuRegulatorAllowed === true;
    const breakGlassAllowed = patientSettings.breakGlassAllowed === true;
    if (ground === null) {
      return samuAllowed || breakGlassAllowed
        ? { allowed: false, reason: 'justification-required' }
        : { allowed: false, reason: 'emergency-not-allowed', ground: null };
    }
    if (!(ground === 'samu-regulator' ? samuAllowed : breakGlassAllowed)) return { allowed: false, reason: 'emergency-not-allowed', ground };
    const written = typeof emergency.justification === 'string' && emergency.justification.trim().length >= MIN_JUSTIFICATION_LENGTH;
    if (!written) return { allowed: false, reason: 'justification-required' };
    return { allowed: true, reason: 'emergency', ground };
  }

  // `!== false`: anything but an explicit "not masked" counts as masked.
  if (doc.masked !== false || doc.maskedByAuthor !== false || patientSettings.allMasked !== false) return { allowed: false, reason: 'masked' };
  if (!gridAllows(professional.profession, doc)) return { allowed: false, reason: 'grid' };
  return { allowed: true, reason: 'grid' };
}

/** The reason in French, for the patient's activity history. */
export function reasonText(decision: AccessDecision): string {
  if (decision.allowed) {
    switch (decision.reason) {
      case 'author':
        return 'Accès autorisé : auteur du document';
      case 'administrator':
        return 'Accès autorisé : médecin traitant (administrateur du profil)';
      case 'grid':
        return "Accès autorisé selon la matrice d'habilitations";
      case 'emergency':
        return decision.ground === 'samu-regulator' ? "Accès d'urgence (régulateur SAMU)" : "Accès d'urgence (bris de glace : pronostic vital engagé)";
    }
  }
  switch (decision.reason) {
    case 'blocked':
      return decision.by === 'establishment' ? 'Accès refusé : établissement bloqué par le patient' : 'Accès refusé : professionnel bloqué par le patient';
    case 'masked':
      return 'Accès refusé : document masqué aux professionnels';
    case 'grid':
      return "Accès refusé : ce type de document n'est pas accessible à cette profession";
    case 'emergency-not-allowed':
      return decision.ground === 'samu-regulator'
        ? "Accès d'urgence refusé : le patient n'autorise pas l'accès par le médecin régulateur du SAMU"
        : decision.ground === 'life-at-risk'
          ? "Accès d'urgence refusé : le patient n'autorise pas le bris de glace"
          : "Accès d'urgence refusé : non autorisé par le patient";
    case 'justification-required':
      return "Accès d'urgence refusé : justification écrite et motif d'urgence requis";
  }
}
