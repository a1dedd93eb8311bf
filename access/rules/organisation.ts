// Who an organisation certificate speaks for (SPEC §6.3: hospital systems with their organisation's IGC-Santé
// certificate), as a pure function of the certificate subject the TLS layer already verified.
//
// IGC-Santé puts the structure's national identifier in OU, with its type prefix (DOMAIN.md §4): '1' + FINESS
// (10 characters) or '3' + SIRET (15 characters). Decisions:
// - A FINESS-identified structure is a health establishment: it deposits as itself, within
//   ORGANISATION_DEPOSIT_GRID, and a patient's block of that FINESS applies to it.
// - A SIRET-identified structure is accepted only when the operator listed it as an insurer
//   (INSURER_ORGANISATIONS): a SIRET says nothing about care, and software vendors and operators hold SIRET
//   certificates too. Anything else is refused with its reason ('not-health-organisation').
// - Exactly one structure identifier: a subject with none, or with two different ones, is refused
//   ('no-structure-id', 'ambiguous-structure-id') rather than guessed.
// - The display name is the certificate's O (raison sociale), trimmed, at most 200 characters; never empty.

export type OrganisationIdentityKind = 'establishment' | 'insurer';

export interface OrganisationIdentity {
  /** The structure id as written in the certificate ('1' + FINESS or '3' + SIRET). */
  structureId: string;
  kind: OrganisationIdentityKind;
  /** The FINESS for an establishment; null for an insurer identified by SIRET. */
  finess: string | null;
  /** Raison sociale (O), for the patient's history and the document's author. */
  name: string;
}

export type OrganisationRefusal = 'no-structure-id' | 'ambiguous-structure-id' | 'not-health-organisation';

export type OrganisationResult = { ok: true; organisation: OrganisationIdentity } | { ok: false; reason: OrganisationRefusal };

const FINESS_ID = /^1((?:\d{2}|2A|2B)\d{7})$/;
const SIRET_ID = /^3(\d{14})$/;

/** The organisation a verified certificate subject (its OU and O values) identifies. */
export function organisationFromSubject(subject: { ou: readonly string[]; o: string | null }, insurers: ReadonlySet<string>): OrganisationResult {
  const ids = [...new Set(subject.ou.map((v) => v.trim()).filter((v) => FINESS_ID.test(v) || SIRET_ID.test(v)))];
  if (ids.length === 0) return { ok: false, reason: 'no-structure-id' };
  if (ids.length > 1) return { ok: false, reason: 'ambiguous-structure-id' };
  const structureId = ids[0]!;
  const name = (subject.o ?? '').trim().slice(0, 200) || structureId;
  const finess = FINESS_ID.exec(structureId)?.[1];
  if (finess !== undefined) return { ok: true, organisation: { structureId, kind: 'establishment', finess, name } };
  if (insurers.has(structureId)) return { ok: true, organisation: { structureId, kind: 'insurer', finess: null, name } };
  return { ok: false, reason: 'not-health-organisation' };
}

/** An idempotency key of a deposit: 1 to 200 printable ASCII characters (a UUID, a hospital's document id...). */
export function isIdempotencyKey(key: unknown): key is string {
  return typeof key === 'string' && /^[\x21-\x7e]{1,200}$/.test(key);
}
