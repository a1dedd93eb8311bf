// Operator CSV import of patient profiles (SPEC §8, "provision profiles (CSV import)").
//
// Guarantees:
// - Never throws on any input (bytes or text): every problem becomes an entry in `errors` with the 1-based physical line where the
//   record starts (a quoted field may span lines), and a row with any problem is left out of `rows`, so an
//   import can apply `rows` and show `errors` without a second pass.
// - The file is read by `readCsvFile` (csv-file.ts): the bytes as saved (UTF-8 with or without BOM, or
//   Windows-1252, which `encoding` and `notice` then report), `;` or `,` separated, CRLF, LF or bare CR, quoted
//   fields holding separators, doubled quotes and line breaks; blank lines skipped. A file that is no readable
//   text gives one error and no rows; malformed quoting and U+FFFD (a letter lost by an earlier conversion) are
//   errors for their record. An unterminated quote swallows the rest of the file, so it is reported and
//   reading stops.
// - The header (first non-blank record) must name exactly the seven columns, in any order, names trimmed and
//   case-insensitive. A missing, unknown or repeated column gives one error on the header line and no rows: a
//   shifted column would otherwise import e-mails as names.
// - Values are trimmed. Messages name the column and the rule broken but never echo the value: the file holds
//   identities and the errors end up in logs and terminals.
// - A repeated INS (compared in canonical form) is an error on every later line, even when the first line was
//   rejected for another reason, so fixing the first line cannot silently turn the file into a conflicting import.
// - birth_date must be a real calendar date between 1900-01-01 and today in Europe/Paris (the patients' time
//   zone; pass `now` for reproducible results). The lower bound catches typed years such as 0985.

import { csvReadingNotice, readCsvFile, type CsvEncoding, type CsvSeparator } from './csv-file.js';
import { parseIns } from './ins.js';
import { isProfileState, type ProfileState } from './profile-state.js';

export interface PatientImportRow {
  ins: string;
  familyName: string;
  givenNames: string;
  birthDate: string;
  email: string;
  state: ProfileState;
  provisionalCode: string | null;
}

export interface PatientCsvError {
  line: number;
  message: string;
}

export interface PatientCsvResult {
  rows: PatientImportRow[];
  errors: PatientCsvError[];
  /** How the bytes were decoded (null: the caller passed text, or they could not be decoded). */
  encoding: CsvEncoding | null;
  separator: CsvSeparator;
  /** A line for the import summary when the file was not plain UTF-8 (e.g. converted from Windows-1252). */
  notice: string | null;
}

export interface PatientCsvOptions {
  /** Reference instant for "birth date not in the future"; defaults to the current time. */
  now?: Date;
}

export const PATIENT_CSV_COLUMNS = ['ins', 'family_name', 'given_names', 'birth_date', 'email', 'state', 'provisional_code'] as const;

type Column = (typeof PATIENT_CSV_COLUMNS)[number];

const MAX_NAME_LENGTH = 200;
const MAX_EMAIL_LENGTH = 254;
const MIN_BIRTH_DATE = '1900-01-01';
const CONTROL_CHAR = /\p{Cc}/u;
const PROVISIONAL_CODE = /^[A-Za-z0-9-]{6,64}$/;

export function parsePatientCsv(input: Uint8Array | string, options: PatientCsvOptions = {}): PatientCsvResult {
  const file = readCsvFile(input);
  const rows: PatientImportRow[] = [];
  const errors: PatientCsvError[] = [];
  const done = (): PatientCsvResult => ({ rows, errors, encoding: file.encoding, separator: file.separator, notice: csvReadingNotice(file) });
  if (file.error !== null) {
    errors.push(file.error);
    return done();
  }
  const { records } = file;

  const header = records[0];
  if (header === undefined) {
    errors.push({ line: 1, message: `missing header: expected ${PATIENT_CSV_COLUMNS.join(',')}` });
    return done();
  }
  if (header.error !== null) {
    errors.push({ line: header.line, message: `header: ${header.error}` });
    return done();
  }
  const columnIndex = mapHeader(header.fields);
  if (typeof columnIndex === 'string') {
    errors.push({ line: header.line, message: columnIndex });
    return done();
  }

  const today = parisDate(options.now ?? new Date());
  const firstLineByIns = new Map<string, number>();

  for (const record of records.slice(1)) {
    const { line } = record;
    if (record.error !== null) {
      errors.push({ line, message: record.error });
      continue;
    }
    if (record.fields.length !== PATIENT_CSV_COLUMNS.length) {
      errors.push({
        line,
        message: `expected ${PATIENT_CSV_COLUMNS.length} fields, found ${record.fields.length}`,
      });
      continue;
    }
    const get = (c: Column): string => (record.fields[columnIndex[c]] ?? '').trim();
    const problems: string[] = [];

    const insResult = parseIns(get('ins'));
    let ins = '';
    if (!insResult.ok) {
      problems.push(insResult.reason === 'key' ? 'ins: invalid check key' : 'ins: invalid syntax');
    } else {
      ins = insResult.ins;
      const first = firstLineByIns.get(ins);
      if (first !== undefined) {
        problems.push(`ins: duplicate of line ${first}`);
      } else {
        firstLineByIns.set(ins, line);
      }
    }

    const familyName = get('family_name');
    const givenNames = get('given_names');
    for (const [col, value] of [
      ['family_name', familyName],
      ['given_names', givenNames],
    ] as const) {
      const p = checkName(value);
      if (p !== null) problems.push(`${col}: ${p}`);
    }

    const birthDate = get('birth_date');
    const dateProblem = checkBirthDate(birthDate, today);
    if (dateProblem !== null) problems.push(`birth_date: ${dateProblem}`);

    const email = get('email');
    const emailProblem = checkEmail(email);
    if (emailProblem !== null) problems.push(`email: ${emailProblem}`);

    const state = get('state').toLowerCase();
    if (!isProfileState(state)) {
      problems.push('state: must be one of pending, created, active, opposed, closed');
    }

    const code = get('provisional_code');
    if (code !== '' && !PROVISIONAL_CODE.test(code)) {
      problems.push('provisional_code: must be empty or 6 to 64 characters among A-Z, a-z, 0-9 and -');
    }

    if (problems.length > 0 || !isProfileState(state)) {
      for (const message of problems) errors.push({ line, message });
      continue;
    }
    rows.push({
      ins,
      familyName,
      givenNames,
      birthDate,
      email,
      state,
      provisionalCode: code === '' ? null : code,
    });
  }
  return done();
}

function mapHeader(fields: string[]): Record<Column, number> | string {
  const names = fields.map((f) => f.trim().toLowerCase());
  const known = new Set<string>(PATIENT_CSV_COLUMNS);
  const missing = PATIENT_CSV_COLUMNS.filter((c) => !names.includes(c));
  const unknown = [...new Set(names.filter((n) => !known.has(n)))];
  const duplicate = [...new Set(names.filter((n, i) => known.has(n) && names.indexOf(n) !== i))];
  const parts: string[] = [];
  if (missing.length > 0) parts.push(`missing column(s) ${missing.join(', ')}`);
  if (unknown.length > 0) parts.push(`unknown column(s) ${unknown.map((u) => (u === '' ? '(empty)' : u)).join(', ')}`);
  if (duplicate.length > 0) parts.push(`repeated column(s) ${duplicate.join(', ')}`);
  if (parts.length > 0) {
    return `header: ${parts.join('; ')} (expected ${PATIENT_CSV_COLUMNS.join(',')}, separated by , or ;)`;
  }
  const index = {} as Record<Column, number>;
  for (const c of PATIENT_CSV_COLUMNS) index[c] = names.indexOf(c);
  return index;
}

function checkName(value: string): string | null {
  if (value === '') return 'must not be empty';
  if ([...value].length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters`;
  if (CONTROL_CHAR.test(value)) return 'must not contain control characters';
  return null;
}

function checkBirthDate(value: string, today: string): string | null {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(value);
  if (m === null) return 'must be YYYY-MM-DD';
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  // Date.UTC maps years 0–99 to 1900–1999; those are below the lower bound anyway.
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) {
    return 'is not a calendar date';
  }
  if (value < MIN_BIRTH_DATE) return `must not be before ${MIN_BIRTH_DATE}`;
  if (value > today) return 'must not be in the future';
  return null;
}

function checkEmail(value: string): string | null {
  if (value === '') return 'must not be empty';
  if (value.length > MAX_EMAIL_LENGTH) return `must be at most ${MAX_EMAIL_LENGTH} characters`;
  if (/\s/u.test(value) || CONTROL_CHAR.test(value)) return 'must not contain spaces';
  const parts = value.split('@');
  if (parts.length !== 2) return 'must contain exactly one @';
  const [local = '', domain = ''] = parts;
  if (local === '' || local.length > 64) return 'local part must be 1 to 64 characters';
  if (!/^[^.]+(?:\.[^.]+)+$/.test(domain)) return 'domain is not plausible';
  return null;
}

/** YYYY-MM-DD of `now` on the Paris calendar. */
function parisDate(now: Date): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Paris',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(now);
  const get = (t: string): string => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year').padStart(4, '0')}-${get('month')}-${get('day')}`;
}
