/**
 * Reads a multipart upload (one `file` part and a few text fields) in ONE streaming pass: the bytes go at the same
 * time to the encrypted blob store, the virus scanner (when configured) and the media-type sniffer (vault/intake),
 * within the size limit; nothing is held whole in memory. Then it is vetted: executables and unknown binaries
 * refused (415), infected refused (415), scanner down → 503 (nothing is filed unscanned). A refused upload leaves
 * only an unreferenced blob, which the collector removes.
 */
import type { FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.js';
import { problem } from '../problems.js';
import { type StoredBlob, takeAttachment } from '../../vault/index.js';

export interface VettedUpload {
  filename: string;
  declaredType: string;
  mediaType: string;
  stored: StoredBlob;
  fields: Record<string, string>;
}

export async function readVettedUpload(ctx: ApiContext, req: FastifyRequest): Promise<VettedUpload> {
  let upload: Omit<VettedUpload, 'fields'> | null = null;
  const fields: Record<string, string> = {};
  for await (const part of req.parts()) {
    if (part.type === 'file') {
      if (upload) {
        part.file.resume();
        continue;
      }
      const intake = await takeAttachment(part.file, { declaredType: part.mimetype, filename: part.filename, maxZipBytes: 0 }, ctx);
      if (part.file.truncated) throw problem('uploadTooLarge');
      if (intake.stored.size === 0) throw problem('uploadMissingFile');
      if (intake.sniff.verdict === 'refused') throw problem('uploadTypeRefused');
      if (intake.scan.verdict === 'infected') throw problem('uploadInfected');
      if (intake.scan.verdict === 'error') throw problem('uploadScannerUnavailable');
      upload = { filename: part.filename, declaredType: part.mimetype, mediaType: intake.sniff.mediaType, stored: intake.stored };
    } else if (typeof part.value === 'string') {
      fields[part.fieldname] = part.value.slice(0, 500);
    }
  }
  if (!upload) throw problem('uploadMissingFile');
  return { ...upload, fields };
}
