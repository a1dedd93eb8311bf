/**
 * Encrypted blob storage in the database, chunk by chunk, so that no message or document is ever held whole
 * in memory (at most two chunks per blob being written or read).
 *
 * Write: the blob row and its chunks are committed as they stream in, outside the caller's transaction (a
 * long transaction would block PGlite's single session); the caller's transaction then references the blob.
 * A blob that fits in one chunk is instead written inside the caller's transaction (`persist(tx)`), saving
 * three round trips for the common small message. A crash or an error before the caller's COMMIT leaves an
 * unreferenced blob that `collectOrphans` deletes once it is older than the orphan age; never a reference to
 * a partial blob, since a blob is marked complete before it can be referenced.
 *
 * Read: chunks are fetched and authenticated one at a time; a missing, swapped or truncated chunk fails the
 * stream with EnvelopeError (the AAD binds blob id, sequence number and the last-chunk flag).
 */
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { and, asc, eq, lt, sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from '../db/index.js';
import { schema } from '../db/index.js';
import type { Keyring } from './keyring.js';
import { EnvelopeError, newDataKey, openChunk, sealChunk, unwrapDataKey, wrapDataKey } from './envelope.js';

export interface StoredBlob {
  blobId: string;
  size: number;
  sha256: string;
  /** Runs the remaining writes inside the caller's transaction (a no-op for a blob already committed). */
  persist(tx: Tx): Promise<void>;
  /**
   * For a blob that fits in one chunk: the rows still to write, so a caller can write them in its own single
   * statement (see gateway/ingress/accept.ts); null when the blob is already committed.
   */
  inline: InlineBlobRows | null;
}

/**
 * The two CTE bodies that write a one-chunk blob inside a caller's single statement, named `${prefix}b` and
 * `${prefix}c`; with `guard` (a CTE name), only when that CTE returned a row.
 */
export function inlineBlobCtes(rows: InlineBlobRows, prefix: string, guard?: string): SQL[] {
  const b = rows.blob;
  const c = rows.chunk;
  const from = guard ? sql.raw(` FROM ${guard}`) : sql``;
  return [
    sql`${sql.raw(`${prefix}b`)} AS (INSERT INTO blobs (id, purpose, wrapped_key, key_id, size, sha256, chunk_count, complete)
         SELECT ${b.id}::uuid, ${b.purpose}::text, ${b.wrappedKey}::bytea, ${b.keyId}::text, ${b.size}::bigint, ${b.sha256}::text, 1, true${from})`,
    sql`${sql.raw(`${prefix}c`)} AS (INSERT INTO blob_chunks (blob_id, seq, data) SELECT ${c.blobId}::uuid, 0, ${c.data}::bytea${from})`,
  ];
}

export interface InlineBlobRows {
  blob: typeof schema.blobs.$inferInsert;
  chunk: typeof schema.blobChunks.$inferInsert;
}

export class BlobTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`blob exceeds ${limit} bytes`);
    this.name = 'BlobTooLargeError';
  }
}

const aad = (blobId: string, seq: number, last: boolean) => `blob:${blobId}:${seq}:${last ? 1 : 0}`;

export class BlobStore {
  constructor(
    private readonly db: Db,
    private readonly keyring: Keyring,
    private readonly chunkBytes: number,
  ) {}

  /**
   * Encrypts and stores `source`. `maxBytes`: stop and throw BlobTooLargeError past it (the source is then
   * left unconsumed; the caller drains or destroys it).
   */
  async write(source: AsyncIterable<Buffer | string>, purpose: string, opts: { maxBytes?: number } = {}): Promise<StoredBlob> {
    const blobId = crypto.randomUUID();
    const dek = newDataKey();
    const wrapped = wrapDataKey(this.keyring, dek);
    const hash = crypto.createHash('sha256');
    let size = 0;
    let seq = 0;
    let pending: Buffer[] = [];
    let pendingLen = 0;
    let rowWritten = false;
    let ready: Buffer | null = null; // a full chunk held back until we know whether it is the last one

    const flush = async (chunk: Buffer, last: boolean) => {
      if (!rowWritten) {
        await this.db.insert(schema.blobs).values({ id: blobId, purpose, wrappedKey: wrapped.wrapped, keyId: wrapped.keyId });
        rowWritten = true;
      }
      await this.db.insert(schema.blobChunks).values({ blobId, seq, data: sealChunk(dek, chunk, aad(blobId, seq, last)) });
      seq++;
    };

    for await (const piece of source) {
      const buf = typeof piece === 'string' ? Buffer.from(piece) : piece;
      size += buf.length;
      if (opts.maxBytes !== undefined && size > opts.maxBytes) throw new BlobTooLargeError(opts.maxBytes);
      hash.update(buf);
      pending.push(buf);
      pendingLen += buf.length;
      while (pendingLen >= this.chunkBytes) {
        const all = Buffer.concat(pending, pendingLen);
        const chunk = all.subarray(0, this.chunkBytes);
        const rest = all.subarray(this.chunkBytes);
        pending = rest.length ? [Buffer.from(rest)] : [];
        pendingLen = rest.length;
        if (ready) await flush(ready, false);
        ready = Buffer.from(chunk);
      }
    }
    const tail = Buffer.concat(pending, pendingLen);
    const sha256 = hash.digest('hex');

    if (!rowWritten && (ready === null || tail.length === 0)) {
      // Fits in one chunk: everything is written in the caller's transaction.
      const only = ready ?? tail;
      const inline: InlineBlobRows = {
        blob: { id: blobId, purpose, wrappedKey: wrapped.wrapped, keyId: wrapped.keyId, size, sha256, chunkCount: 1, complete: true },
        chunk: { blobId, seq: 0, data: sealChunk(dek, only, aad(blobId, 0, true)) },
      };
      return {
        blobId,
        size,
        sha256,
        inline,
        persist: async (tx) => {
          await tx.insert(schema.blobs).values(inline.blob);
          await tx.insert(schema.blobChunks).values(inline.chunk);
        },
      };
    }
    if (ready) await flush(ready, tail.length === 0);
    if (tail.length > 0) await flush(tail, true);
    await this.db
      .update(schema.blobs)
      .set({ size, sha256, chunkCount: seq, complete: true })
      .where(eq(schema.blobs.id, blobId));
    return { blobId, size, sha256, inline: null, persist: async () => {} };
  }

  /** A stream of the decrypted blob; fails with EnvelopeError on any tampering. */
  read(blobId: string): Readable {
    const db = this.db;
    const keyring = this.keyring;
    async function* chunks(): AsyncGenerator<Buffer> {
      const [row] = await db.select().from(schema.blobs).where(eq(schema.blobs.id, blobId));
      if (!row || !row.complete) throw new EnvelopeError(`blob ${blobId} is missing or incomplete`);
      const dek = unwrapDataKey(keyring, { keyId: row.keyId, wrapped: row.wrappedKey });
      for (let seq = 0; seq < row.chunkCount; seq++) {
        const [c] = await db
          .select({ data: schema.blobChunks.data })
          .from(schema.blobChunks)
          .where(and(eq(schema.blobChunks.blobId, blobId), eq(schema.blobChunks.seq, seq)))
          .orderBy(asc(schema.blobChunks.seq));
        if (!c) throw new EnvelopeError(`blob ${blobId} chunk ${seq} is missing`);
        yield openChunk(dek, c.data, aad(blobId, seq, seq === row.chunkCount - 1));
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  async readAll(blobId: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const c of this.read(blobId)) parts.push(c as Buffer);
    return Buffer.concat(parts);
  }

  /** Deletes blobs older than `olderThanMs` that no message or document references. Returns how many. */
  async collectOrphans(olderThanMs: number): Promise<number> {
    const cutoff = new Date(Date.now() - olderThanMs);
    const res = await this.db
      .delete(schema.blobs)
      .where(
        and(
          lt(schema.blobs.createdAt, cutoff),
          sql`NOT EXISTS (SELECT 1 FROM ${schema.inboundMessages} m WHERE m.raw_blob_id = ${schema.blobs.id})`,
          sql`NOT EXISTS (SELECT 1 FROM ${schema.documents} d WHERE d.blob_id = ${schema.blobs.id})`,
          sql`NOT EXISTS (SELECT 1 FROM ${schema.outboundMessages} o WHERE o.raw_blob_id = ${schema.blobs.id})`,
        ),
      )
      .returning({ id: schema.blobs.id });
    return res.length;
  }
}
