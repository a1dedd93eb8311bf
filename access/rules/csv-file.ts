// Reading an operator's CSV file as French tools really save it (the patients' import, the professionals'
// directory): bytes in, records with their physical line numbers out. Pure: no I/O, no clock.
//
// Guarantees:
// - Never throws on any input: a file that cannot be read as text gives one `error` (with the physical line of
//   the first offending byte) and no records; a malformed record gives a record with `error` set, so callers
//   report every bad line with its number and never import part of a garbled file silently.
// - Encoding: UTF-8 (with or without BOM, the BOM dropped) is taken as is. Bytes that are not valid UTF-8 are
//   read as Windows-1252 (what Excel's "CSV (séparateur: point-virgule)" writes on a French Windows) only when
//   every byte is a Windows-1252 character (0x81, 0x8D, 0x8F, 0x90 and 0x9D are not), there is no control byte
//   other than tab, CR and LF, no valid UTF-8 multi-byte sequence (a file mixing both would come out as
//   "HÃ©lÃ¨ne" on one side), and no UTF-8 BOM (a file claiming UTF-8). Otherwise the file is refused with a
//   message saying to save it as "CSV UTF-8". `encoding` says which one was used, so the import summary can
//   say that the file was converted. A UTF-16 file (BOM or NUL bytes) is refused the same way.
// - U+FFFD (the replacement character an earlier, wrong conversion leaves where a letter was) is never imported:
//   a record holding one gets an error naming the problem instead of a name with "�" in it.
// - Separator: `;` (French Excel) or `,`, chosen once per file from the first non-blank line (the header):
//   whichever of the two occurs more often there outside quotes; `,` on a tie. The other one is plain text.
// - Tokenising is csv-parse's (RFC 4180: quoted fields hold separators, doubled quotes and line breaks). CRLF,
//   LF and bare CR all end a record, even mixed in one file. Line numbers are counted here, on the decoded
//   text, so a record is reported at the physical line where it starts whatever line breaks its quoted fields
//   hold (csv-parse's own counter counts a CRLF inside quotes twice).
// - Malformed quoting (a quote inside an unquoted field, text after a closing quote) is an error for that
//   record; reading resumes at the next physical line, so later lines are still checked. An unterminated
//   quote swallows the rest of the file: it is reported at the line where its record starts and reading stops.
//   Work stays linear in the input: each resumption starts after the previous error.
// - Blank (empty or white-space-only, unquoted) lines are skipped.
import { CsvError, parse, type InfoRecord } from 'csv-parse/sync';

export type CsvEncoding = 'utf-8' | 'windows-1252';
export type CsvSeparator = ',' | ';';

export interface CsvRecord {
  /** 1-based physical line where the record starts. */
  line: number;
  fields: string[];
  error: string | null;
}

export interface CsvFile {
  /** Non-blank records in file order (the header first). */
  records: CsvRecord[];
  /** How the bytes were decoded; null when the input was already text or could not be decoded. */
  encoding: CsvEncoding | null;
  separator: CsvSeparator;
  /** The file as a whole could not be read as text: no records. */
  error: { line: number; message: string } | null;
}

const SAVE_AS_UTF8 = 'save it as "CSV UTF-8" (or "CSV (séparateur: point-virgule)" from a French Excel) and import it again';
const REPLACEMENT = '\uFFFD';
/** Bytes Windows-1252 leaves undefined (the WHATWG decoder would turn them into invisible C1 controls). */
const UNDEFINED_1252 = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);

/** Reads a CSV file (bytes as saved, or text already decoded by the caller). */
export function readCsvFile(input: Uint8Array | string): CsvFile {
  let text: string;
  let encoding: CsvEncoding | null = null;
  if (typeof input === 'string') {
    text = input;
  } else if (input instanceof Uint8Array) {
    const decoded = decodeCsvBytes(input);
    if ('message' in decoded) return { records: [], encoding: null, separator: ',', error: decoded };
    ({ text, encoding } = decoded);
  } else {
    return { records: [], encoding: null, separator: ',', error: { line: 1, message: 'input is not text' } };
  }
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const separator = detectSeparator(text);
  return { records: tokenise(text, separator), encoding, separator, error: null };
}

/** What the import summary should say about how the file was read, when it is not the plain UTF-8 case. */
export function csvReadingNotice(file: Pick<CsvFile, 'encoding'>): string | null {
  return file.encoding === 'windows-1252'
    ? 'file read as Windows-1252 (it is not UTF-8): accented letters were converted; check a few names after the import'
    : null;
}

/** Decodes a CSV file's bytes as UTF-8 or, when that fails and it is plausible, Windows-1252 (see the header). */
export function decodeCsvBytes(bytes: Uint8Array): { text: string; encoding: CsvEncoding } | { line: number; message: string } {
  const b = bytes;
  if ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff)) {
    return { line: 1, message: `the file is UTF-16 text: ${SAVE_AS_UTF8}` };
  }
  const nul = b.indexOf(0);
  if (nul >= 0) return { line: lineOfByte(b, nul), message: `the file holds NUL bytes (UTF-16 or not text): ${SAVE_AS_UTF8}` };
  const scan = scanUtf8(b);
  if (scan.firstInvalid < 0) return { text: new TextDecoder('utf-8').decode(b), encoding: 'utf-8' };

  const line = lineOfByte(b, scan.firstInvalid);
  const byte = `0x${b[scan.firstInvalid]!.toString(16).toUpperCase().padStart(2, '0')}`;
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) {
    return { line, message: `the file starts with a UTF-8 mark but is not valid UTF-8 (byte ${byte}): ${SAVE_AS_UTF8}` };
  }
  if (scan.multibyte > 0) {
    return { line, message: `the file mixes UTF-8 with another encoding (byte ${byte}): ${SAVE_AS_UTF8}` };
  }
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (UNDEFINED_1252.has(c) || (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) {
      const hex = `0x${c.toString(16).toUpperCase().padStart(2, '0')}`;
      return { line: lineOfByte(b, i), message: `the file is neither UTF-8 nor Windows-1252 text (byte ${hex}): ${SAVE_AS_UTF8}` };
    }
  }
  return { text: decodeWindows1252(b), encoding: 'windows-1252' };
}

/**
 * Windows-1252 → text. Not `new TextDecoder('windows-1252')`: Node 20's decodes 0x80–0x9F as Latin-1 C1 controls
 * (’ œ € … would come out invisible), so those 27 characters come from this table and the rest is Latin-1.
 */
const CP1252_80_9F = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ';
function decodeWindows1252(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength)
    .toString('latin1')
    .replace(/[\u0080-\u009f]/g, (c) => CP1252_80_9F[c.charCodeAt(0) - 0x80]!);
}

/** The first byte that breaks UTF-8 (-1 if none) and how many valid multi-byte sequences come before the end. */
function scanUtf8(b: Uint8Array): { firstInvalid: number; multibyte: number } {
  let multibyte = 0;
  let firstInvalid = -1;
  const cont = (i: number): boolean => i < b.length && (b[i]! & 0xc0) === 0x80;
  for (let i = 0; i < b.length;) {
    const c = b[i]!;
    if (c < 0x80) {
      i += 1;
      continue;
    }
    let n = 0;
    if (c >= 0xc2 && c <= 0xdf) n = cont(i + 1) ? 2 : 0;
    else if (c >= 0xe0 && c <= 0xef) {
      const lo = c === 0xe0 ? 0xa0 : 0x80;
      const hi = c === 0xed ? 0x9f : 0xbf;
      const c1 = b[i + 1];
      n = c1 !== undefined && c1 >= lo && c1 <= hi && cont(i + 2) ? 3 : 0;
    } else if (c >= 0xf0 && c <= 0xf4) {
      const lo = c === 0xf0 ? 0x90 : 0x80;
      const hi = c === 0xf4 ? 0x8f : 0xbf;
      const c1 = b[i + 1];
      n = c1 !== undefined && c1 >= lo && c1 <= hi && cont(i + 2) && cont(i + 3) ? 4 : 0;
    }
    if (n === 0) {
      if (firstInvalid < 0) firstInvalid = i;
      i += 1;
    } else {
      multibyte += 1;
      i += n;
    }
  }
  return { firstInvalid, multibyte };
}

/** 1-based physical line of byte `offset` (CRLF, LF and bare CR each end one line). */
function lineOfByte(b: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) {
    if (b[i] === 0x0a) line += 1;
    else if (b[i] === 0x0d && b[i + 1] !== 0x0a) line += 1;
  }
  return line;
}

function detectSeparator(text: string): CsvSeparator {
  let commas = 0;
  let semicolons = 0;
  let quoted = false;
  let seen = false;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '\n' || c === '\r')) {
      if (seen) break;
    } else if (!quoted && c === ',') commas++;
    else if (!quoted && c === ';') semicolons++;
    if (c.trim() !== '') seen = true;
  }
  return semicolons > commas ? ';' : ',';
}

/** Start offsets (in `buf`) of every physical line, for binary search. */
function lineStarts(buf: Buffer): number[] {
  const starts = [0];
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c === 0x0a || (c === 0x0d && buf[i + 1] !== 0x0a)) starts.push(i + 1);
  }
  return starts;
}

function lineAt(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

const QUOTING_ERRORS: Record<string, string> = {
  INVALID_OPENING_QUOTE: 'quote inside an unquoted field',
  CSV_INVALID_CLOSING_QUOTE: 'unexpected text after a closing quote',
  CSV_QUOTE_NOT_CLOSED: 'unterminated quoted field',
};

function tokenise(text: string, separator: CsvSeparator): CsvRecord[] {
  // Offsets are byte offsets into this buffer (csv-parse counts bytes), mapped to lines by `lineStarts`.
  const buf = Buffer.from(text, 'utf8');
  const starts = lineStarts(buf);
  const records: CsvRecord[] = [];
  let offset = 0;
  while (offset < buf.length) {
    let recordStart = offset;
    const base = offset;
    const push = (fields: string[], end: number): void => {
      const raw = buf.subarray(recordStart, end).toString('utf8');
      const line = lineAt(starts, recordStart);
      recordStart = end;
      if (fields.length === 1 && !raw.includes('"') && raw.trim() === '') return; // a blank line
      const lost = fields.some((f) => f.includes(REPLACEMENT));
      records.push({
        line,
        fields,
        error: lost
          ? 'contains U+FFFD "�", the mark of a letter lost by an earlier wrong encoding conversion: export the file again from its source as UTF-8'
          : null,
      });
    };
    try {
      parse(buf.subarray(base), {
        delimiter: separator,
        record_delimiter: ['\r\n', '\n', '\r'],
        relax_column_count: true,
        skip_empty_lines: false,
        raw: true, // with it, records come as {record, raw} and an error carries the text read so far
        on_record: ((r: { record: string[] }, ctx: InfoRecord) => {
          push(r.record, base + ctx.bytes);
          return null; // collected here, not by csv-parse
        }) as unknown as (record: string[], ctx: InfoRecord) => null,
      });
      break;
    } catch (err) {
      const line = lineAt(starts, recordStart);
      if (!(err instanceof CsvError)) {
        records.push({ line, fields: [], error: 'unreadable record' }); // never thrown at the caller
        break;
      }
      records.push({ line, fields: [], error: QUOTING_ERRORS[err.code] ?? `malformed record (${err.code})` });
      if (err.code === 'CSV_QUOTE_NOT_CLOSED') break;
      // Resume at the physical line after the offending character (the end of what csv-parse had read).
      const raw = (err as CsvError & { raw?: string }).raw ?? '';
      const at = Math.max(recordStart + Buffer.byteLength(raw, 'utf8') - 1, recordStart);
      const next = lineAt(starts, at); // 1-based; starts[next] is the following line's start
      offset = next < starts.length ? starts[next]! : buf.length;
      if (offset <= recordStart) offset = buf.length; // never loop in place
    }
  }
  return records;
}
