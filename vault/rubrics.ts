/** The 10 rubrics of the patient's documents: policy as data in config/rubrics.ts, seen from the vault. */
export { DEFAULT_RUBRIC, RUBRICS, isRubric, type RubricId } from '../config/index.js';
