// BlobStore on a real PostgreSQL database: streaming round trip, tamper and truncation detection, orphans.
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { eq, sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, schema, type Database } from '../../db/index.js';
import { BlobStore, EnvelopeError, parseKeyFile } from '../../vault/index.js';
import { createTestDatabase } from '../support/harness.js';

let database: Database;
let store: BlobStore;

beforeAll(async () => {
  database = await openDatabase({ databaseUrl: await createTestDatabase(), dataDir: '/nonexistent' });
  store = new BlobStore(database.db, parseKeyFile(crypto.randomBytes(32).toString('base64')), 1000);
});
afterAll(async () => {
  await database?.close();
});

const pieces = (buf: Buffer, size = 333) =>
  Readable.from(
    (function* () {
      for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
    })(),
  );

describe('BlobStore', () => {
  it('round-trips multi-chunk data and stores no plaintext', async () => {
    const data = Buffer.from('confidentiel '.repeat(500));
    const b = await store.write(pieces(data), 'test');
    await database.db.transaction((tx) => b.persist(tx));
    expect(b.size).toBe(data.length);
    expect(b.sha256).toBe(crypto.createHash('sha256').update(data).digest('hex'));
    expect((await store.readAll(b.blobId)).equals(data)).toBe(true);
    const chunks = await database.db.select().from(schema.blobChunks).where(eq(schema.blobChunks.blobId, b.blobId));
    expect(chunks.length).toBe(Math.ceil(data.length / 1000));
    for (const c of chunks) expect(c.data.includes(Buffer.from('confidentiel'))).toBe(false);
  });

  it('round-trips any size cut into any pieces, inline or streamed (property)', async () => {
    const inlineStore = new BlobStore(database.db, parseKeyFile(crypto.randomBytes(32).toString('base64')), 1000, {
      inlineBytes: 3000,
      writePool: database.writePool,
    });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 7_000 }), fc.integer({ min: 1, max: 2_500 }), async (len, piece) => {
        const data = crypto.randomBytes(len);
        const b = await inlineStore.write(pieces(data, piece), 'test');
        expect(b.inline !== null).toBe(Math.max(1, Math.ceil(len / 1000)) * 1000 <= 3000);
        await database.db.transaction((tx) => b.persist(tx));
        expect((await inlineStore.readAll(b.blobId)).equals(data)).toBe(true);
        expect(b.sha256).toBe(crypto.createHash('sha256').update(data).digest('hex'));
      }),
      { numRuns: 40 },
    );
  });

  it('writes a small blob only inside the caller transaction', async () => {
    const b = await store.write(pieces(Buffer.from('petit')), 'test');
    const before = await database.db.select().from(schema.blobs).where(eq(schema.blobs.id, b.blobId));
    expect(before).toHaveLength(0);
    await database.db.transaction((tx) => b.persist(tx));
    expect((await store.readAll(b.blobId)).toString()).toBe('petit');
  });

  it('detects a truncated blob (last chunk removed) and swapped chunks', async () => {
    const data = crypto.randomBytes(3500);
    const b = await store.write(pieces(data), 'test');
    await database.db.execute(sql`UPDATE blobs SET chunk_count = chunk_count - 1 WHERE id = ${b.blobId}`);
    await expect(store.readAll(b.blobId)).rejects.toBeInstanceOf(EnvelopeError);
    const c = await store.write(pieces(data), 'test');
    for (const [from, to] of [
      [0, 100],
      [1, 0],
      [100, 1],
    ]) {
      await database.db.execute(sql`UPDATE blob_chunks SET seq = ${to} WHERE blob_id = ${c.blobId} AND seq = ${from}`);
    }
    await expect(store.readAll(c.blobId)).rejects.toBeInstanceOf(EnvelopeError);
  });

  it('collects unreferenced blobs older than the orphan age, and only those', async () => {
    const orphan = await store.write(pieces(crypto.randomBytes(2500)), 'test');
    expect(await store.collectOrphans(60_000)).toBe(0); // too young
    await database.db.execute(sql`UPDATE blobs SET created_at = now() - interval '2 hours' WHERE id = ${orphan.blobId}`);
    expect(await store.collectOrphans(60_000)).toBeGreaterThanOrEqual(1);
    const left = await database.db.select().from(schema.blobChunks).where(eq(schema.blobChunks.blobId, orphan.blobId));
    expect(left).toHaveLength(0);
  });
});
