/**
 * Encrypted blob storage in PostgreSQL, chunk by chunk (AES-256-GCM, a data key per blob wrapped by the master
 * key), so that no message or document larger than `inlineBytes` is ever held whole in memory.
 *
 * Write, two regimes:
 * - A blob of at most `inlineBytes` is sealed in memory and written by the caller's own statement
 *   (`inlineBlobCtes`, or `persist(tx)`): the blob, its chunks and what references them cost one round trip
 *   and one commit.
 * - A larger blob is streamed: its row and chunks are written as they come, each by an autocommitted statement
 *   on the write pool, whose commits are asynchronous (`synchronous_commit = off` on that pool). That is safe
 *   because nothing can reference a blob before the caller's own statement commits synchronously, and a
 *   synchronous commit flushes the WAL up to its own record, which comes after every chunk's: once the
 *   reference is durable, so are the chunks. A crash or an error before that commit leaves an unreferenced
 *   blob that `collectOrphans` deletes once it is older than the orphan age; a blob is marked complete before
 *   it can be referenced, so no reference ever points at a partial blob.
 *
 * Read: chunks are fetched a few per query and authenticated one by one; a
 * missing, swapped or truncated chunk fails the stream with EnvelopeError (the AAD binds blob id, sequence
 * number and the last-chunk flag).
 */
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { and, lt, sql } from 'drizzle-orm';
import type pg from 'pg';
import { type Cte, type Db, type Tx, queryPrepared, schema } from '../db/index.js';
import type { Keyring } from './keyring.js';
import { EnvelopeError, newDataKey, openChunk, sealChunk, unwrapDataKey, wrapDataKey } from './envelope.js';

export interface StoredBlob {
  blobId: string;
  size: number;
  sha256: string;
  /** Runs the remaining writes inside the caller's transaction (a no-op for a blob already committed). */
  persist(tx: Tx): Promise<void>;
  /**
   * For a blob of at most `inlineBytes`: the rows still to write, so a caller can write them in its own single
   * statement (see gateway/ingress/accept.ts); null when the blob is already committed.
   */
  inline: InlineBlobRows | null;
}

export interface InlineBlobRows {
  blob: typeof schema.blobs.$inferInsert;
  chunks: Buffer[];
}

/** What a reader needs to open a blob (see BlobStore.openStream). */
export interface BlobHeader {
  blobId: string;
  wrappedKey: Buffer;
  keyId: string;
  chunkCount: number;
  complete: boolean;
}

/**
 * The two CTEs that write an inline blob inside a caller's single statement (db/cte.ts), named `${prefix}b` and
 * `${prefix}c`; with `guard` (a CTE name), only when that CTE returned a row.
 */
export function inlineBlobCtes(rows: InlineBlobRows, prefix: string, guard?: string): Cte[] {
  const b = rows.blob;
  const from = guard ? sql.raw(` FROM ${guard}`) : sql``;
  const id = sql`${b.id}::uuid`;
  return [
    [
      `${prefix}b`,
      sql`INSERT INTO blobs (id, purpose, wrapped_key, key_id, size, sha256, chunk_count, complete)
         SELECT ${id}, ${b.purpose}::text, ${b.wrappedKey}::bytea, ${b.keyId}::text, ${b.size}::bigint, ${b.sha256}::text, ${rows.chunks.length}::int, true${from}`,
    ],
    [
      `${prefix}c`,
      sql`INSERT INTO blob_chunks (blob_id, seq, data)
         SELECT ${id}, v.seq, v.data FROM (VALUES ${sql.join(
           rows.chunks.map((c, seq) => sql`(${seq}::int, ${c}::bytea)`),
           sql`, `,
         )}) AS v(seq, data)${guard ? sql.raw(`, ${guard}`) : sql``}`,
    ],
  ];
}

export class BlobTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`blob exceeds ${limit} bytes`);
    this.name = 'BlobTooLargeError';
  }
}

const aad = (blobId: string, seq: number, last: boolean) => `blob:${blobId}:${seq}:${last ? 1 : 0}`;

/** Chunks fetched per read query: bounded memory (a few chunks), few round trips. */
const READ_BATCH = 2;

export interface BlobStoreOptions {
  /** Blobs up to this size are written by the caller's statement (default: one chunk). */
  inlineBytes?: number;
  /** Pool for streamed chunk writes, with asynchronous commit (default: the database's own pool). */
  writePool?: pg.Pool;
}

export class BlobStore {
  private readonly pool: pg.Pool;
  private readonly writePool: pg.Pool;
  private readonly inlineBytes: number;

  constructor(
    private readonly db: Db,
    private readonly keyring: Keyring,
    private readonly chunkBytes: number,
    opts: BlobStoreOptions = {},
  ) {
    this.pool = (db as unknown as { $client: pg.Pool }).$client;
    this.writePool = opts.writePool ?? this.pool;
    this.inlineBytes = Math.max(opts.inlineBytes ?? chunkBytes, 1);
  }

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
    // The chunk being filled (each byte is copied into it once), and the last full chunk, held back until we
    // know whether it is the last one (its AAD says so).
    // It starts small and doubles up to the chunk size, so a 10 KB message does not allocate a whole chunk.
    let cur = Buffer.allocUnsafe(Math.min(this.chunkBytes, 16 * 1024));
    let curLen = 0;
    const held: Buffer[] = [];
    let heldPlain: Buffer | null = null;
    let streaming = false;
    let seq = 0;

    const emit = async (plain: Buffer, last: boolean) => {
      const sealed = sealChunk(dek, plain, aad(blobId, seq, last));
      seq++;
      if (!streaming && seq * this.chunkBytes > this.inlineBytes) {
        streaming = true;
        await queryPrepared(this.writePool, 'INSERT INTO blobs (id, purpose, wrapped_key, key_id) VALUES ($1, $2, $3, $4)', [
          blobId,
          purpose,
          wrapped.wrapped,
          wrapped.keyId,
        ]);
        for (const [i, c] of held.entries()) await this.insertChunk(blobId, i, c);
        held.length = 0;
      }
      if (streaming) await this.insertChunk(blobId, seq - 1, sealed);
      else held.push(sealed);
    };

    for await (const piece of source) {
      const buf = typeof piece === 'string' ? Buffer.from(piece) : piece;
      size += buf.length;
      if (opts.maxBytes !== undefined && size > opts.maxBytes) throw new BlobTooLargeError(opts.maxBytes);
      hash.update(buf);
      let off = 0;
      while (off < buf.length) {
        if (curLen === cur.length && cur.length < this.chunkBytes) {
          const bigger = Buffer.allocUnsafe(Math.min(this.chunkBytes, cur.length * 2));
          cur.copy(bigger, 0, 0, curLen);
          cur = bigger;
        }
        const n = Math.min(cur.length - curLen, buf.length - off);
        buf.copy(cur, curLen, off, off + n);
        curLen += n;
        off += n;
        if (curLen === this.chunkBytes) {
          if (heldPlain) await emit(heldPlain, false);
          heldPlain = cur;
          cur = Buffer.allocUnsafe(this.chunkBytes); // a second chunk: the blob is large
          curLen = 0;
        }
      }
    }
    const tail = cur.subarray(0, curLen);
    const sha256 = hash.digest('hex');
    if (heldPlain) await emit(heldPlain, tail.length === 0);
    if (tail.length > 0 || seq === 0) await emit(tail, true);

    if (!streaming) {
      const inline: InlineBlobRows = {
        blob: { id: blobId, purpose, wrappedKey: wrapped.wrapped, keyId: wrapped.keyId, size, sha256, chunkCount: seq, complete: true },
        chunks: [...held],
      };
      return {
        blobId,
        size,
        sha256,
        inline,
        persist: async (tx) => {
          await tx.insert(schema.blobs).values(inline.blob);
          await tx.insert(schema.blobChunks).values(inline.chunks.map((data, i) => ({ blobId, seq: i, data })));
        },
      };
    }
    await queryPrepared(this.writePool, 'UPDATE blobs SET size = $2, sha256 = $3, chunk_count = $4, complete = true WHERE id = $1', [
      blobId,
      size,
      sha256,
      seq,
    ]);
    return { blobId, size, sha256, inline: null, persist: async () => {} };
  }

  private async insertChunk(blobId: string, seq: number, data: Buffer): Promise<void> {
    await queryPrepared(this.writePool, 'INSERT INTO blob_chunks (blob_id, seq, data) VALUES ($1, $2, $3)', [blobId, seq, data]);
  }

  /**
   * A query on the store's pool, for readers that fetch a blob's header with their own rows (one round trip).
   * Results are text-format (node-postgres decodes every row as text: bytea arrives hex-encoded and is decoded
   * natively); parameters that are Buffers are sent in binary.
   */
  async query<R>(text: string, values: unknown[]): Promise<R[]> {
    return queryPrepared<R>(this.pool, text, values);
  }

  /** A stream of the decrypted blob; fails with EnvelopeError on any tampering. */
  read(blobId: string): Readable {
    return Readable.from(this.chunksById(blobId), { objectMode: false });
  }

  private async *chunksById(blobId: string): AsyncGenerator<Buffer> {
    const [h] = await this.query<{ wrapped_key: Buffer; key_id: string; chunk_count: number; complete: boolean }>(
      'SELECT wrapped_key, key_id, chunk_count, complete FROM blobs WHERE id = $1',
      [blobId],
    );
    if (!h) throw new EnvelopeError(`blob ${blobId} is missing or incomplete`);
    yield* this.chunksOf({ blobId, wrappedKey: h.wrapped_key, keyId: h.key_id, chunkCount: h.chunk_count, complete: h.complete }, null);
  }

  /**
   * A stream of a blob whose header (and, optionally, first sealed chunk) the caller already fetched in a query
   * of its own (e.g. with the delivery it belongs to): saves the round trips of `read`.
   */
  openStream(header: BlobHeader, firstChunk: Buffer | null): Readable {
    return Readable.from(this.chunksOf(header, firstChunk), { objectMode: false });
  }

  private async *chunksOf(h: BlobHeader, firstChunk: Buffer | null): AsyncGenerator<Buffer> {
    if (!h.complete) throw new EnvelopeError(`blob ${h.blobId} is missing or incomplete`);
    const dek = unwrapDataKey(this.keyring, { keyId: h.keyId, wrapped: h.wrappedKey });
    let seq = 0;
    const last = h.chunkCount - 1;
    if (firstChunk && h.chunkCount > 0) {
      yield openChunk(dek, firstChunk, aad(h.blobId, 0, last === 0));
      seq = 1;
    }
    while (seq < h.chunkCount) {
      const upTo = Math.min(seq + READ_BATCH, h.chunkCount);
      const rows = await this.query<{ seq: number; data: Buffer }>(
        'SELECT seq, data FROM blob_chunks WHERE blob_id = $1 AND seq >= $2 AND seq < $3 ORDER BY seq',
        [h.blobId, seq, upTo],
      );
      for (const r of rows) {
        if (r.seq !== seq) throw new EnvelopeError(`blob ${h.blobId} chunk ${seq} is missing`);
        yield openChunk(dek, r.data, aad(h.blobId, seq, seq === last));
        seq++;
      }
      if (seq < upTo) throw new EnvelopeError(`blob ${h.blobId} chunk ${seq} is missing`);
    }
  }

  async readAll(blobId: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const c of this.read(blobId)) parts.push(c as Buffer);
    return Buffer.concat(parts);
  }

  /** Deletes blobs older than `olderThanMs` that no message or document references. Returns how many. */
  /**
   * Writes an inline blob in its own transaction (a blob several statements will reference, e.g. one
   * attachment filed for several recipients). Unreferenced afterwards, it is collected like any orphan.
   */
  async persistNow(stored: StoredBlob): Promise<void> {
    if (stored.inline) await this.db.transaction((tx) => stored.persist(tx));
  }

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
