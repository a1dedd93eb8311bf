/**
 * The 10 rubrics of the patient's documents (SPEC §5). Until classification exists (IHE XDM metadata),
 * every attachment is filed under "Autres documents".
 */
export const RUBRICS = {
  'ma-sante-en-resume': 'Ma santé en résumé',
  'ordonnances-et-soins': 'Ordonnances et soins',
  imagerie: 'Imagerie',
  'resultats-de-biologie': 'Résultats de biologie',
  'comptes-rendus': 'Comptes rendus',
  'prevention-et-depistage': 'Prévention et dépistage',
  'certificats-medicaux': 'Certificats médicaux',
  'autres-documents': 'Autres documents',
  'pieces-administratives': 'Pièces administratives',
  'synthese-profil-medical': 'Synthèse du profil médical',
} as const;

export type RubricId = keyof typeof RUBRICS;
export const DEFAULT_RUBRIC: RubricId = 'autres-documents';

/** A known rubric id (an own key of RUBRICS: `constructor` or `__proto__` is none). */
export function isRubric(x: string): x is RubricId {
  return Object.prototype.hasOwnProperty.call(RUBRICS, x);
}
