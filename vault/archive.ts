/**
 * The patient's archive: every current document, decrypted, in one ZIP streamed as it is read, so that even a
 * large record is never held in memory. Offered before closure.
 *
 * Guarantees:
 * - Written by yazl (same author as the yauzl reader used elsewhere): ZIP64 records are added by yazl whenever an
 *   entry, an offset or the entry count needs them (past 4 GiB or 65 535 entries), plain ZIP otherwise, so every
 *   archive opens in the usual tools.
 * - Entries are stored, not compressed (documents are PDFs and images, already compressed), named
 *   `<rubric>/<title>` with the file's extension, path characters replaced and duplicates numbered.
 * - Each document's decryption starts only when the archive reaches it (lazy entries): one blob is open at a time.
 *   Documents are read by pages of 200, the next page only when the archive reaches the end of the previous one,
 *   so memory is bounded by two pages however large the record. Each page's blob headers come in one query,
 *   with the sealed bytes of its small one-chunk blobs (up to 32 KiB): an archive of 65 600 small documents
 *   (past the 65 535 entries of a classic ZIP) is a few hundred queries, not 130 000.
 * - Names stay unique in linear time however many documents share a title (numbered "… (2)", "… (3)").
 * - Documents hidden from the patient (announcement consultation) are left out.
 * - Any failure (database, blob read, decryption) destroys the stream with that error: the download breaks
 *   off and the client sees a truncated ZIP, never an archive silently missing documents.
 */
import { PassThrough, type Readable } from 'node:stream';
import yazl from 'yazl';
import type { Db } from '../db/index.js';
import type { BlobHeader, BlobStore } from './blob-store.js';
import type { Keyring } from './keyring.js';
import { currentDocuments, documentContent, readMeta } from './documents.js';

function safeName(s: string): string {
  return (
    s
      // eslint-disable-next-line no-control-regex -- controls and separators must not reach a file name
      .replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, '_')
      .trim()
      .slice(0, 150) || 'document'
  );
}

/** Per `used` set: the next number to try for each name already taken (so 10 000 "Résultats.pdf" stay linear). */
const nextNumber = new WeakMap<Set<string>, Map<string, number>>();

/** The entry name of a document, unique within `used` (which it updates). */
export function archiveEntryName(rubric: string, meta: { title?: string | null; filename: string }, used: Set<string>): string {
  let base = `${rubric}/${safeName(meta.title || meta.filename)}`;
  const ext = /\.[a-z0-9]{1,5}$/i.exec(meta.filename)?.[0] ?? '';
  if (ext && !base.toLowerCase().endsWith(ext.toLowerCase())) base += ext;
  let name = base;
  if (used.has(name)) {
    let counters = nextNumber.get(used);
    if (!counters) nextNumber.set(used, (counters = new Map()));
    let i = counters.get(base) ?? 2;
    const numbered = (n: number) => base.replace(/( \(\d+\))?(\.[^./]*)?$/, (_m, _n, e: string | undefined) => ` (${n})${e ?? ''}`);
    for (name = numbered(i); used.has(name); name = numbered(++i));
    counters.set(base, i + 1);
  }
  used.add(name);
  return name;
}

/** Documents per page: one query for the page, one for its blobs' headers. */
const PAGE = 200;
/**
 * A one-chunk blob up to this size comes (still encrypted) with its page's headers, so the archive reads it with
 * no query of its own: a record of many small documents (notes, CDA, HL7) is not one round trip per entry. With
 * at most two pages loaded at a time, that is at most 2 × 200 × 32 KiB held.
 */
const PREFETCH_MAX_BYTES = 32 * 1024;

interface BlobStart {
  header: BlobHeader;
  firstChunk: Buffer | null;
}

/** The blob headers of one page of documents (and the sealed chunk of the small ones), in one query. */
async function blobStarts(blobs: BlobStore, ids: string[]): Promise<Map<string, BlobStart>> {
  if (ids.length === 0) return new Map();
  const rows = await blobs.query<{ id: string; wrapped_key: Buffer; key_id: string; chunk_count: number; complete: boolean; first: Buffer | null }>(
    `SELECT b.id, b.wrapped_key, b.key_id, b.chunk_count, b.complete,
            CASE WHEN b.chunk_count = 1 AND b.size <= $2 THEN c.data END AS first
       FROM blobs b LEFT JOIN blob_chunks c ON c.blob_id = b.id AND c.seq = 0
      WHERE b.id = ANY($1::uuid[])`,
    [[...new Set(ids)], PREFETCH_MAX_BYTES],
  );
  return new Map(
    rows.map((r) => [
      r.id,
      { header: { blobId: r.id, wrappedKey: r.wrapped_key, keyId: r.key_id, chunkCount: r.chunk_count, complete: r.complete }, firstChunk: r.first },
    ]),
  );
}

export function documentsArchive(db: Db, keyring: Keyring, blobs: BlobStore, patientId: string): Readable {
  const zip = new yazl.ZipFile();
  const out = new PassThrough();
  const fail = (err: Error) => out.destroy(err);
  zip.on('error', fail);
  zip.outputStream.on('error', fail);
  zip.outputStream.pipe(out);
  const used = new Set<string>();
  // Pages are added as the archive reaches the last entry of the previous one (not all at once), so what is
  // held is bounded by two pages whatever the size of the record; then `end` writes the central directory.
  const addPage = async (cursor: string | undefined): Promise<void> => {
    const page = await currentDocuments(db, patientId, { limit: PAGE, cursor, includeHidden: false });
    const starts = await blobStarts(
      blobs,
      page.rows.map((r) => r.blobId),
    );
    page.rows.forEach((row, i) => {
      const name = archiveEntryName(row.rubric, readMeta(keyring, row), used);
      const last = i === page.rows.length - 1;
      zip.addReadStreamLazy(name, { mtime: row.createdAt, compress: false }, (cb) => {
        if (last) {
          if (page.next) addPage(page.next).catch(fail);
          else zip.end();
        }
        const start = starts.get(row.blobId);
        cb(null, start ? blobs.openStream(start.header, start.firstChunk) : documentContent(blobs, row));
      });
    });
    if (page.rows.length === 0) zip.end();
  };
  addPage(undefined).catch(fail);
  return out;
}
