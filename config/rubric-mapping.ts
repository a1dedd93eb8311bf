/**
 * Which Mon espace santé rubric a document received in an IHE XDM archive is filed under (SPEC §5).
 *
 * THIS IS CONFIGURATION, NOT A STANDARD. No official table from XDS codes to the 10 rubrics exists (DOMAIN.md
 * §5: "No official mapping table was found"); the one below is our inference from the 11 DMP categories and
 * the code labels, meant to be reviewed by product and replaced without touching code: `rubricFor` takes the
 * table as an optional argument, and RUBRIC_MAPPING can be swapped for another object of the same shape.
 *
 * Rule: the typeCode (precise document type) wins; else the classCode (broad DMP category); else
 * `autres-documents`. Keys are the bare codes (`nodeRepresentation`), without the coding scheme: the
 * vocabularies involved do not collide (LOINC always has a `-n` check digit, TRE_A03 class codes are two
 * digits, ANS complementary type codes are upper-case words), and XDM producers are not consistent about
 * the scheme OID they write.
 *
 * Sources for the codes: JDV_J07-XdsTypeCode-CISIS (typeCode value set, OID 1.2.250.1.213.1.1.5.471) and
 * TRE_A03-ClasseDocument / JDV_J57-ClassCode-DMP (classCode), ANS terminology server (interop.esante.gouv.fr).
 * Only codes whose rubric differs from their class's rubric, or that are common enough to be worth stating,
 * are listed by typeCode; everything else falls through to its classCode.
 *
 * Decisions worth knowing:
 * - 60591-5 "Synthèse médicale" (the VSM written by the GP) → `ma-sante-en-resume`: it is the professional's
 *   summary of the patient's health. `synthese-profil-medical` is kept for DOCPAT08 "Profil médical Mon
 *   espace santé", the summary generated from what the patient entered in the profile.
 * - Biology reports are "Compte rendu" by class (10) but have their own rubric: 11502-2 and other lab
 *   results are listed by typeCode so they do not fall through to `comptes-rendus`.
 * - Prescriptions of any kind, including requests for imaging or biology (55115-0, PRESC-BIO), go to
 *   `ordonnances-et-soins`: the patient takes them to the provider; they are not results.
 * - Vaccination and prevention/screening reports go to `prevention-et-depistage` although their class is
 *   "Compte rendu" or "Synthèse".
 * - Reimbursement data (class 60) and management documents (class 95) → `pieces-administratives`.
 */
import { isRubric, type RubricId } from './rubrics.js';

export interface RubricMapping {
  /** XDS typeCode (JDV_J07) → rubric. */
  readonly typeCodes: Readonly<Record<string, RubricId>>;
  /** XDS classCode (TRE_A03) → rubric. */
  readonly classCodes: Readonly<Record<string, RubricId>>;
}

export const RUBRIC_MAPPING: RubricMapping = Object.freeze({
  typeCodes: Object.freeze({
    // --- Résultats de biologie ------------------------------------------------------------------------
    '11502-2': 'resultats-de-biologie', // CR d'examens biologiques
    '51969-4': 'resultats-de-biologie', // CR de génétique moléculaire
    '96173-0': 'resultats-de-biologie', // Test rapide d'orientation diagnostique (TROD): a result the patient looks for there
    DOCPAT05: 'resultats-de-biologie', // CR de biologie déposé par le patient

    // --- Imagerie -------------------------------------------------------------------------------------
    '18748-4': 'imagerie', // CR d'imagerie médicale
    'IMG-KOS': 'imagerie', // Références d'objets d'un examen d'imagerie (DICOM KOS)
    '52040-3': 'imagerie', // Image d'illustration non DICOM
    DOCPAT04: 'imagerie', // Imagerie déposée par le patient

    // --- Ordonnances et soins (prescription, dispensation, plan de soins, traitement administré) ---------
    '57833-6': 'ordonnances-et-soins', // Prescription de produits de santé
    '57828-6': 'ordonnances-et-soins', // Prescription (autre)
    '57832-8': 'ordonnances-et-soins', // Prescription de soins
    '55115-0': 'ordonnances-et-soins', // Demande d'actes d'imagerie
    'PRESC-BIO': 'ordonnances-et-soins', // Prescription d'actes de biologie médicale
    'PRESC-KINE': 'ordonnances-et-soins',
    'PRESC-INF': 'ordonnances-et-soins',
    'PRESC-PEDI': 'ordonnances-et-soins',
    'PRESC-ORTHOPHO': 'ordonnances-et-soins',
    'PRESC-ORTHOPTIE': 'ordonnances-et-soins',
    'PRESC-AAT': 'ordonnances-et-soins', // Prescription d'arrêt de travail: a prescription in French law
    '75468-9': 'ordonnances-et-soins', // Renouvellement d'ordonnance par pharmacien correspondant
    '60593-1': 'ordonnances-et-soins', // Dispensation médicamenteuse
    DISP_AUT: 'ordonnances-et-soins', // Dispensation (autre)
    '18776-5': 'ordonnances-et-soins', // Plan personnalisé de soins
    PROT_ALD: 'ordonnances-et-soins', // Protocole de soins ALD
    '77604-7': 'ordonnances-et-soins', // Planification thérapeutique
    '80565-5': 'ordonnances-et-soins', // CR d'administration de médicaments (traitement administré)
    DOCPAT02: 'ordonnances-et-soins', // Traitement ou document de soins déposé par le patient

    // --- Comptes rendus -------------------------------------------------------------------------------
    '11488-4': 'comptes-rendus', // CR ou fiche de consultation ou de visite
    '11490-0': 'comptes-rendus', // Lettre de liaison à la sortie d'un établissement de soins
    '34112-3': 'comptes-rendus', // CR hospitalier (séjour)
    '34133-9': 'comptes-rendus', // Synthèse d'épisode de soins (class "Compte rendu" in ANS examples)
    '15507-7': 'comptes-rendus', // CR de passage aux urgences
    '15508-5': 'comptes-rendus', // CR d'accouchement
    '34874-8': 'comptes-rendus', // CR opératoire
    '34794-8': 'comptes-rendus', // CR de réunion de concertation pluridisciplinaire
    '60568-3': 'comptes-rendus', // CR d'anatomie et de cytologie pathologiques (not "biologie médicale")
    '18761-7': 'comptes-rendus', // Note de transfert / lettre de liaison à l'entrée
    '96349-6': 'comptes-rendus', // Lettre d'adressage
    '85208-7': 'comptes-rendus', // CR de télémédecine
    BIL_AUTO: 'comptes-rendus', // CR de bilan d'évaluation de la perte d'autonomie
    DOCPAT03: 'comptes-rendus', // CR déposé par le patient

    // --- Prévention et dépistage ----------------------------------------------------------------------
    '11369-6': 'prevention-et-depistage', // Historique des vaccinations
    '87273-9': 'prevention-et-depistage', // Note de vaccination
    '96874-3': 'prevention-et-depistage', // COVID-19 attestation de vaccination
    '68817-6': 'prevention-et-depistage', // Bilan de santé et de prévention de l'enfant
    '59283-2': 'prevention-et-depistage', // CR d'examen de l'enfant (examens obligatoires de l'enfant)
    '83869-8': 'prevention-et-depistage', // Plan personnalisé de prévention
    '75482-0': 'prevention-et-depistage', // CR d'acte thérapeutique à visée préventive
    '75492-9': 'prevention-et-depistage', // CR d'acte diagnostique à visée préventive ou de dépistage
    '28617-9': 'prevention-et-depistage', // Bilan bucco-dentaire (examen de prévention)
    DOCPAT06: 'prevention-et-depistage', // CR de prévention déposé par le patient

    // --- Certificats médicaux -------------------------------------------------------------------------
    CERT_DECL: 'certificats-medicaux', // Certificat, déclaration
    '89601-9': 'certificats-medicaux', // Certificat médical
    '55751-2': 'certificats-medicaux', // Déclaration de problème de santé publique
    DOCPAT07: 'certificats-medicaux', // Certificat déposé par le patient

    // --- Ma santé en résumé / Synthèse du profil médical ------------------------------------------------
    '60591-5': 'ma-sante-en-resume', // Synthèse médicale (VSM): see the header
    SYNTH: 'ma-sante-en-resume', // Synthèse
    DOCPAT01: 'ma-sante-en-resume', // Synthèse déposée par le patient
    DOCPAT08: 'synthese-profil-medical', // Profil médical Mon espace santé

    // --- Pièces administratives -----------------------------------------------------------------------
    '51851-4': 'pieces-administratives', // Document administratif
    '59284-0': 'pieces-administratives', // Attestation de consentement
    '86531-1': 'pieces-administratives', // Attestation de sortie
    'ATTEST-ASS-COMPL': 'pieces-administratives',
    'ATTEST-RESID': 'pieces-administratives',
    'ATTEST-HEBGT': 'pieces-administratives',
    'ATTEST-DROITS-AM': 'pieces-administratives',
    'AUTORIS-SOINS': 'pieces-administratives',
    'PIECE-IDENTITE': 'pieces-administratives',
    REMB: 'pieces-administratives', // Données de remboursement
    DOCPAT09: 'pieces-administratives', // Document administratif déposé par le patient

    // --- Autres documents -----------------------------------------------------------------------------
    EXPPAT_1: 'autres-documents', // Volontés et droits du patient
    EXPPAT_2: 'autres-documents', // Autre document du patient
    EXPPAT_3: 'autres-documents', // Directives anticipées
  }),
  classCodes: Object.freeze({
    '10': 'comptes-rendus', // Compte rendu
    '11': 'ma-sante-en-resume', // Synthèse
    '31': 'imagerie', // Imagerie médicale
    '42': 'ordonnances-et-soins', // Prescription
    '43': 'ordonnances-et-soins', // Dispensation
    '44': 'ordonnances-et-soins', // Plan de soins, protocole de soins
    '45': 'ordonnances-et-soins', // Traitement administré
    '52': 'certificats-medicaux', // Certificat, déclaration
    '60': 'pieces-administratives', // Données de remboursement
    '90': 'autres-documents', // Autres documents déposés par le patient
    '95': 'pieces-administratives', // Document de gestion
  }),
});

/** Rubric for an XDS document: typeCode first, then classCode, else `autres-documents`. Never throws. */
export function rubricFor(codes: { typeCode?: string | null; classCode?: string | null }, mapping: RubricMapping = RUBRIC_MAPPING): RubricId {
  const t = codes.typeCode?.trim();
  // Object.hasOwn: a code such as "constructor" must not reach Object.prototype.
  if (t && Object.hasOwn(mapping.typeCodes, t)) return mapping.typeCodes[t]!;
  const c = codes.classCode?.trim();
  if (c && Object.hasOwn(mapping.classCodes, c)) return mapping.classCodes[c]!;
  return 'autres-documents';
}

/**
 * The rubric a depositor asked for (a professional's upload, an organisation's deposit): the one named, when it is
 * a known rubric; else the one its type code maps to. Null when a rubric was named and is unknown (refused, never
 * filed elsewhere).
 */
export function chosenRubric(choice: { rubric?: string | null; typeCode?: string | null }): RubricId | null {
  const named = choice.rubric?.trim();
  if (named) return isRubric(named) ? named : null;
  return rubricFor({ typeCode: choice.typeCode ?? null });
}
