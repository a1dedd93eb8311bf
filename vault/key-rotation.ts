/**
 * Master-key rotation: a new key becomes the current one (first line of the key file, the old keys kept after it
 * so that nothing becomes unreadable), then every data key still wrapped by an older key is re-wrapped by the new
 * one: blob data keys and the data keys inside sealed values. Blobs and value bodies are NOT re-encrypted.
 * Idempotent and resumable: a value already wrapped by the current key is left alone, so an interrupted rotation
 * is finished by running it again. Old keys may be removed from the file only once it reports nothing left.
 * Run it with the gateways stopped (they read the key file at start).
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { eq, ne, sql } from 'drizzle-orm';
import type { Db } from '../db/index.js';
import { schema } from '../db/index.js';
import { parseKeyFile, type Keyring } from './keyring.js';
import { rewrapValue, sealedKeyId, unwrapDataKey, wrapDataKey } from './envelope.js';

/** Writes a new current key in front of the existing ones (atomically); returns the new keyring. */
export async function addCurrentKey(file: string): Promise<Keyring> {
  const existing = await fs.readFile(file, 'utf8');
  const fresh = crypto.randomBytes(32).toString('base64');
  const lines = existing.split(/\r?\n/).filter((l) => l.trim() && !l.trim().startsWith('#'));
  const text = `# mes-gateway master keys: the first is current, the others unwrap older data.\n${[fresh, ...lines].join('\n')}\n`;
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.writeFile(tmp, text, { mode: 0o600 });
  await fs.rename(tmp, file);
  return parseKeyFile(text);
}

const SEALED_COLUMNS = [
  { table: 'patients', key: 'id', column: 'identity' },
  { table: 'mailbox_messages', key: 'id', column: 'content' },
  { table: 'documents', key: 'id', column: 'meta' },
  { table: 'contacts', key: 'id', column: 'meta' },
  { table: 'activity_events', key: 'id', column: 'detail' },
] as const;

export interface RotationReport {
  blobs: number;
  values: number;
  remaining: number;
}

/** Re-wraps everything not wrapped by the keyring's current key. */
export async function rewrapAll(db: Db, keyring: Keyring): Promise<RotationReport> {
  const current = keyring.current.id;
  let blobs = 0;
  for (;;) {
    const rows = await db
      .select({ id: schema.blobs.id, keyId: schema.blobs.keyId, wrappedKey: schema.blobs.wrappedKey })
      .from(schema.blobs)
      .where(ne(schema.blobs.keyId, current))
      .limit(500);
    if (rows.length === 0) break;
    for (const r of rows) {
      const w = wrapDataKey(keyring, unwrapDataKey(keyring, { keyId: r.keyId, wrapped: r.wrappedKey }));
      await db.update(schema.blobs).set({ keyId: w.keyId, wrappedKey: w.wrapped }).where(eq(schema.blobs.id, r.id));
      blobs++;
    }
  }
  let values = 0;
  for (const c of SEALED_COLUMNS) {
    let after: string | number | null = null;
    for (;;) {
      const res = (await db.execute(
        sql`SELECT ${sql.raw(c.key)} AS k, ${sql.raw(c.column)} AS v FROM ${sql.raw(c.table)}
            WHERE ${sql.raw(c.column)} IS NOT NULL ${after === null ? sql`` : sql`AND ${sql.raw(c.key)} > ${after}`}
            ORDER BY ${sql.raw(c.key)} LIMIT 500`,
      )) as unknown;
      const rows = (Array.isArray(res) ? res : (res as { rows: { k: string | number; v: Buffer | Uint8Array }[] }).rows) as { k: string | number; v: Buffer | Uint8Array }[];
      if (rows.length === 0) break;
      for (const r of rows) {
        const v = Buffer.isBuffer(r.v) ? r.v : Buffer.from(r.v);
        if (sealedKeyId(v) !== current) {
          await db.execute(sql`UPDATE ${sql.raw(c.table)} SET ${sql.raw(c.column)} = ${rewrapValue(keyring, v)} WHERE ${sql.raw(c.key)} = ${r.k}`);
          values++;
        }
      }
      after = rows[rows.length - 1]!.k;
    }
  }
  const [left] = await db.select({ n: sql<number>`count(*)::int` }).from(schema.blobs).where(ne(schema.blobs.keyId, current));
  return { blobs, values, remaining: Number(left?.n ?? 0) };
}
