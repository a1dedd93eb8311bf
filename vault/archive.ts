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
 * - Documents hidden from the patient (announcement consultation) are left out.
 * - Any failure (database, blob read, decryption) destroys the stream with that error: the download breaks
 *   off and the client sees a truncated ZIP, never an archive silently missing documents.
 */
import { PassThrough, type Readable } from 'node:stream';
import yazl from 'yazl';
import type { Db } from '../db/index.js';
import type { BlobStore } from './blob-store.js';
import type { Keyring } from './keyring.js';
import { currentDocuments, documentContent, readMeta } from './documents.js';

function safeName(s: string): string {
  // eslint-disable-next-line no-control-regex -- controls and separators must not reach a file name
  return s.replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, '_').trim().slice(0, 150) || 'document';
}

/** The entry name of a document, unique within `used` (which it updates). */
export function archiveEntryName(rubric: string, meta: { title?: string | null; filename: string }, used: Set<string>): string {
  let name = `${rubric}/${safeName(meta.title || meta.filename)}`;
  const ext = /\.[a-z0-9]{1,5}$/i.exec(meta.filename)?.[0] ?? '';
  if (ext && !name.toLowerCase().endsWith(ext.toLowerCase())) name += ext;
  for (let i = 2; used.has(name); i++) name = name.replace(/( \(\d+\))?(\.[^./]*)?$/, (_m, _n, e: string | undefined) => ` (${i})${e ?? ''}`);
  used.add(name);
  return name;
}

export function documentsArchive(db: Db, keyring: Keyring, blobs: BlobStore, patientId: string): Readable {
  const zip = new yazl.ZipFile();
  const out = new PassThrough();
  const fail = (err: Error) => out.destroy(err);
  zip.on('error', fail);
  zip.outputStream.on('error', fail);
  zip.outputStream.pipe(out);
  void (async () => {
    const used = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await currentDocuments(db, patientId, { limit: 200, cursor, includeHidden: false });
      for (const row of page.rows) {
        const name = archiveEntryName(row.rubric, readMeta(keyring, row), used);
        zip.addReadStreamLazy(name, { mtime: row.createdAt, compress: false }, (cb) => cb(null, documentContent(blobs, row)));
      }
      cursor = page.next ?? undefined;
    } while (cursor);
    zip.end();
  })().catch(fail);
  return out;
}
