/**
 * The professionals' directory: MSSanté address → RPPS, profession code (TRE_G15), display name. Imported from
 * CSV (header `address,rpps,profession_code,display_name`), all rows or none; display names shown to patients
 * come from here when known. Bad rows are reported by line and nothing is imported. The file is read by
 * `readCsvFile` like the patients' import: UTF-8 or Windows-1252 (reported in `notice`), `;` or `,`, quoted
 * fields, physical line numbers; a display name with U+FFFD (a letter lost by a wrong conversion) is refused.
 */
import { inArray, sql } from 'drizzle-orm';
import { type Db, schema } from '../db/index.js';
import { csvReadingNotice, readCsvFile, type CsvEncoding } from '../access/index.js';

export interface DirectoryRow {
  address: string;
  rpps: string | null;
  professionCode: string | null;
  displayName: string;
}

const COLUMNS = ['address', 'rpps', 'profession_code', 'display_name'] as const;
const ADDRESS = /^[^\s@]+@[a-z0-9.-]+\.[a-z]{2,}$/;

export interface DirectoryCsvResult {
  rows: DirectoryRow[];
  errors: { line: number; message: string }[];
  encoding: CsvEncoding | null;
  /** A line for the import summary when the file was not plain UTF-8. */
  notice: string | null;
}

export function parseDirectoryCsv(input: Uint8Array | string): DirectoryCsvResult {
  const file = readCsvFile(input);
  const errors: { line: number; message: string }[] = [];
  const rows: DirectoryRow[] = [];
  const result = { rows, errors, encoding: file.encoding, notice: csvReadingNotice(file) };
  if (file.error) return { ...result, errors: [file.error] };
  const records = [...file.records];
  const header = records.shift();
  const names = header?.fields.map((f) => f.trim().toLowerCase()) ?? [];
  const idx = COLUMNS.map((c) => names.indexOf(c));
  if (!header || header.error || idx.some((i) => i < 0)) {
    return { ...result, errors: [{ line: header?.line ?? 1, message: `header must contain ${COLUMNS.join(',')} (separated by , or ;)` }] };
  }
  for (const r of records) {
    if (r.error) {
      errors.push({ line: r.line, message: r.error });
      continue;
    }
    const f = (i: number) => (r.fields[idx[i]!] ?? '').trim();
    const address = f(0).toLowerCase();
    const displayName = f(3);
    if (!ADDRESS.test(address)) errors.push({ line: r.line, message: 'address: not an e-mail address' });
    else if (!displayName || displayName.length > 200) errors.push({ line: r.line, message: 'display_name: required, at most 200 characters' });
    else rows.push({ address, rpps: f(1) || null, professionCode: f(2) || null, displayName });
  }
  return result;
}

export async function importDirectory(db: Db, rows: DirectoryRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  await db.transaction(async (tx) => {
    for (let i = 0; i < rows.length; i += 500) {
      await tx
        .insert(schema.professionals)
        .values(rows.slice(i, i + 500).map((r) => ({ ...r, updatedAt: new Date() })))
        .onConflictDoUpdate({
          target: schema.professionals.address,
          set: {
            rpps: sql`excluded.rpps`,
            professionCode: sql`excluded.profession_code`,
            displayName: sql`excluded.display_name`,
            updatedAt: sql`now()`,
          },
        });
    }
  });
  return rows.length;
}

export async function directoryNames(db: Db, addresses: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const uniq = [...new Set(addresses.filter(Boolean))];
  if (uniq.length === 0) return out;
  const rows = await db
    .select({ address: schema.professionals.address, displayName: schema.professionals.displayName })
    .from(schema.professionals)
    .where(inArray(schema.professionals.address, uniq));
  for (const r of rows) out.set(r.address, r.displayName);
  return out;
}
