/**
 * Intake of one attachment into the vault: a single pass over its bytes feeds, at the same time, the encrypted
 * blob store, the virus scanner (when configured) and a small head buffer for media-type sniffing; a ZIP (a
 * possible IHE XDM archive) is also kept whole, within the message size, because its central directory is at
 * its end; and the whole content is scanned for HTML or SVG tags (a text document carrying markup anywhere is
 * refused like an HTML file). The verdicts come back together; the caller decides what is filed. Nothing here files anything: a
 * refused, infected or unscanned attachment leaves only an unreferenced blob that the collector removes.
 */
import { PassThrough, Readable } from 'node:stream';
import type { BlobStore, StoredBlob } from './blob-store.js';
import type { ScanVerdict, VirusScanner } from './scan/clamd.js';
import { MarkupScan, sniffMediaType, withMarkupVerdict, type SniffResult } from './sniff.js';

export interface IntakeResult {
  stored: StoredBlob;
  sniff: SniffResult;
  scan: ScanVerdict;
  /** The whole content when it is a ZIP (XDM candidate), else null. */
  zip: Buffer | null;
}

const HEAD_BYTES = 16 * 1024;

export async function takeAttachment(
  content: Readable,
  info: { declaredType: string | null; filename: string | null; maxZipBytes: number },
  deps: { blobs: BlobStore; scanner: VirusScanner },
): Promise<IntakeResult> {
  const toBlob = new PassThrough({ highWaterMark: 256 * 1024 });
  const toScan = deps.scanner.enabled ? new PassThrough({ highWaterMark: 256 * 1024 }) : null;
  let head = Buffer.alloc(0);
  let zipParts: Buffer[] | null = null;
  let zipBytes = 0;
  const markup = new MarkupScan();
  content.on('data', (chunk: Buffer) => {
    markup.feed(chunk);
    if (head.length < HEAD_BYTES) {
      head = Buffer.concat([head, chunk.subarray(0, HEAD_BYTES - head.length)]);
      if (zipParts === null && head.length >= 4 && head.readUInt32LE(0) === 0x04034b50) zipParts = [];
    }
    if (zipParts) {
      zipBytes += chunk.length;
      if (zipBytes <= info.maxZipBytes) zipParts.push(chunk);
    }
  });
  content.pipe(toBlob);
  if (toScan) content.pipe(toScan);
  const [stored, scan] = await Promise.all([
    deps.blobs.write(toBlob, 'attachment'),
    toScan ? deps.scanner.scan(toScan as AsyncIterable<Buffer>) : Promise.resolve<ScanVerdict>({ verdict: 'not-scanned' }),
  ]);
  if (toScan && !toScan.readableEnded) toScan.resume(); // a scan that stopped early must not stall the blob side
  const sniff = withMarkupVerdict(await sniffMediaType(head, info.declaredType, info.filename), markup.end());
  const parts = zipParts as Buffer[] | null;
  return { stored, sniff, scan, zip: parts && zipBytes <= info.maxZipBytes ? Buffer.concat(parts) : null };
}

/** Files the content of an XDM document (already in memory) into the blob store. */
export async function storeBuffer(blobs: BlobStore, content: Buffer): Promise<StoredBlob> {
  return blobs.write(Readable.from([content]), 'attachment');
}
