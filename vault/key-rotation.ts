/**
 * Master-key rotation (`keys rotate`): a new key becomes the current one, then every data key still wrapped by
 * an older key is re-wrapped by the new one: blob data keys and the data keys inside sealed values; activity
 * chain heads are re-signed. Blobs and value bodies are NOT re-encrypted. Run it with the gateways stopped
 * (they read the key file at start, and one still running would keep wrapping with the old key).
 *
 * Steps, in this order, each durable before the next (ROTATION_STEPS names them; `afterStep` is called after
 * each, which is how the crash test kills the process between them):
 *   previous-kept    `<file>.prev` = the key file as it is now (temporary file, fsync, rename, fsync of the folder)
 *   temp-written     the new key file, fresh key first then EVERY older key, fsynced in a temporary file
 *   installed        renamed over the key file, folder fsynced: from here gateways start with the new key
 *   blobs-rewrapped  blob data keys re-wrapped (batches; each row records the id of the key that wraps it)
 *   values-rewrapped sealed values' data keys re-wrapped (the key id is in each value's header)
 *   heads-resigned   activity chain heads re-signed with the new key (only heads whose old signature verifies)
 *   confirmed        the key file read back from disk is checked (current key, every key of .prev kept), every
 *                    wrapped key in the database is under the current key, a sample decrypts: .prev removed
 *
 * Crash behaviour: the file gateways read holds every key any row is wrapped by at every instant, because the
 * new key is installed (with all older keys) before anything is wrapped with it; a kill between any two steps
 * (or a power cut, thanks to the fsyncs) therefore never loses the ability to decrypt, and the next start needs
 * no recovery beyond removing stray temporary files (keyring.ts). The next `keys rotate` resumes an interrupted
 * rotation instead of adding yet another key: when `.prev` is there and the key file's current key is not in
 * it, that key is the one being rotated to and the re-wrapping is finished with it. A `.prev` holding a key the
 * key file lacks is never overwritten (someone edited the file meanwhile): the rotation stops and says so.
 * Idempotent: a value already wrapped by the current key is left alone. Old keys may be removed from the file
 * only once a rotation reports "confirmed" (nothing left under them).
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { eq, ne, sql } from 'drizzle-orm';
import { type Db, schema, rowsOf } from '../db/index.js';
import { keyFileText, parseKeyFile, previousKeyFile, removeStaleKeyTemps, syncFolder, writeKeyFileDurably, type Keyring } from './keyring.js';
import { rewrapValue, sealedKeyId, unwrapDataKey, wrapDataKey } from './envelope.js';

export const ROTATION_STEPS = ['previous-kept', 'temp-written', 'installed', 'blobs-rewrapped', 'values-rewrapped', 'heads-resigned', 'confirmed'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

export interface RotationHooks {
  /** Called after each step is durable (tests kill the process here). */
  afterStep?: (step: RotationStep) => void | Promise<void>;
}

/**
 * What the master key protects outside the vault, given by the module that owns it (access/ composes the
 * rotation: the vault stands below the domain modules and imports none of them).
 */
export interface RotationRecords {
  /** Re-signs the activity chain heads with the new current key. */
  resignHeads: (db: Db, keyring: Keyring) => Promise<{ resigned: number; unverified: number }>;
  /** Opens one more sealed sample with the keys read back from disk (throws when it cannot). */
  openSample: (db: Db, keyring: Keyring) => Promise<void>;
}

/** Writes a new current key in front of the existing ones (durably); returns the new keyring. */
export async function addCurrentKey(file: string, hooks: RotationHooks = {}): Promise<Keyring> {
  const existing = parseKeyFile(await fs.readFile(file, 'utf8'));
  const text = keyFileText([crypto.randomBytes(32), ...existing.all.map((k) => k.key)]);
  await writeKeyFileDurably(file, text, 'replace', () => hooks.afterStep?.('temp-written'));
  await hooks.afterStep?.('installed');
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
  /** Blob keys and sealed values still wrapped by another key than the current one. */
  remaining: number;
}

type Row = { k: string | number; v: Buffer | Uint8Array };

/** Re-wraps everything not wrapped by the keyring's current key. */
export async function rewrapAll(db: Db, keyring: Keyring, hooks: RotationHooks = {}): Promise<RotationReport> {
  const current = keyring.current.id;
  let blobs = 0;
  for (;;) {
    const rows = await db
      .select({ id: schema.blobs.id, keyId: schema.blobs.keyId, wrappedKey: schema.blobs.wrappedKey })
      .from(schema.blobs)
      .where(ne(schema.blobs.keyId, current))
      .limit(500);
    if (rows.length === 0) break;
    await db.transaction(async (tx) => {
      for (const r of rows) {
        const w = wrapDataKey(keyring, unwrapDataKey(keyring, { keyId: r.keyId, wrapped: r.wrappedKey }));
        await tx.update(schema.blobs).set({ keyId: w.keyId, wrappedKey: w.wrapped }).where(eq(schema.blobs.id, r.id));
        blobs++;
      }
    });
  }
  await hooks.afterStep?.('blobs-rewrapped');
  let values = 0;
  for (const c of SEALED_COLUMNS) {
    let after: string | number | null = null;
    for (;;) {
      const rows: Row[] = rowsOf<Row>(
        await db.execute(
          sql`SELECT ${sql.raw(c.key)} AS k, ${sql.raw(c.column)} AS v FROM ${sql.raw(c.table)}
              WHERE ${sql.raw(c.column)} IS NOT NULL ${after === null ? sql`` : sql`AND ${sql.raw(c.key)} > ${after}`}
              ORDER BY ${sql.raw(c.key)} LIMIT 500`,
        ),
      );
      if (rows.length === 0) break;
      const stale = rows.map((r) => ({ k: r.k, v: Buffer.isBuffer(r.v) ? r.v : Buffer.from(r.v) })).filter((r) => sealedKeyId(r.v) !== current);
      if (stale.length > 0) {
        await db.transaction(async (tx) => {
          for (const r of stale) {
            await tx.execute(sql`UPDATE ${sql.raw(c.table)} SET ${sql.raw(c.column)} = ${rewrapValue(keyring, r.v)} WHERE ${sql.raw(c.key)} = ${r.k}`);
          }
        });
        values += stale.length;
      }
      after = rows[rows.length - 1]!.k;
    }
  }
  await hooks.afterStep?.('values-rewrapped');
  return { blobs, values, remaining: await countNotUnder(db, current) };
}

/** How many blob keys and sealed values are wrapped by another key than `keyId` (read from the rows themselves). */
export async function countNotUnder(db: Db, keyId: string): Promise<number> {
  const [left] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(schema.blobs)
    .where(ne(schema.blobs.keyId, keyId));
  let n = Number(left?.n ?? 0);
  const kid = Buffer.from(keyId, 'utf8');
  for (const c of SEALED_COLUMNS) {
    // vault/envelope.ts packSealed: version (1 byte), key id length (1 byte), key id
    const [r] = rowsOf<{ n: number }>(
      await db.execute(
        sql`SELECT count(*)::int AS n FROM ${sql.raw(c.table)}
            WHERE ${sql.raw(c.column)} IS NOT NULL AND substring(${sql.raw(c.column)} FROM 3 FOR get_byte(${sql.raw(c.column)}, 1)) <> ${kid}`,
      ),
    );
    n += Number(r?.n ?? 0);
  }
  return n;
}

export interface RotationResult extends RotationReport {
  keyId: string;
  /** An interrupted rotation was finished with the key it had installed (no new key generated). */
  resumed: boolean;
  heads: { resigned: number; unverified: number };
  /** The new key file was confirmed and `.prev` removed; false: nothing was lost, `.prev` kept, run it again. */
  confirmed: boolean;
}

/** One line for the operator. */
export function describeRotation(r: RotationResult): string {
  return [
    `${r.resumed ? 'interrupted rotation finished with' : 'new'} master key ${r.keyId}: ${r.blobs} blob keys and ${r.values} sealed values re-wrapped, ${r.remaining} left;`,
    `${r.heads.resigned} activity heads re-signed${r.heads.unverified ? `, ${r.heads.unverified} that did not verify left as they are` : ''};`,
    r.confirmed
      ? 'key file confirmed, previous copy removed (older keys may now be dropped from the file)'
      : `not confirmed: ${r.remaining} still under older keys (is a gateway still running?); previous copy kept, run keys rotate again`,
  ].join(' ');
}

/** The whole rotation (steps in the header). */
export async function rotateVaultMasterKey(db: Db, file: string, records: RotationRecords, hooks: RotationHooks = {}): Promise<RotationResult> {
  await removeStaleKeyTemps(file);
  const prevFile = previousKeyFile(file);
  const before = parseKeyFile(await fs.readFile(file, 'utf8'));
  const prevText = await fs.readFile(prevFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  const prev = prevText === null ? null : parseKeyFile(prevText);
  const lost = prev?.all.filter((k) => !before.has(k.id)) ?? [];
  if (lost.length > 0) {
    throw new Error(
      `${prevFile} holds ${lost.length} key(s) that ${file} lacks (the key file was edited after an unfinished rotation): put them back in ${path.basename(file)}, or remove ${path.basename(prevFile)} if they wrap nothing, then run keys rotate again`,
    );
  }
  let keyring: Keyring;
  const resumed = prev !== null && !prev.has(before.current.id);
  if (resumed) {
    keyring = before; // installed by a rotation that did not finish: finish with its key
  } else {
    await writeKeyFileDurably(prevFile, await fs.readFile(file, 'utf8'), 'replace');
    await hooks.afterStep?.('previous-kept');
    keyring = await addCurrentKey(file, hooks);
  }
  const report = await rewrapAll(db, keyring, hooks);
  const heads = await records.resignHeads(db, keyring);
  await hooks.afterStep?.('heads-resigned');
  const confirmed = await confirm(db, file, keyring, prevFile, records);
  if (confirmed) {
    await fs.rm(prevFile, { force: true });
    await syncFolder(path.dirname(file));
    await hooks.afterStep?.('confirmed');
  }
  // Counted again: rows written meanwhile under an older key (a gateway left running) are what keeps it unconfirmed.
  const remaining = confirmed ? 0 : await countNotUnder(db, keyring.current.id);
  return { ...report, remaining, keyId: keyring.current.id, resumed, heads, confirmed };
}

/** The key file on disk is the new one and holds every earlier key; the database is wholly under its current key. */
async function confirm(db: Db, file: string, keyring: Keyring, prevFile: string, records: RotationRecords): Promise<boolean> {
  const onDisk = parseKeyFile(await fs.readFile(file, 'utf8'));
  if (onDisk.current.id !== keyring.current.id) throw new Error(`${file} changed during the rotation: its current key is not ${keyring.current.id}`);
  const prev = parseKeyFile(await fs.readFile(prevFile, 'utf8'));
  const missing = prev.all.filter((k) => !onDisk.has(k.id));
  if (missing.length > 0) throw new Error(`${file} lacks ${missing.length} key(s) of ${prevFile}: the previous copy is kept`);
  if ((await countNotUnder(db, onDisk.current.id)) > 0) return false;
  // A sample, unwrapped with the keys read back from disk rather than those in memory.
  const [blob] = await db.select({ keyId: schema.blobs.keyId, wrappedKey: schema.blobs.wrappedKey }).from(schema.blobs).limit(1);
  if (blob) unwrapDataKey(onDisk, { keyId: blob.keyId, wrapped: blob.wrappedKey });
  await records.openSample(db, onDisk);
  return true;
}
