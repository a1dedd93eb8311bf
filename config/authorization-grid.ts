// Authorization grid (SPEC §6.4): which documents of a patient's record each profession may read, as data.
//
// THIS IS A REPLACEABLE DEFAULT, NOT THE OFFICIAL MATRIX. The legal source is the "matrice d'habilitations",
// annex of the arrêté du 26 octobre 2023 (19 professions × 87 document types). It could not be read: the rows
// below follow DOMAIN.md (addendum §1, "Default configuration proposal") and the secondary sources cited there.
// Swap in the official matrix as soon as it is available (the CNAM/DMP PDF, or a one-off export of the MES CMS
// `matrice_professionnel_document` nodes: one (profession, type code) → consultation allowed per node): replace
// the rows and the type tables; `gridAllows` and its tests keep their meaning.
//
// Guarantees and decisions:
// - Fail closed everywhere. A '?' cell of DOMAIN.md is encoded `UNKNOWN`, which is 'N'. A profession code not in
//   the grid gets `DEFAULT_ROW`, which allows nothing (social and medico-social roles, pédicures, the
//   "professions à rôle" whose matrix is suspended, malformed codes). An unknown rubric allows nothing.
// - Lookup order in `gridAllows`: the profession's per-type exception for the document's type code, then the
//   category of that type code (`TYPE_CODES`), and only when the type code is absent or not in the table, the
//   categories the rubric may hold (`RUBRIC_CATEGORIES`). A document of unknown type filed under a rubric that
//   gathers several categories could be any of them, so every one must be allowed: "Ordonnances et soins" is
//   closed to a profession that may not read dispensations, and "Autres documents", where every unclassified
//   attachment lands (SPEC §5), is open only to a profession allowed every category.
// - Type codes are compared trimmed and upper-cased: TRE_A05 (the ANS codes such as `ATTEST-RESID`) is declared
//   case-insensitive, and `attest-resid` must not slip past the exception written `ATTEST-RESID`. LOINC codes
//   (digits and a dash) are unaffected. Profession codes and rubric ids are compared exactly.
// - Lookups go through Maps built from the tables, so a code such as `__proto__` or `constructor` is an
//   unknown code, never a property inherited from Object.prototype.
// - Profession codes are TRE_G15 codes as carried by the professional's token ("10", not "G15_10"): the caller
//   normalises; anything else is an unknown profession.

/** The 11 DMP document categories (arrêté du 26 octobre 2023; DOMAIN.md §5 and addendum §1). */
export const DOCUMENT_CATEGORIES = [
  'compte-rendu',
  'synthese',
  'imagerie',
  'prescription',
  'dispensation',
  'plan-de-soins',
  'traitement-administre',
  'certificat-declaration',
  'remboursement',
  'document-patient',
  'gestion',
] as const;

export type DocumentCategory = (typeof DOCUMENT_CATEGORIES)[number];

export type Cell = 'Y' | 'N';

/** A '?' of DOMAIN.md (not known from the sources): closed until the official matrix says otherwise. */
const UNKNOWN: Cell = 'N';

// --- Type codes ------------------------------------------------------------------------------------------
// XDS typeCode (JDV_J07-XdsTypeCode-CISIS: LOINC plus the ANS codes of TRE_A05), the common ones, with their
// DMP category. A code not listed here falls back to the rubric. Labels are those of the ANS value set.

export interface TypeCodeDef {
  readonly category: DocumentCategory;
  readonly label: string;
}

export const TYPE_CODES: Readonly<Record<string, TypeCodeDef>> = {
  // compte rendu
  '11488-4': { category: 'compte-rendu', label: 'CR ou fiche de consultation ou de visite' },
  '11490-0': { category: 'compte-rendu', label: "Lettre de liaison à la sortie d'un établissement de soins" },
  '11502-2': { category: 'compte-rendu', label: "CR d'examens biologiques" },
  '11505-5': { category: 'compte-rendu', label: "CR d'acte thérapeutique (autre)" },
  '11506-3': { category: 'compte-rendu', label: 'CR ou fiche de suivi de soins par auxiliaire médical' },
  '15507-7': { category: 'compte-rendu', label: 'CR de passage aux urgences' },
  '15508-5': { category: 'compte-rendu', label: "CR d'accouchement" },
  '18761-7': { category: 'compte-rendu', label: 'Note de transfert' },
  '34112-3': { category: 'compte-rendu', label: 'CR hospitalier (séjour)' },
  '34794-8': { category: 'compte-rendu', label: 'CR de réunion de concertation pluridisciplinaire' },
  '34874-8': { category: 'compte-rendu', label: 'CR opératoire' },
  '47420-5': { category: 'compte-rendu', label: 'CR de bilan fonctionnel' },
  '60568-3': { category: 'compte-rendu', label: "CR d'anatomie et de cytologie pathologiques" },
  '68817-6': { category: 'compte-rendu', label: "Bilan de santé et de prévention de l'enfant" },
  '75492-9': { category: 'compte-rendu', label: "CR d'acte diagnostique à visée préventive ou de dépistage" },
  '75496-0': { category: 'compte-rendu', label: "Demande d'acte de télémédecine" },
  '83901-9': { category: 'compte-rendu', label: 'Bilan psychologique' },
  '83981-1': {
    category: 'compte-rendu',
    label: "Lettre de liaison à la sortie d'une structure sociale ou médico-sociale",
  },
  '85208-7': { category: 'compte-rendu', label: 'CR de télémédecine' },
  '51969-4': { category: 'compte-rendu', label: 'CR de génétique moléculaire' },
  '59283-2': { category: 'compte-rendu', label: "CR d'examen de l'enfant" },
  '75482-0': { category: 'compte-rendu', label: "CR d'acte thérapeutique à visée préventive" },
  '96349-6': { category: 'compte-rendu', label: "Lettre d'adressage" },
  BIL_AUTO: { category: 'compte-rendu', label: "CR de bilan d'évaluation de la perte d'autonomie" },
  // synthèse
  '60591-5': { category: 'synthese', label: 'Synthèse médicale' },
  '34133-9': { category: 'synthese', label: "Synthèse d'épisode de soins" },
  SYNTH: { category: 'synthese', label: 'Synthèse' },
  '68599-0': { category: 'synthese', label: 'Synthèse psychiatrique' },
  '80788-3': { category: 'synthese', label: "Projet personnalisé d'accompagnement (résident d'EHPAD)" },
  // imagerie médicale
  '18748-4': { category: 'imagerie', label: "CR d'imagerie médicale" },
  'IMG-KOS': { category: 'imagerie', label: "Référence d'objets d'un examen d'imagerie" },
  // prescription
  '57828-6': { category: 'prescription', label: 'Prescription (autre)' },
  '57832-8': { category: 'prescription', label: 'Prescription de soins' },
  '57833-6': { category: 'prescription', label: 'Prescription de produits de santé' },
  '55115-0': { category: 'prescription', label: "Demande d'actes d'imagerie" },
  'PRESC-BIO': { category: 'prescription', label: "Prescription d'actes de biologie médicale" },
  'PRESC-KINE': { category: 'prescription', label: "Prescription d'actes de kinésithérapie" },
  'PRESC-INF': { category: 'prescription', label: "Prescription d'actes infirmiers" },
  'PRESC-AAT': { category: 'prescription', label: 'Prescription arrêt de travail' },
  // dispensation
  '60593-1': { category: 'dispensation', label: 'Dispensation médicamenteuse' },
  DISP_AUT: { category: 'dispensation', label: 'Dispensation (autre)' },
  // plan de soins / protocole de soins
  '18776-5': { category: 'plan-de-soins', label: 'Plan personnalisé de soins' },
  PROT_ALD: { category: 'plan-de-soins', label: 'Protocole de soins ALD' },
  '77604-7': { category: 'plan-de-soins', label: 'Planification thérapeutique' },
  // traitement administré
  '87273-9': { category: 'traitement-administre', label: 'Note de vaccination' },
  '11369-6': { category: 'traitement-administre', label: 'Historique des vaccinations' },
  '80565-5': { category: 'traitement-administre', label: "CR d'administration de médicaments" },
  // certificat, déclaration
  CERT_DECL: { category: 'certificat-declaration', label: 'Certificat, déclaration' },
  '89601-9': { category: 'certificat-declaration', label: 'Certificat médical' },
  '55751-2': { category: 'certificat-declaration', label: 'Déclaration de problème de santé publique' },
  // données de remboursement
  REMB: { category: 'remboursement', label: 'Données de remboursement' },
  // autres documents déposés par le patient
  DOCPAT01: { category: 'document-patient', label: 'Synthèse déposée par le patient' },
  DOCPAT02: { category: 'document-patient', label: 'Traitement ou document de soins déposé par le patient' },
  DOCPAT03: { category: 'document-patient', label: 'CR déposé par le patient' },
  DOCPAT04: { category: 'document-patient', label: 'Imagerie déposée par le patient' },
  DOCPAT05: { category: 'document-patient', label: 'CR de biologie déposé par le patient' },
  DOCPAT06: { category: 'document-patient', label: 'CR de prévention déposé par le patient' },
  DOCPAT07: { category: 'document-patient', label: 'Certificat déposé par le patient' },
  DOCPAT08: { category: 'document-patient', label: 'Profil médical Mon espace santé' },
  DOCPAT09: { category: 'document-patient', label: 'Document administratif déposé par le patient' },
  EXPPAT_1: { category: 'document-patient', label: 'Volontés et droits du patient' },
  EXPPAT_2: { category: 'document-patient', label: 'Autre document du patient' },
  EXPPAT_3: { category: 'document-patient', label: 'Directives anticipées' },
  // documents de gestion
  'ATTEST-RESID': { category: 'gestion', label: 'Attestation de résidence' },
  'ATTEST-DROITS-AM': { category: 'gestion', label: "Attestation de droits à l'assurance maladie" },
  'ATTEST-HEBGT': { category: 'gestion', label: "Attestation d'hébergement" },
  'ATTEST-ASS-COMPL': { category: 'gestion', label: 'Attestation assurance complémentaire' },
  'PIECE-IDENTITE': { category: 'gestion', label: "Copie pièce d'identité" },
  '51851-4': { category: 'gestion', label: 'Document administratif' },
};

// --- Rubrics ---------------------------------------------------------------------------------------------
// The categories a document filed under each MES rubric may belong to (DOMAIN.md §5 mapping; no official
// table exists) and with config/rubric-mapping.ts, which files documents by type code, else by class code, else
// under "Autres documents". The first one is the rubric's usual category (`categoryOfRubric`); `gridAllows`
// requires all of them when the type code is unknown.

/** The 10 rubric ids (SPEC §5); the test checks they are exactly the keys of vault/rubrics.ts. */
export const RUBRIC_IDS = [
  'ma-sante-en-resume',
  'ordonnances-et-soins',
  'imagerie',
  'resultats-de-biologie',
  'comptes-rendus',
  'prevention-et-depistage',
  'certificats-medicaux',
  'autres-documents',
  'pieces-administratives',
  'synthese-profil-medical',
] as const;

export type GridRubric = (typeof RUBRIC_IDS)[number];

export const RUBRIC_CATEGORIES: Readonly<Record<GridRubric, readonly DocumentCategory[]>> = {
  // Volet de synthèse médicale.
  'ma-sante-en-resume': ['synthese'],
  // Four categories share this rubric.
  'ordonnances-et-soins': ['prescription', 'dispensation', 'plan-de-soins', 'traitement-administre'],
  imagerie: ['imagerie'],
  // Biology reports are comptes rendus (11502-2).
  'resultats-de-biologie': ['compte-rendu'],
  'comptes-rendus': ['compte-rendu'],
  // CR of preventive and screening acts, bilans de prévention (synthèses), vaccinations (traitement
  // administré) and plans personnalisés de prévention, as config/rubric-mapping.ts files them.
  'prevention-et-depistage': ['compte-rendu', 'synthese', 'traitement-administre', 'plan-de-soins'],
  'certificats-medicaux': ['certificat-declaration'],
  // Patient uploads, but also every attachment that could not be classified (SPEC §5): its category is
  // genuinely unknown, so it could be any of the 11.
  'autres-documents': ['document-patient', ...DOCUMENT_CATEGORIES.filter((c) => c !== 'document-patient')],
  // Documents de gestion, and données de remboursement (class 60, config/rubric-mapping.ts).
  'pieces-administratives': ['gestion', 'remboursement'],
  // The medical profile the patient fills in MES (DOCPAT08): a synthesis written by the patient.
  'synthese-profil-medical': ['document-patient', 'synthese'],
};

// --- Professions -----------------------------------------------------------------------------------------

export interface ProfessionRow {
  readonly label: string;
  /** Allowed per category. */
  readonly categories: Readonly<Record<DocumentCategory, Cell>>;
  /** Per-type exceptions (normalised type code → cell), checked before the category. */
  readonly types: Readonly<Record<string, Cell>>;
}

function denied(codes: readonly string[]): Record<string, Cell> {
  return Object.fromEntries(codes.map((c) => [c, 'N' as const]));
}

// Types closed to chirurgiens-dentistes (information-dentaire.fr, DOMAIN.md addendum §1); reused for
// sages-femmes and masseurs-kinésithérapeutes ("same as 40" in the proposal, to be confirmed).
const NOT_FOR_DENTISTE = [
  '80788-3', // projet personnalisé d'accompagnement des résidents d'EHPAD
  '75496-0', // demande d'acte de télémédecine
  '83981-1', // lettre de liaison à la sortie d'une structure sociale ou médico-sociale
  '83901-9', // bilan psychologique
  '68599-0', // synthèse psychiatrique
];

// Types closed to infirmiers in the CR and synthèse categories (infirmiers.com, DOMAIN.md addendum §1); reused
// for pharmaciens ("same as 60", to be confirmed).
const NOT_FOR_INFIRMIER_CR_SYNTHESE = [
  '75496-0', // demande d'acte de télémédecine
  '68599-0', // synthèse psychiatrique
  '83901-9', // bilan psychologique
  '68817-6', // bilan de santé et de prévention de l'enfant
];

export const AUTHORIZATION_GRID: Readonly<Record<string, ProfessionRow>> = {
  // Confirmed (secondary source): every document except the attestation de résidence.
  '10': {
    label: 'Médecin',
    categories: {
      'compte-rendu': 'Y',
      synthese: 'Y',
      imagerie: 'Y',
      prescription: 'Y',
      dispensation: 'Y',
      'plan-de-soins': 'Y',
      'traitement-administre': 'Y',
      'certificat-declaration': 'Y',
      remboursement: 'Y',
      'document-patient': 'Y',
      gestion: 'Y',
    },
    types: denied(['ATTEST-RESID']),
  },
  // Inferred: "somewhat more restricted" than médecins; CR and synthèse exceptions as for infirmiers.
  '21': {
    label: 'Pharmacien',
    categories: {
      'compte-rendu': 'Y',
      synthese: 'Y',
      imagerie: 'Y',
      prescription: 'Y',
      dispensation: 'Y',
      'plan-de-soins': 'Y',
      'traitement-administre': 'Y',
      'certificat-declaration': UNKNOWN,
      remboursement: UNKNOWN,
      'document-patient': 'Y',
      gestion: UNKNOWN,
    },
    types: denied(NOT_FOR_INFIRMIER_CR_SYNTHESE),
  },
  // Inferred from the published list of exceptions.
  '40': {
    label: 'Chirurgien-dentiste',
    categories: {
      'compte-rendu': 'Y',
      synthese: 'Y',
      imagerie: 'Y',
      prescription: 'Y',
      dispensation: 'Y',
      'plan-de-soins': 'Y',
      'traitement-administre': 'Y',
      'certificat-declaration': UNKNOWN,
      remboursement: 'Y',
      'document-patient': 'Y',
      gestion: UNKNOWN,
    },
    types: denied(NOT_FOR_DENTISTE),
  },
  // Inferred: exceptions as for chirurgiens-dentistes.
  '50': {
    label: 'Sage-femme',
    categories: {
      'compte-rendu': 'Y',
      synthese: 'Y',
      imagerie: 'Y',
      prescription: 'Y',
      dispensation: 'Y',
      'plan-de-soins': 'Y',
      'traitement-administre': 'Y',
      'certificat-declaration': UNKNOWN,
      remboursement: UNKNOWN,
      'document-patient': 'Y',
      gestion: UNKNOWN,
    },
    types: denied(NOT_FOR_DENTISTE),
  },
  // Inferred from the published list of exceptions.
  '60': {
    label: 'Infirmier',
    categories: {
      'compte-rendu': 'Y',
      synthese: 'Y',
      imagerie: 'Y',
      prescription: 'Y',
      dispensation: 'Y',
      'plan-de-soins': 'Y',
      'traitement-administre': 'Y',
      // "Y* (− certificats médicaux)" in the proposal, but certificates are nearly all this category holds
      // (and the rubric is literally "Certificats médicaux"): closed at category level so that a certificate
      // without a type code stays closed, reopened for the one declaration type known not to be a certificate.
      'certificat-declaration': 'N',
      remboursement: UNKNOWN,
      'document-patient': 'Y',
      gestion: UNKNOWN,
    },
    types: {
      ...denied(NOT_FOR_INFIRMIER_CR_SYNTHESE),
      // Certificats médicaux are reserved to médecins, including the generic "Certificat, déclaration" code
      // and a certificate the patient uploaded.
      ...denied(['89601-9', 'CERT_DECL', 'DOCPAT07']),
      '55751-2': 'Y', // déclaration de problème de santé publique
    },
  },
  // Inferred: exceptions as for chirurgiens-dentistes; dispensation and traitement administré unknown.
  '70': {
    label: 'Masseur-kinésithérapeute',
    categories: {
      'compte-rendu': 'Y',
      synthese: 'Y',
      imagerie: 'Y',
      prescription: 'Y',
      dispensation: UNKNOWN,
      'plan-de-soins': 'Y',
      'traitement-administre': UNKNOWN,
      'certificat-declaration': UNKNOWN,
      remboursement: UNKNOWN,
      'document-patient': 'Y',
      gestion: UNKNOWN,
    },
    types: denied(NOT_FOR_DENTISTE),
  },
};

/** Any profession code not in the grid: nothing. */
export const DEFAULT_ROW: ProfessionRow = {
  label: 'Autre profession',
  categories: Object.fromEntries(DOCUMENT_CATEGORIES.map((c) => [c, 'N' as const])) as Record<DocumentCategory, Cell>,
  types: {},
};

// --- Lookups ---------------------------------------------------------------------------------------------

const ROWS = new Map(Object.entries(AUTHORIZATION_GRID));
const TYPE_CATEGORY = new Map(Object.entries(TYPE_CODES).map(([code, def]) => [code, def.category]));
const RUBRIC_CATEGORY_MAP = new Map<string, readonly DocumentCategory[]>(Object.entries(RUBRIC_CATEGORIES));
const ROW_TYPES = new Map<ProfessionRow, ReadonlyMap<string, Cell>>([...ROWS.values(), DEFAULT_ROW].map((row) => [row, new Map(Object.entries(row.types))]));

/** The row that applies to a profession code: its own, or `DEFAULT_ROW` (nothing). */
export function professionRow(profession: string): ProfessionRow {
  return (typeof profession === 'string' && ROWS.get(profession)) || DEFAULT_ROW;
}

/** The usual category of a rubric's documents; null for an unknown rubric. */
export function categoryOfRubric(rubric: string): DocumentCategory | null {
  return RUBRIC_CATEGORY_MAP.get(rubric)?.[0] ?? null;
}

/** Every category a document of unknown type filed under `rubric` may belong to; [] for an unknown rubric. */
export function categoriesOfRubric(rubric: string): readonly DocumentCategory[] {
  return RUBRIC_CATEGORY_MAP.get(rubric) ?? [];
}

/** Trimmed and upper-cased (TRE_A05 is case-insensitive); null when absent or blank. */
export function normaliseTypeCode(typeCode: string | null | undefined): string | null {
  if (typeof typeCode !== 'string') return null;
  const code = typeCode.trim().toUpperCase();
  return code === '' ? null : code;
}

/** The category of a known type code; null when the code is absent or not in `TYPE_CODES`. */
export function categoryOfTypeCode(typeCode: string | null | undefined): DocumentCategory | null {
  const code = normaliseTypeCode(typeCode);
  return (code !== null && TYPE_CATEGORY.get(code)) || null;
}

/** Whether the grid lets `profession` (TRE_G15 code) read the document. Fails closed on anything unknown. */
export function gridAllows(profession: string, doc: { typeCode?: string | null; rubric: string }): boolean {
  const row = professionRow(profession);
  const code = normaliseTypeCode(doc.typeCode);
  if (code !== null) {
    const exception = ROW_TYPES.get(row)?.get(code);
    if (exception !== undefined) return exception === 'Y';
    const category = TYPE_CATEGORY.get(code);
    if (category !== undefined) return row.categories[category] === 'Y';
  }
  const categories = categoriesOfRubric(doc.rubric);
  return categories.length > 0 && categories.every((c) => row.categories[c] === 'Y');
}

// --- Deposits by organisations -----------------------------------------------------------------------------
// What an organisation identified by its IGC-Santé certificate (SPEC §6.3) may put in a patient's record, as
// data. An establishment (FINESS) deposits care documents (pre-admission, discharge letters, results), never
// what only the patient or the insurer writes. The insurer (an operator-level client listed in
// INSURER_ORGANISATIONS) deposits what DOMAIN.md names as its own: "historique des soins" (reimbursement data)
// and vaccination certificates, and must say which by a type code. Who may then READ the document is the
// reading grid above, unchanged.

export type OrganisationKind = 'establishment' | 'insurer';

export interface OrganisationDepositRow {
  /** Categories the organisation may deposit, for a document whose type code is known. */
  readonly categories: readonly DocumentCategory[];
  /** Type codes allowed on their own, whatever their category says. */
  readonly typeCodes: readonly string[];
  /** Whether a document without a known type code may be filed (under the rubric the depositor chose). */
  readonly untyped: boolean;
}

export const ORGANISATION_DEPOSIT_GRID: Readonly<Record<OrganisationKind, OrganisationDepositRow>> = {
  establishment: {
    categories: DOCUMENT_CATEGORIES.filter((c) => c !== 'document-patient' && c !== 'remboursement'),
    typeCodes: [],
    untyped: true,
  },
  insurer: { categories: ['remboursement'], typeCodes: ['87273-9', '11369-6'], untyped: false },
};

/** Whether an organisation of `kind` may deposit the document. Fails closed on an unknown kind. */
export function organisationMayDeposit(kind: string, doc: { typeCode?: string | null }): boolean {
  const row = Object.prototype.hasOwnProperty.call(ORGANISATION_DEPOSIT_GRID, kind) ? ORGANISATION_DEPOSIT_GRID[kind as OrganisationKind] : null;
  if (!row) return false;
  const code = normaliseTypeCode(doc.typeCode);
  if (code !== null && row.typeCodes.includes(code)) return true;
  const category = code === null ? null : TYPE_CATEGORY.get(code);
  if (category === undefined || category === null) return row.untyped;
  return row.categories.includes(category);
}
