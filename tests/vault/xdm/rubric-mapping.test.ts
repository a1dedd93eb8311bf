import { describe, expect, it } from 'vitest';
import { chosenRubric, RUBRIC_MAPPING, rubricFor, type RubricMapping } from '../../../config/rubric-mapping.js';
import { RUBRICS } from '../../../vault/rubrics.js';

describe('rubricFor', () => {
  it('maps the common CI-SIS type codes', () => {
    expect(rubricFor({ typeCode: '11502-2' })).toBe('resultats-de-biologie');
    expect(rubricFor({ typeCode: '18748-4' })).toBe('imagerie');
    expect(rubricFor({ typeCode: '57833-6' })).toBe('ordonnances-et-soins');
    expect(rubricFor({ typeCode: '57828-6' })).toBe('ordonnances-et-soins');
    for (const t of ['11490-0', '11488-4', '34112-3']) expect(rubricFor({ typeCode: t })).toBe('comptes-rendus');
    expect(rubricFor({ typeCode: '89601-9' })).toBe('certificats-medicaux');
    expect(rubricFor({ typeCode: '60591-5' })).toBe('ma-sante-en-resume');
    expect(rubricFor({ typeCode: 'DOCPAT08' })).toBe('synthese-profil-medical');
    expect(rubricFor({ typeCode: '87273-9' })).toBe('prevention-et-depistage');
    expect(rubricFor({ typeCode: '51851-4' })).toBe('pieces-administratives');
  });

  it('prefers the typeCode over the classCode', () => {
    // A biology report is class "Compte rendu" (10) but has its own rubric.
    expect(rubricFor({ typeCode: '11502-2', classCode: '10' })).toBe('resultats-de-biologie');
  });

  it('falls back to the classCode, then to autres-documents', () => {
    expect(rubricFor({ typeCode: 'NOT-A-CODE', classCode: '31' })).toBe('imagerie');
    expect(rubricFor({ classCode: '52' })).toBe('certificats-medicaux');
    expect(rubricFor({ classCode: '95' })).toBe('pieces-administratives');
    expect(rubricFor({ typeCode: 'NOT-A-CODE', classCode: 'NOT-A-CLASS' })).toBe('autres-documents');
    expect(rubricFor({})).toBe('autres-documents');
    expect(rubricFor({ typeCode: null, classCode: null })).toBe('autres-documents');
  });

  it('never resolves a code through Object.prototype', () => {
    for (const k of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(rubricFor({ typeCode: k, classCode: k })).toBe('autres-documents');
    }
  });

  it('only maps to the 10 rubric ids of SPEC §5', () => {
    const ids = new Set(Object.keys(RUBRICS));
    expect(ids.size).toBe(10);
    for (const r of [...Object.values(RUBRIC_MAPPING.typeCodes), ...Object.values(RUBRIC_MAPPING.classCodes)]) expect(ids.has(r)).toBe(true);
    // Every DMP class code has a rubric.
    expect(Object.keys(RUBRIC_MAPPING.classCodes).sort()).toEqual(['10', '11', '31', '42', '43', '44', '45', '52', '60', '90', '95']);
  });

  it('takes a replacement table', () => {
    const custom: RubricMapping = { typeCodes: { '60591-5': 'synthese-profil-medical' }, classCodes: {} };
    expect(rubricFor({ typeCode: '60591-5' }, custom)).toBe('synthese-profil-medical');
    expect(rubricFor({ typeCode: '11502-2', classCode: '10' }, custom)).toBe('autres-documents');
  });
});

describe('chosenRubric (a professional upload, an organisation deposit)', () => {
  it('takes the rubric named when it is known, else the type code’s, and refuses an unknown name', () => {
    expect(chosenRubric({ rubric: 'imagerie', typeCode: '11502-2' })).toBe('imagerie');
    expect(chosenRubric({ rubric: '  imagerie ', typeCode: null })).toBe('imagerie');
    expect(chosenRubric({ rubric: null, typeCode: '11502-2' })).toBe('resultats-de-biologie');
    expect(chosenRubric({ rubric: '', typeCode: 'REMB' })).toBe('pieces-administratives');
    expect(chosenRubric({ typeCode: null })).toBe('autres-documents');
    expect(chosenRubric({ rubric: 'nulle-part', typeCode: '11502-2' })).toBeNull();
    expect(chosenRubric({ rubric: 'constructor' })).toBeNull();
  });
});
