// Pure rules of the organisation API: who a certificate subject names, what each kind of organisation may
// deposit, idempotency keys and what a retried deposit gets, and the parsing of a document's metadata.
import { describe, expect, it } from 'vitest';
import { isIdempotencyKey, organisationFromSubject } from '../../access/rules/organisation.js';
import { retriedDeposit } from '../../access/organisation-deposits.js';
import { parseDocumentFields } from '../../api/routes/organisation.js';
import { ORGANISATION_DEPOSIT_GRID, organisationMayDeposit } from '../../config/authorization-grid.js';

const INSURERS = new Set(['318003502400041']);

describe('organisationFromSubject', () => {
  it.each([
    [
      'FINESS establishment',
      { ou: ['1750048886'], o: 'SESAN' },
      { ok: true, organisation: { structureId: '1750048886', kind: 'establishment', finess: '750048886', name: 'SESAN' } },
    ],
    [
      'Corsica FINESS',
      { ou: ['12A0000017'], o: 'CH TEST' },
      { ok: true, organisation: { structureId: '12A0000017', kind: 'establishment', finess: '2A0000017', name: 'CH TEST' } },
    ],
    [
      'listed insurer SIRET',
      { ou: ['318003502400041'], o: 'CNAM' },
      { ok: true, organisation: { structureId: '318003502400041', kind: 'insurer', finess: null, name: 'CNAM' } },
    ],
    ['unlisted SIRET (a vendor, an operator)', { ou: ['344368557300034'], o: 'ENOVACOM' }, { ok: false, reason: 'not-health-organisation' }],
    ['no structure id', { ou: ['IGC-SANTE TEST'], o: 'X' }, { ok: false, reason: 'no-structure-id' }],
    ['no OU at all', { ou: [], o: 'X' }, { ok: false, reason: 'no-structure-id' }],
    ['two different ids', { ou: ['1750048886', '1990000011'], o: 'X' }, { ok: false, reason: 'ambiguous-structure-id' }],
    [
      'the same id twice',
      { ou: ['1750048886', ' 1750048886 '], o: 'X' },
      { ok: true, organisation: { structureId: '1750048886', kind: 'establishment', finess: '750048886', name: 'X' } },
    ],
    ['FINESS one digit short', { ou: ['175004888'], o: 'X' }, { ok: false, reason: 'no-structure-id' }],
    ['SIRET prefix on 9 digits', { ou: ['3123456789'], o: 'X' }, { ok: false, reason: 'no-structure-id' }],
    ['other prefix', { ou: ['21234567890'], o: 'X' }, { ok: false, reason: 'no-structure-id' }],
    [
      'no O: the id stands for the name',
      { ou: ['1750048886'], o: null },
      { ok: true, organisation: { structureId: '1750048886', kind: 'establishment', finess: '750048886', name: '1750048886' } },
    ],
  ] as const)('%s', (_name, subject, expected) => {
    expect(organisationFromSubject(subject, INSURERS)).toEqual(expected);
  });

  it('caps the name at 200 characters', () => {
    const r = organisationFromSubject({ ou: ['1750048886'], o: 'A'.repeat(500) }, INSURERS);
    expect(r.ok && r.organisation.name.length).toBe(200);
  });
});

describe('organisationMayDeposit (ORGANISATION_DEPOSIT_GRID)', () => {
  it.each([
    ['establishment', '11488-4', true], // CR de consultation
    ['establishment', '11490-0', true], // lettre de liaison
    ['establishment', '87273-9', true], // note de vaccination
    ['establishment', 'REMB', false], // the insurer's
    ['establishment', 'DOCPAT03', false], // the patient's
    ['establishment', null, true], // untyped: filed under the rubric chosen
    ['establishment', 'UNKNOWN-CODE', true],
    ['insurer', 'REMB', true],
    ['insurer', 'remb', true], // TRE_A05 is case-insensitive
    ['insurer', '11369-6', true],
    ['insurer', '87273-9', true],
    ['insurer', '11502-2', false],
    ['insurer', null, false],
    ['insurer', 'UNKNOWN-CODE', false],
    ['professional', '11488-4', false],
    ['__proto__', 'REMB', false],
  ] as const)('%s depositing %s → %s', (kind, typeCode, expected) => {
    expect(organisationMayDeposit(kind, { typeCode })).toBe(expected);
  });

  it('never lets an establishment write as the patient or the insurer', () => {
    expect(ORGANISATION_DEPOSIT_GRID.establishment.categories).not.toContain('document-patient');
    expect(ORGANISATION_DEPOSIT_GRID.establishment.categories).not.toContain('remboursement');
  });
});

describe('idempotency', () => {
  it.each([
    ['uuid', '3f1e8a4c-1b2d-4c5e-9f60-7a8b9c0d1e2f', true],
    ['hospital id', 'CHU/2026/PA-000123', true],
    ['one char', 'x', true],
    ['200 chars', 'k'.repeat(200), true],
    ['201 chars', 'k'.repeat(201), false],
    ['empty', '', false],
    ['space inside', 'a b', false],
    ['non-ASCII', 'clé', false],
    ['control', 'a\u0000b', false],
    ['number', 42, false],
  ] as const)('%s', (_n, key, expected) => {
    expect(isIdempotencyKey(key)).toBe(expected);
  });

  const prior = { documentId: 'd1', ins: '123456789012345', sha256: 'aa' };
  it('a retry of the same content for the same patient finds the first document', () => {
    expect(retriedDeposit(prior, { ins: ' 123456789012345 ', sha256: 'aa' })).toEqual({ status: 'already-filed', documentId: 'd1' });
  });
  it('the key with other content, or for another patient, is refused', () => {
    expect(retriedDeposit(prior, { ins: '123456789012345', sha256: 'bb' })).toEqual({ status: 'refused', reason: 'key-reused' });
    expect(retriedDeposit(prior, { ins: '223456789012345', sha256: 'aa' })).toEqual({ status: 'refused', reason: 'key-reused' });
  });
});

describe('parseDocumentFields', () => {
  it('reads JSON text or an object already parsed by the multipart layer', () => {
    const want = { key: 'k1', ins: '1', title: 'T', typeCode: null, rubric: 'imagerie', hiddenFromPatient: true, revealAt: null };
    expect(parseDocumentFields('{"key":"k1","ins":"1","title":" T ","rubric":"imagerie","hiddenFromPatient":true}')).toEqual(want);
    expect(parseDocumentFields({ key: 'k1', ins: '1', title: 'T', rubric: 'imagerie', hiddenFromPatient: true })).toEqual(want);
  });
  it.each([
    ['not JSON', '{key:'],
    ['an array', '[]'],
    ['no key', '{"ins":"1"}'],
    ['no ins', '{"key":"k"}'],
    ['ins too long', '{"key":"k","ins":"1234567890123456"}'],
    ['title not text', '{"key":"k","ins":"1","title":3}'],
    ['hidden not boolean', '{"key":"k","ins":"1","hiddenFromPatient":"true"}'],
    ['title too long', JSON.stringify({ key: 'k', ins: '1', title: 't'.repeat(301) })],
  ])('refuses %s', (_n, raw) => {
    expect(parseDocumentFields(raw)).toBeNull();
  });
});
