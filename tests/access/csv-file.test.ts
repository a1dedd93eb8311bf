// CSV files as French tools save them (access/rules/csv-file.ts through the two importers' parsers): `;` or `,`,
// BOM, CRLF, quoted fields with separators and line breaks, Windows-1252 read and reported, undecodable bytes and
// U+FFFD refused with the line, never imported. Pure functions, bytes in.
import { describe, expect, it } from 'vitest';
import { decodeCsvBytes, makeTestIns, parsePatientCsv, readCsvFile } from '../../access/rules/index.js';
import { parseDirectoryCsv } from '../../mailbox/directory.js';

const NOW = new Date('2024-06-15T12:00:00Z');
const COLS = ['ins', 'family_name', 'given_names', 'birth_date', 'email', 'state', 'provisional_code'];
const [A, B, C] = [makeTestIns(7701), makeTestIns(7702), makeTestIns(7703)];

/** Windows-1252 bytes of `text` (the characters of 0x80–0x9F by table, the rest as Latin-1). */
function cp1252(text: string): Buffer {
  const high: Record<string, number> = { '€': 0x80, '‚': 0x82, '’': 0x92, '‘': 0x91, '“': 0x93, '”': 0x94, '–': 0x96, '—': 0x97, œ: 0x9c, Œ: 0x8c, Ÿ: 0x9f };
  return Buffer.from(
    [...text].map((ch) => {
      if (high[ch] !== undefined) return high[ch];
      const code = ch.codePointAt(0)!;
      if (code > 0xff || (code >= 0x80 && code < 0xa0)) throw new Error(`not in Windows-1252: ${ch}`);
      return code;
    }),
  );
}

const parse = (input: Buffer | string) => parsePatientCsv(input, { now: NOW });
const line = (ins: string, family: string, given: string, email: string) => [ins, family, given, '1970-01-01', email, 'created', ''];

describe('separators', () => {
  it('reads a `;` file (French Excel), commas being plain text there', () => {
    const text = [
      COLS.join(';'),
      line(A, 'Martin, épouse Durand', 'Claire', 'c@example.org').join(';'),
      line(B, 'Dupont', 'Jean', 'j@example.org').join(';'),
    ].join('\r\n');
    const r = parse(Buffer.from(text));
    expect(r.errors).toEqual([]);
    expect(r.separator).toBe(';');
    expect(r.rows.map((x) => x.familyName)).toEqual(['Martin, épouse Durand', 'Dupont']);
  });

  it('reads a `,` file where values hold semicolons in quotes, and the header picks the separator', () => {
    const text = `${COLS.join(',')}\n${A},"Martin; Durand",Claire,1970-01-01,c@example.org,created,\n`;
    const r = parse(text);
    expect(r.errors).toEqual([]);
    expect(r.separator).toBe(',');
    expect(r.rows[0]!.familyName).toBe('Martin; Durand');
  });

  it('quoted fields hold the separator, doubled quotes and CRLF line breaks; later lines keep their numbers', () => {
    const text = [
      COLS.join(';'), // 1
      `${A};"Martin;Durand";"Claire ""Cla""";1970-01-01;c@example.org;created;`, // 2
      `${B};"Dupont`, // 3
      `Durand";Jean;1970-01-01;j@example.org;created;`, // 4
      '', // 5
      `${C};Petit;Luc;1970-01-01;;created;`, // 6: no e-mail
    ].join('\r\n');
    const r = parse(Buffer.from(text));
    expect(r.rows.map((x) => [x.familyName, x.givenNames])).toEqual([['Martin;Durand', 'Claire "Cla"']]);
    expect(r.errors).toEqual([
      { line: 3, message: 'family_name: must not contain control characters' },
      { line: 6, message: 'email: must not be empty' },
    ]);
  });

  it('mixed line endings (CRLF, LF, bare CR) each end one line', () => {
    const text = `${COLS.join(';')}\r\n${line(A, 'Un', 'X', 'a@example.org').join(';')}\n${line(B, 'Deux', 'Y', '').join(';')}\r${line(C, 'Trois', 'Z', '').join(';')}`;
    expect(parse(Buffer.from(text)).errors).toEqual([
      { line: 3, message: 'email: must not be empty' },
      { line: 4, message: 'email: must not be empty' },
    ]);
  });
});

describe('encodings', () => {
  it('drops a UTF-8 BOM and reports plain UTF-8 without a notice', () => {
    const r = parse(
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${COLS.join(';')}\r\n${line(A, 'Hélène', 'Zoé', 'h@example.org').join(';')}\r\n`)]),
    );
    expect(r.errors).toEqual([]);
    expect(r.encoding).toBe('utf-8');
    expect(r.notice).toBeNull();
    expect(r.rows[0]!.familyName).toBe('Hélène');
  });

  it('reads Windows-1252 accents (Hélène, Françoise, Lœtitia, D’Arc) and says so in the notice', () => {
    const text = [
      COLS.join(';'),
      line(A, 'Hélène', 'Françoise', 'h@example.org').join(';'),
      line(B, 'D’Arc', 'Lœtitia Œdipe', 'l@example.org').join(';'),
      line(C, 'Müller-Noël', 'Ève', 'm@example.org').join(';'),
    ].join('\r\n');
    const r = parse(cp1252(text));
    expect(r.errors).toEqual([]);
    expect(r.encoding).toBe('windows-1252');
    expect(r.notice).toMatch(/Windows-1252/);
    expect(r.rows.map((x) => `${x.familyName} ${x.givenNames}`)).toEqual(['Hélène Françoise', 'D’Arc Lœtitia Œdipe', 'Müller-Noël Ève']);
    for (const row of r.rows) expect(JSON.stringify(row)).not.toContain('\uFFFD');
  });

  it('refuses bytes Windows-1252 does not define, naming the line of the first one, and imports nothing', () => {
    const bytes = Buffer.concat([
      cp1252(`${COLS.join(';')}\r\n${line(A, 'Hélène', 'X', 'h@example.org').join(';')}\r\n${B};Du`),
      Buffer.from([0x81]),
      Buffer.from('pont;Y;1970-01-01;y@example.org;created;\r\n'),
    ]);
    const r = parse(bytes);
    expect(r.rows).toEqual([]);
    expect(r.errors).toEqual([{ line: 3, message: expect.stringMatching(/neither UTF-8 nor Windows-1252 text \(byte 0x81\).*CSV UTF-8/) }]);
  });

  it('refuses a file mixing UTF-8 and Windows-1252 (one side would come out as "HÃ©lÃ¨ne")', () => {
    const bytes = Buffer.concat([
      Buffer.from(`${COLS.join(';')}\n${line(A, 'Hélène', 'X', 'h@example.org').join(';')}\n`),
      cp1252(`${line(B, 'Lefèvre', 'Y', 'l@example.org').join(';')}\n`),
    ]);
    const r = parse(bytes);
    expect(r.rows).toEqual([]);
    expect(r.errors).toEqual([{ line: 3, message: expect.stringMatching(/mixes UTF-8 with another encoding \(byte 0xE8\)/) }]);
  });

  it('refuses a UTF-8 BOM followed by bytes that are not UTF-8, and UTF-16', () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), cp1252(`${COLS.join(';')}\n${line(A, 'Hélène', 'X', 'h@example.org').join(';')}\n`)]);
    expect(parse(bom).errors).toEqual([{ line: 2, message: expect.stringMatching(/UTF-8 mark but is not valid UTF-8/) }]);
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${COLS.join(';')}\n`, 'utf16le')]);
    expect(parse(utf16)).toMatchObject({ rows: [], errors: [{ line: 1, message: expect.stringMatching(/UTF-16/) }] });
    const utf16NoBom = Buffer.from(`${COLS.join(';')}\n`, 'utf16le');
    expect(parse(utf16NoBom).errors).toEqual([{ line: 1, message: expect.stringMatching(/NUL bytes/) }]);
  });

  it('never imports U+FFFD: a line holding one is an error, whether it came as bytes or as text', () => {
    const text = `${COLS.join(',')}\n${line(A, 'H\uFFFDl\uFFFDne', 'X', 'h@example.org').join(',')}\n${line(B, 'Dupont', 'Y', 'd@example.org').join(',')}\n`;
    for (const input of [text, Buffer.from(text)]) {
      const r = parse(input);
      expect(r.rows.map((x) => x.familyName)).toEqual(['Dupont']);
      expect(r.errors).toEqual([{ line: 2, message: expect.stringMatching(/U\+FFFD/) }]);
    }
  });

  it('decodeCsvBytes says where the first undecodable byte is, counting CRLF once', () => {
    expect(decodeCsvBytes(Buffer.from([...Buffer.from('a\r\nb\r\nc'), 0x8f]))).toEqual({ line: 3, message: expect.stringMatching(/byte 0x8F/) });
    expect(decodeCsvBytes(Buffer.from([...cp1252('é\rb\nc'), 0x7f]))).toEqual({ line: 3, message: expect.stringMatching(/byte 0x7F/) });
    expect(decodeCsvBytes(Buffer.from('ascii only;x\n'))).toEqual({ text: 'ascii only;x\n', encoding: 'utf-8' });
    expect(decodeCsvBytes(cp1252('€;é\n'))).toEqual({ text: '€;é\n', encoding: 'windows-1252' });
  });
});

describe('malformed quoting', () => {
  it('reports each bad record and resumes at the next physical line', () => {
    const text = [
      COLS.join(','), // 1
      `${A},"Martin"x,Claire,1970-01-01,c@example.org,created,`, // 2
      `${B},Mar"tin,Claire,1970-01-01,c@example.org,created,`, // 3
      `${C},Dupont,Jean,1970-01-01,j@example.org,created,`, // 4
    ].join('\r\n');
    const r = parse(Buffer.from(text));
    expect(r.rows.map((x) => x.ins)).toEqual([C]);
    expect(r.errors).toEqual([
      { line: 2, message: 'unexpected text after a closing quote' },
      { line: 3, message: 'quote inside an unquoted field' },
    ]);
  });

  it('stays linear with an error on every line (each resumption starts after the previous error)', () => {
    const lines = [COLS.join(';')];
    for (let i = 0; i < 5000; i++) lines.push(`${makeTestIns(i)};No"m;X;1970-01-01;x@example.org;created;`);
    const started = performance.now();
    const r = readCsvFile(Buffer.from(lines.join('\n')));
    expect(r.records).toHaveLength(5001);
    expect(r.records.slice(1).every((x, i) => x.error === 'quote inside an unquoted field' && x.line === i + 2)).toBe(true);
    expect(performance.now() - started).toBeLessThan(10_000); // quadratic restarts would take minutes here
  });
});

describe("the professionals' directory", () => {
  it('reads a `;` Windows-1252 directory with its accents and reports the conversion', () => {
    const r = parseDirectoryCsv(cp1252('address;rpps;profession_code;display_name\r\ndr.lefevre@hopital-a.mssante.fr;10001;10;Dr Hélène Lefèvre\r\n'));
    expect(r.errors).toEqual([]);
    expect(r.rows).toEqual([{ address: 'dr.lefevre@hopital-a.mssante.fr', rpps: '10001', professionCode: '10', displayName: 'Dr Hélène Lefèvre' }]);
    expect(r.notice).toMatch(/Windows-1252/);
  });

  it('refuses U+FFFD and undecodable bytes with the line', () => {
    expect(parseDirectoryCsv('address,rpps,profession_code,display_name\ndr.x@hopital-a.mssante.fr,1,10,Dr H\uFFFDl\uFFFDne\n').errors).toEqual([
      { line: 2, message: expect.stringMatching(/U\+FFFD/) },
    ]);
    expect(
      parseDirectoryCsv(Buffer.concat([Buffer.from('address,rpps,profession_code,display_name\ndr.x@hopital-a.mssante.fr,1,10,Dr '), Buffer.from([0x9d])]))
        .errors,
    ).toEqual([{ line: 2, message: expect.stringMatching(/byte 0x9D/) }]);
  });
});
