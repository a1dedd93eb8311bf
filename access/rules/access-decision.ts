// A professional's access to one document of a patient's record (SPEC §6.4): one pure decision, with its
// reason for the patient's activity history (SPEC §6.5).
//
// Guarantees and decisions, in the order applied:
// 1. The patient blocked the professional → no ('blocked'). First of all, emergency included: SPEC §6.4 puts it
//    first, and a block is the patient's explicit, named refusal of that person, whereas the emergency setting
//    is a general consent; the SAMU or another professional can still act.
// 2. The professional is the document's author → yes ('author'); 3. the patient's administrator doctor (the
//    médecin traitant) → yes ('administrator'). Both hold even on masked documents and whatever the grid says.
//    An empty or missing RPPS never matches: a broken identity must not turn into authorship.
// 4. An emergency request (`emergency` present) is judged on its own and replaces steps 5–7, so that what the
//    patient reads is the mode the professional chose: refused unless the patient allowed emergency access
//    ('emergency-not-allowed', checked first: the patient's choice needs no further look), then refused unless
//    the written justification has at least 10 characters once trimmed and the ground is SAMU regulation or a
//    life at risk ('justification-required': a justification without either ground justifies nothing).
//    Granted, it bypasses masking and the grid ('emergency', with its ground; SAMU regulation wins when both are
//    set, being the specific access mode). Recording the request and its justification is the caller's job.
// 5. Document masked (by the patient or by its author), or all the patient's documents masked → no ('masked'). 6. The authorization grid
//    (config/authorization-grid.ts, fail closed) forbids it → no ('grid'). 7. Otherwise yes ('grid').
// - `hiddenFromPatient` is ignored on purpose: it hides a document from the patient until an announcement
//   consultation (SPEC §5), not from professionals.
// - Every decision carries a reason; `reasonText` gives the French wording shown in the activity history.

import { gridAllows } from '../../config/authorization-grid.js';

export interface AccessRequest {
  professional: { rpps: string; profession: string };
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
    administratorRpps: string | null;
    allMasked: boolean;
    /** The patient allowed emergency access. */
    emergencyAllowed: boolean;
  };
  emergency?: { justification: string; samuRegulator: boolean; lifeAtRisk: boolean } | null;
}

export type EmergencyGround = 'samu-regulator' | 'life-at-risk';

export type AccessDecision =
  | { allowed: true; reason: 'author' | 'administrator' | 'grid' }
  | { allowed: true; reason: 'emergency'; ground: EmergencyGround }
  | {
      allowed: false;
      reason: 'blocked' | 'masked' | 'grid' | 'emergency-not-allowed' | 'justification-required';
    };

/** Minimum length of the written emergency justification, after trimming. */
export const MIN_JUSTIFICATION_LENGTH = 10;

function sameRpps(a: string | null | undefined, b: string | null | undefined): boolean {
  return typeof a === 'string' && a !== '' && a === b;
}

export function decideAccess(req: AccessRequest): AccessDecision {
  const { professional, document: doc, patientSettings, emergency } = req;

  if (patientSettings.blockedRpps.has(professional.rpps)) return { allowed: false, reason: 'blocked' };
  if (sameRpps(doc.authorRpps, professional.rpps)) return { allowed: true, reason: 'author' };
  if (sameRpps(patientSettings.administratorRpps, professional.rpps)) {
    return { allowed: true, reason: 'administrator' };
  }

  if (emergency != null) {
    if (patientSettings.emergencyAllowed !== true) return { allowed: false, reason: 'emergency-not-allowed' };
    const written =
      typeof emergency.justification === 'string' &&
      emergency.justification.trim().length >= MIN_JUSTIFICATION_LENGTH;
    // `=== true`: only a real boolean grants; a truthy stray value from a caller does not.
    const ground: EmergencyGround | null =
      emergency.samuRegulator === true ? 'samu-regulator' : emergency.lifeAtRisk === true ? 'life-at-risk' : null;
    if (!written || ground === null) return { allowed: false, reason: 'justification-required' };
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
        return decision.ground === 'samu-regulator'
          ? "Accès d'urgence (régulateur SAMU)"
          : "Accès d'urgence (bris de glace : pronostic vital engagé)";
    }
  }
  switch (decision.reason) {
    case 'blocked':
      return 'Accès refusé : professionnel bloqué par le patient';
    case 'masked':
      return 'Accès refusé : document masqué aux professionnels';
    case 'grid':
      return "Accès refusé : ce type de document n'est pas accessible à cette profession";
    case 'emergency-not-allowed':
      return "Accès d'urgence refusé : non autorisé par le patient";
    case 'justification-required':
      return "Accès d'urgence refusé : justification écrite et motif d'urgence requis";
  }
}
