/**
 * The professionals' directory: MSSanté address → RPPS, profession code (TRE_G15), display name. Imported from
 * CSV (header `address,rpps,profession_code,display_name`), all rows or none; display names shown to patients
 * come from here when known. Bad rows are reported by line and nothing is imported.
 */
import { inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/index.js';
import { schema } from '../db/index.js';
import { readCsvRecords } from '../access/rules/patient-csv.js';

export interface DirectoryRow {
  address: string;
  rpps: string | null;
  professionCode: string | null;
  displayName: string;
}

const COLUMNS = ['address', 'rpps', 'profession_code', 'display_name'] as const;
const ADDRESS = /^[^\s@]+@[a-z0-9.-]+\.[a-z]{2,}$/;

export function parseDirectoryCsv(text: string): { rows: DirectoryRow[]; errors: { line: number; message: string }[] } {
  const records = readCsvRecords(text.replace(/^\uFEFF/, '')).filter((r) => !r.blank);
  const errors: { line: number; message: string }[] = [];
  const rows: DirectoryRow[] = [];
  const header = records.shift();
  const names = header?.fields.map((f) => f.trim().toLowerCase()) ?? [];
  const idx = COLUMNS.map((c) => names.indexOf(c));
  if (!header || idx.some((i) => i < 0)) {
    return { rows, errors: [{ line: 1, message: `header must contain ${COLUMNS.join(',')}` }] };
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
  return { rows, errors };
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
