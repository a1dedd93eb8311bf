import { describe, expect, it } from 'vitest';
import { computeInsKey, insAddress, isCanonicalIns, makeTestIns, parseIns, parsePatientAddress } from '../../access/rules/index.js';

const PATIENT_DOMAIN = 'patient.mssante.fr';

describe('computeInsKey', () => {
  it.each([
    // CNAM nir-validation NirKeySpec.php
    ['2550814168025', 38],
    ['2940375120005', 91],
    ['1531245007231', 60],
    ['284052A321025', 52],
    ['284052a321025', 52],
    ['1234567890123', 11],
    ['2B34567890123', 78],
    // NirValidatorSpec.php valid NIRs
    ['284052B321025', 79],
    ['2840588321025', 32],
    // ANS published test INS 279035121518989 (key valid)
    ['2790351215189', 89],
  ])('%s → %i', (first13, key) => {
    expect(computeInsKey(first13)).toBe(key);
  });

  it('returns keys in 1..97, including 97 when N is a multiple of 97', () => {
    const multiple = (97n * 100_000_000_000n).toString();
    expect(multiple).toHaveLength(13);
    expect(computeInsKey(multiple)).toBe(97);
  });

  it.each(['', '255081416802', '25508141680253', '2550814168O25', '2 55 08 14 168 025', '255081416802.'])('throws RangeError on %j', (bad) => {
    expect(() => computeInsKey(bad)).toThrow(RangeError);
  });
});

describe('parseIns', () => {
  it.each([
    ['255081416802538', '255081416802538'], // CNAM vector
    ['284058832102532', '284058832102532'], // CNAM vector
    ['279035121518989', '279035121518989'], // ANS published test INS: key is valid
    ['153124500723160', '153124500723160'], // male
    ['284052A32102552', '284052A32102552'], // Corsica 2A
    ['284052a32102552', '284052A32102552'], // Corsica 2a → canonical upper case
    ['284052B32102579', '284052B32102579'], // Corsica 2B
    ['284052b32102579', '284052B32102579'], // Corsica 2b
  ])('accepts %s as %s', (input, canonical) => {
    expect(parseIns(input)).toEqual({ ok: true, ins: canonical, kind: 'NIR' });
  });

  it.each([20, 42, 50, 99])('accepts unknown-month code %i', (month) => {
    const first13 = `184${String(month).padStart(2, '0')}75123456`;
    const ins = first13 + String(computeInsKey(first13)).padStart(2, '0');
    expect(parseIns(ins)).toEqual({ ok: true, ins, kind: 'NIR' });
  });

  it.each(['00', '13', '15', '19'])('rejects month %s as syntax even with a matching key', (month) => {
    const first13 = `184${month}75123456`;
    const ins = first13 + String(computeInsKey(first13)).padStart(2, '0');
    expect(parseIns(ins)).toEqual({ ok: false, reason: 'syntax' });
  });

  it.each([
    ['255081416802539', 'key one too high'],
    ['255081416802537', 'key one too low'],
    ['284052A32102579', '2A with the 2B key'],
    ['284052B32102552', '2B with the 2A key'],
    ['288091234567823', 'HL7 France example with invalid key (expected 94)'],
    ['253097812634581', 'CI-SIS example with invalid key (expected 43)'],
    ['255081416802638', 'one digit of the body changed'],
  ])('rejects %s as key (%s)', (input) => {
    expect(parseIns(input)).toEqual({ ok: false, reason: 'key' });
  });

  it.each([
    ['', 'empty'],
    ['25508141680253', '14 characters'],
    ['2550814168025380', '16 characters'],
    ['2550814168025', '13 characters without key'],
    [' 255081416802538', 'leading space'],
    ['255081416802538 ', 'trailing space'],
    ['2 55 08 14 168 025 38', 'spaced'],
    ['2550814168025\t38', 'tab'],
    ['25508141680\n2538', 'line feed'],
  ])('rejects %j as syntax (%s)', (input) => {
    expect(parseIns(input)).toEqual({ ok: false, reason: 'syntax' });
  });

  it.each([
    ['2.55.08.14.168.025.38', 'dots'],
    ['25508141680.538', 'dot inside, 15 chars'],
    ['355081416802538', 'sex digit 3'],
    ['755081416802538', 'sex digit 7 (NNP)'],
    ['555081416802538', 'sex digit 5 (MIG)'],
    ['0550814168025xx', 'letters in key'],
    ['2A5081416802538', 'letters in year'],
    ['25508A416802538', 'letter in département first position'],
    ['284052C32102552', '2C is not a département'],
    ['284053A32102552', '3A is not a département'],
    ['284052A3210A552', 'letter in order number'],
    ['28405AA32102552', 'AA département'],
    ['２55081416802538', 'full-width digit'],
    ['255081416802500', 'key 00'],
    ['255081416802598', 'key 98'],
    ['255081416802599', 'key 99'],
    ['255081416802538@', 'trailing @'],
  ])('rejects %s as syntax (%s)', (input) => {
    expect(parseIns(input)).toEqual({ ok: false, reason: 'syntax' });
  });

  it('does not throw on non-string input at run time', () => {
    expect(parseIns(undefined as unknown as string)).toEqual({ ok: false, reason: 'syntax' });
    expect(parseIns(255081416802538 as unknown as string)).toEqual({ ok: false, reason: 'syntax' });
  });

  it('isCanonicalIns is true only for valid upper-case matricules', () => {
    expect(isCanonicalIns('284052A32102552')).toBe(true);
    expect(isCanonicalIns('284052a32102552')).toBe(false);
    expect(isCanonicalIns('255081416802539')).toBe(false);
  });
});

describe('makeTestIns', () => {
  const seeds = Array.from({ length: 1000 }, (_, i) => i);
  const values = seeds.map((s) => makeTestIns(s));

  it('produces 1000 distinct, valid, canonical INS', () => {
    expect(new Set(values).size).toBe(1000);
    for (const v of values) {
      expect(parseIns(v), v).toEqual({ ok: true, ins: v, kind: 'NIR' });
    }
  });

  it('is deterministic', () => {
    expect(makeTestIns(42)).toBe(makeTestIns(42));
    expect(seeds.slice(0, 50).map((s) => makeTestIns(s))).toEqual(values.slice(0, 50));
  });

  it('varies sex, year, month and département, including unknown months and both Corsican codes', () => {
    const sexes = new Set(values.map((v) => v[0]));
    const years = new Set(values.map((v) => v.slice(1, 3)));
    const months = values.map((v) => Number(v.slice(3, 5)));
    const depts = values.map((v) => v.slice(5, 7));
    expect(sexes).toEqual(new Set(['1', '2']));
    expect(years.size).toBeGreaterThan(50);
    expect(months.filter((m) => m >= 20).length).toBeGreaterThanOrEqual(150);
    expect(new Set(months.filter((m) => m <= 12)).size).toBe(12);
    expect(depts.filter((d) => d === '2A').length).toBeGreaterThan(50);
    expect(depts.filter((d) => d === '2B').length).toBeGreaterThan(50);
    expect(new Set(depts).size).toBeGreaterThan(50);
  });

  it('is pairwise distinct over the whole documented range 0 .. 989 009', () => {
    const all = new Set<string>();
    for (let seed = 0; seed < 989_010; seed++) all.add(makeTestIns(seed));
    expect(all.size).toBe(989_010);
  });

  it('stays distinct and valid for large seeds', () => {
    const big = [989_007, 989_008, 989_009, 123_456, 654_321].map((s) => makeTestIns(s));
    expect(new Set(big).size).toBe(big.length);
    for (const v of big) expect(parseIns(v).ok).toBe(true);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('throws RangeError on seed %s', (seed) => {
    expect(() => makeTestIns(seed)).toThrow(RangeError);
  });
});

describe('insAddress', () => {
  it('builds a canonical address', () => {
    expect(insAddress('284052a32102552', 'Patient.MSSante.fr')).toBe('284052A32102552@patient.mssante.fr');
  });

  it('round-trips through parsePatientAddress', () => {
    const ins = makeTestIns(7);
    expect(parsePatientAddress(insAddress(ins, PATIENT_DOMAIN), PATIENT_DOMAIN)).toEqual({
      kind: 'patient',
      result: { ok: true, ins, kind: 'NIR' },
    });
  });

  it.each([
    ['255081416802539', PATIENT_DOMAIN],
    ['not-an-ins', PATIENT_DOMAIN],
    ['255081416802538', ''],
    ['255081416802538', 'a@b'],
  ])('throws RangeError for (%j, %j)', (ins, domain) => {
    expect(() => insAddress(ins, domain)).toThrow(RangeError);
  });
});

describe('parsePatientAddress', () => {
  it.each([
    ['255081416802538@patient.mssante.fr', { ok: true, ins: '255081416802538', kind: 'NIR' }],
    ['255081416802538@PATIENT.MSSANTE.FR', { ok: true, ins: '255081416802538', kind: 'NIR' }],
    ['284052b32102579@Patient.Mssante.Fr', { ok: true, ins: '284052B32102579', kind: 'NIR' }],
    ['255081416802539@patient.mssante.fr', { ok: false, reason: 'key' }],
    ['dr.house@patient.mssante.fr', { ok: false, reason: 'syntax' }],
    ['@patient.mssante.fr', { ok: false, reason: 'syntax' }],
    ['"255081416802538"@patient.mssante.fr', { ok: false, reason: 'syntax' }],
    ['a@255081416802538@patient.mssante.fr', { ok: false, reason: 'syntax' }],
  ])('%s is a patient address with %j', (address, result) => {
    expect(parsePatientAddress(address, PATIENT_DOMAIN)).toEqual({ kind: 'patient', result });
  });

  it('compares with a configured domain given in any case', () => {
    expect(parsePatientAddress('255081416802538@patient.mssante.fr', 'PATIENT.MSSANTE.FR')).toEqual({
      kind: 'patient',
      result: { ok: true, ins: '255081416802538', kind: 'NIR' },
    });
  });

  it.each([
    '255081416802538@medecin.mssante.fr',
    '255081416802538@patient.mssante.fr.evil.example',
    '255081416802538@sub.patient.mssante.fr',
    '255081416802538@patient.mssante.fr.',
    '255081416802538',
    '',
    'patient.mssante.fr',
  ])('%j is not in the patient domain', (address) => {
    expect(parsePatientAddress(address, PATIENT_DOMAIN)).toEqual({ kind: 'not-patient-domain' });
  });

  it('never matches an empty configured domain', () => {
    expect(parsePatientAddress('255081416802538@', '')).toEqual({ kind: 'not-patient-domain' });
  });
});
