import { describe, expect, it } from 'vitest';
import { PATIENT_CSV_COLUMNS as PATIENT_COLUMNS, makeTestIns, parsePatientCsv, type PatientImportRow } from '../../access/rules/index.js';

const HEADER = 'ins,family_name,given_names,birth_date,email,state,provisional_code';
const NOW = new Date('2024-06-15T12:00:00Z');
const INS1 = '255081416802538';
const INS2 = '284052A32102552';
const INS3 = '279035121518989';

const parse = (text: string) => {
  const { rows, errors } = parsePatientCsv(text, { now: NOW });
  return { rows, errors };
};

const row1: PatientImportRow = {
  ins: INS1,
  familyName: 'Martin',
  givenNames: 'Claire Anne',
  birthDate: '1955-08-14',
  email: 'claire.martin@example.org',
  state: 'pending',
  provisionalCode: 'ABC-123-xyz',
};

describe('parsePatientCsv: well-formed input', () => {
  it('parses a simple file', () => {
    const text = `${HEADER}\n${INS1},Martin,Claire Anne,1955-08-14,claire.martin@example.org,pending,ABC-123-xyz\n`;
    expect(parse(text)).toEqual({ rows: [row1], errors: [] });
  });

  it('handles quoted commas, doubled quotes and line breaks inside quotes', () => {
    const text = [
      HEADER,
      `${INS1},"Martin, épouse Durand","Claire ""Cla"" Anne",1955-08-14,claire.martin@example.org,created,`,
      `${INS2},"Dupont","Jean",1984-05-02,jean@example.org,active,""`,
    ].join('\n');
    const { rows, errors } = parse(text);
    expect(errors).toEqual([]);
    expect(rows.map((r) => [r.familyName, r.givenNames, r.state, r.provisionalCode])).toEqual([
      ['Martin, épouse Durand', 'Claire "Cla" Anne', 'created', null],
      ['Dupont', 'Jean', 'active', null],
    ]);
  });

  it('accepts CRLF line endings, a BOM, and blank lines', () => {
    const text =
      '\uFEFF' +
      `${HEADER}\r\n\r\n${INS1},Martin,Claire Anne,1955-08-14,claire.martin@example.org,pending,ABC-123-xyz\r\n   \r\n` +
      `${INS3},Pat-Trois,Dominique,1979-03-28,d@example.org,closed,\r\n`;
    const { rows, errors } = parse(text);
    expect(errors).toEqual([]);
    expect(rows).toEqual([
      row1,
      {
        ...row1,
        ins: INS3,
        familyName: 'Pat-Trois',
        givenNames: 'Dominique',
        birthDate: '1979-03-28',
        email: 'd@example.org',
        state: 'closed',
        provisionalCode: null,
      },
    ]);
  });

  it('strips a BOM before a quoted header', () => {
    const header = PATIENT_COLUMNS.map((c) => `"${c}"`).join(',');
    const text = `\uFEFF${header}\n${INS1},Martin,Claire Anne,1955-08-14,claire.martin@example.org,pending,ABC-123-xyz`;
    expect(parse(text)).toEqual({ rows: [row1], errors: [] });
  });

  it('accepts columns in any order, header case-insensitive and padded', () => {
    const text = ` State , EMAIL,ins,Provisional_Code,birth_date,given_names,FAMILY_NAME\nPENDING,claire.martin@example.org,${INS1},ABC-123-xyz,1955-08-14,Claire Anne,Martin`;
    expect(parse(text)).toEqual({ rows: [row1], errors: [] });
  });

  it('canonicalises the INS and trims values', () => {
    const text = `${HEADER}\n 284052a32102552 , Dupont ,Jean,1984-05-02,jean@example.org,active,  abcdef  `;
    const { rows, errors } = parse(text);
    expect(errors).toEqual([]);
    expect(rows[0]).toMatchObject({ ins: INS2, familyName: 'Dupont', provisionalCode: 'abcdef' });
  });

  it('imports 500 generated patients', () => {
    const lines = [HEADER];
    for (let i = 0; i < 500; i++) lines.push(`${makeTestIns(i)},Nom${i},Prenom,1990-01-01,p${i}@example.org,created,`);
    const { rows, errors } = parse(lines.join('\n'));
    expect(errors).toEqual([]);
    expect(rows).toHaveLength(500);
  });
});

describe('parsePatientCsv: header errors', () => {
  it.each([
    ['missing column', 'ins,family_name,given_names,birth_date,email,state', /missing column\(s\) provisional_code/],
    ['two missing', 'ins,family_name,given_names,birth_date,state', /missing column\(s\) email, provisional_code/],
    ['unknown column', `${HEADER},phone`, /unknown column\(s\) phone/],
    ['repeated column', `${HEADER},ins`, /repeated column\(s\) ins/],
  ])('%s → one error on line 1 and no rows', (_label, header, message) => {
    const text = `${header}\n${INS1},Martin,Claire,1955-08-14,c@example.org,pending,,\n${INS2},Dupont,Jean,1984-05-02,j@example.org,active,`;
    const result = parse(text);
    expect(result.rows).toEqual([]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]?.line).toBe(1);
    expect(result.errors[0]?.message).toMatch(message);
  });

  it('reports an empty file', () => {
    expect(parse('')).toEqual({ rows: [], errors: [{ line: 1, message: expect.stringMatching(/missing header/) }] });
    expect(parse('\uFEFF\n\n')).toEqual({ rows: [], errors: [{ line: 1, message: expect.stringMatching(/missing header/) }] });
  });

  it('a header-only file gives no rows and no errors', () => {
    expect(parse(`${HEADER}\r\n`)).toEqual({ rows: [], errors: [] });
  });
});

describe('parsePatientCsv: row errors', () => {
  const good = (ins: string) => `${ins},Martin,Claire,1955-08-14,c@example.org,pending,`;

  it('reports each bad row with its 1-based file line, and keeps the good rows', () => {
    const text = [
      HEADER, // 1
      good(INS1), // 2
      '', // 3 blank
      '255081416802539,Martin,Claire,1955-08-14,c@example.org,pending,', // 4 wrong key
      '2550814168025,Martin,Claire,1955-08-14,c@example.org,pending,', // 5 syntax
      good(INS2), // 6
    ].join('\r\n');
    const { rows, errors } = parse(text);
    expect(rows.map((r) => r.ins)).toEqual([INS1, INS2]);
    expect(errors).toEqual([
      { line: 4, message: 'ins: invalid check key' },
      { line: 5, message: 'ins: invalid syntax' },
    ]);
  });

  it('never echoes the INS or other values in messages', () => {
    const text = `${HEADER}\n255081416802539,Martin,Claire,1955-02-30,claire@,pending,\n`;
    const { errors } = parse(text);
    expect(errors.length).toBeGreaterThanOrEqual(3);
    for (const e of errors) {
      expect(e.message).not.toContain('2550814168025');
      expect(e.message).not.toContain('1955');
      expect(e.message).not.toContain('claire');
      expect(e.message).not.toContain('Martin');
    }
  });

  it('flags a duplicate INS on the later line only, in canonical form', () => {
    const text = [HEADER, good(INS2), good(INS1), good('284052a32102552')].join('\n');
    const { rows, errors } = parse(text);
    expect(rows.map((r) => r.ins)).toEqual([INS2, INS1]);
    expect(errors).toEqual([{ line: 4, message: 'ins: duplicate of line 2' }]);
  });

  it('flags a duplicate even when the first occurrence was rejected for another reason', () => {
    const text = [HEADER, `${INS1},,Claire,1955-08-14,c@example.org,pending,`, good(INS1)].join('\n');
    const { rows, errors } = parse(text);
    expect(rows).toEqual([]);
    expect(errors).toEqual([
      { line: 2, message: 'family_name: must not be empty' },
      { line: 3, message: 'ins: duplicate of line 2' },
    ]);
  });

  const cases: [string, string, RegExp][] = [
    ['family_name empty', `${INS1}, ,Claire,1955-08-14,c@example.org,pending,`, /^family_name: must not be empty$/],
    ['given_names empty', `${INS1},Martin,"",1955-08-14,c@example.org,pending,`, /^given_names: must not be empty$/],
    ['family_name 201 chars', `${INS1},${'a'.repeat(201)},Claire,1955-08-14,c@example.org,pending,`, /^family_name: must be at most 200/],
    ['given_names with a line break', `${INS1},Martin,"Claire\nAnne",1955-08-14,c@example.org,pending,`, /^given_names: must not contain control/],
    ['birth_date format', `${INS1},Martin,Claire,14/08/1955,c@example.org,pending,`, /^birth_date: must be YYYY-MM-DD$/],
    ['birth_date 30 February', `${INS1},Martin,Claire,1955-02-30,c@example.org,pending,`, /^birth_date: is not a calendar date$/],
    ['birth_date 29 Feb non-leap', `${INS1},Martin,Claire,2023-02-29,c@example.org,pending,`, /^birth_date: is not a calendar date$/],
    ['birth_date month 13', `${INS1},Martin,Claire,1955-13-01,c@example.org,pending,`, /^birth_date: is not a calendar date$/],
    ['birth_date in the future', `${INS1},Martin,Claire,2024-06-16,c@example.org,pending,`, /^birth_date: must not be in the future$/],
    ['birth_date too old', `${INS1},Martin,Claire,0985-01-01,c@example.org,pending,`, /^birth_date: must not be before 1900-01-01$/],
    ['email without @', `${INS1},Martin,Claire,1955-08-14,c.example.org,pending,`, /^email: must contain exactly one @$/],
    ['email with two @', `${INS1},Martin,Claire,1955-08-14,c@d@example.org,pending,`, /^email: must contain exactly one @$/],
    ['email with a space', `${INS1},Martin,Claire,1955-08-14,c d@example.org,pending,`, /^email: must not contain spaces$/],
    ['email too long', `${INS1},Martin,Claire,1955-08-14,${'a'.repeat(64)}@${'b'.repeat(186)}.org,pending,`, /^email: must be at most 254/],
    ['email empty', `${INS1},Martin,Claire,1955-08-14,,pending,`, /^email: must not be empty$/],
    ['email domain without dot', `${INS1},Martin,Claire,1955-08-14,c@localhost,pending,`, /^email: domain is not plausible$/],
    ['state unknown', `${INS1},Martin,Claire,1955-08-14,c@example.org,open,`, /^state: must be one of/],
    ['state empty', `${INS1},Martin,Claire,1955-08-14,c@example.org,,`, /^state: must be one of/],
    ['provisional code too short', `${INS1},Martin,Claire,1955-08-14,c@example.org,pending,abc12`, /^provisional_code:/],
    ['provisional code bad char', `${INS1},Martin,Claire,1955-08-14,c@example.org,pending,abc_123`, /^provisional_code:/],
    ['provisional code too long', `${INS1},Martin,Claire,1955-08-14,c@example.org,pending,${'a'.repeat(65)}`, /^provisional_code:/],
    ['too few fields', `${INS1},Martin,Claire,1955-08-14,c@example.org,pending`, /^expected 7 fields, found 6$/],
    ['too many fields', `${INS1},Martin,Claire,1955-08-14,c@example.org,pending,,x`, /^expected 7 fields, found 8$/],
    ['quote inside unquoted field', `${INS1},Mar"tin,Claire,1955-08-14,c@example.org,pending,`, /quote inside an unquoted field/],
    ['text after closing quote', `${INS1},"Martin"x,Claire,1955-08-14,c@example.org,pending,`, /text after a closing quote/],
  ];

  it.each(cases)('%s → error on line 2, row dropped', (_label, line, message) => {
    const { rows, errors } = parse(`${HEADER}\n${line}\n${good(INS2)}\n`);
    expect(rows.map((r) => r.ins)).toEqual([INS2]);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.line).toBe(2);
    expect(errors[0]?.message).toMatch(message);
  });

  it('accepts boundary values', () => {
    const text = [
      HEADER,
      `${INS1},${'a'.repeat(200)},${'é'.repeat(200)},2024-06-15,${'a'.repeat(64)}@${'b'.repeat(185)}.org,pending,${'a'.repeat(64)}`,
      `${INS2},X,Y,1900-01-01,x@y.fr,closed,abc-12`,
      `${INS3},X,Y,2024-02-29,z@y.fr,opposed,`,
    ].join('\n');
    const { rows, errors } = parse(text);
    expect(errors).toEqual([]);
    expect(rows).toHaveLength(3);
    expect(rows[0]?.email).toHaveLength(254);
  });

  it('judges "future" on the Paris calendar', () => {
    // 23:30 UTC on 14 June is already 15 June in Paris.
    const text = `${HEADER}\n${INS1},Martin,Claire,2024-06-15,c@example.org,pending,`;
    expect(parsePatientCsv(text, { now: new Date('2024-06-14T23:30:00Z') }).errors).toEqual([]);
    expect(parsePatientCsv(text, { now: new Date('2024-06-14T21:30:00Z') }).errors).toEqual([{ line: 2, message: 'birth_date: must not be in the future' }]);
  });

  it('reports a record spanning lines at its first line, and counts lines after it correctly', () => {
    const text = [
      HEADER, // 1
      `${INS1},"Martin`, // 2
      `Durand",Claire,1955-08-14,c@example.org,pending,`, // 3
      `255081416802539,Martin,Claire,1955-08-14,c@example.org,pending,`, // 4
    ].join('\r\n');
    const { rows, errors } = parse(text);
    expect(rows).toEqual([]);
    expect(errors).toEqual([
      { line: 2, message: 'family_name: must not contain control characters' },
      { line: 4, message: 'ins: invalid check key' },
    ]);
  });

  it.each([
    ['LF', '\n'],
    ['bare CR', '\r'],
  ])('counts %s line breaks inside quoted fields', (_label, eol) => {
    const text = [
      HEADER, // 1
      `${INS1},Martin,"Claire${eol}${eol}Anne",1955-08-14,c@example.org,pending,`, // 2-4
      `${INS2},Dupont,Jean,1984-05-02,,active,`, // 5
    ].join(eol);
    expect(parse(text).errors).toEqual([
      { line: 2, message: 'given_names: must not contain control characters' },
      { line: 5, message: 'email: must not be empty' },
    ]);
  });

  it('stops at an unterminated quote and reports its line', () => {
    const text = [HEADER, good(INS1), `${INS2},"Dupont,Jean,1984-05-02,j@example.org,active,`, good(INS3)].join('\n');
    const { rows, errors } = parse(text);
    expect(rows.map((r) => r.ins)).toEqual([INS1]);
    expect(errors).toEqual([{ line: 3, message: 'unterminated quoted field' }]);
  });

  it('does not throw on non-text input', () => {
    expect(parsePatientCsv(undefined as unknown as string).rows).toEqual([]);
  });
});
