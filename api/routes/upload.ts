/**
 * Reads a multipart upload (one `file` part and a few text fields) in ONE streaming pass: the bytes go at the same
 * time to the encrypted blob store, the virus scanner (when configured) and the media-type sniffer (vault/intake),
 * within the size limit; nothing is held whole in memory. Then it is vetted: executables and unknown binaries
 * refused (415), infected refused (415), scanner down → 503 (nothing is filed unscanned). A refused upload leaves
 * only an unreferenced blob, which the collector removes.
 */
import type { FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.js';
import { ApiProblem } from '../problem.js';
import type { StoredBlob } from '../../vault/index.js';
import { takeAttachment } from '../../vault/intake.js';

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
      if (part.file.truncated) throw new ApiProblem(413, 'API-UPLOAD-01', 'Document too large', 'Le document est trop volumineux.');
      if (intake.stored.size === 0) throw new ApiProblem(400, 'API-UPLOAD-02', 'A file part is required', 'Aucun fichier reçu.');
      if (intake.sniff.verdict === 'refused') throw new ApiProblem(415, 'API-UPLOAD-03', 'Refused document type', "Ce type de fichier n'est pas accepté.");
      if (intake.scan.verdict === 'infected') throw new ApiProblem(415, 'API-UPLOAD-04', 'Infected document', 'Le document contient un virus et a été refusé.');
      if (intake.scan.verdict === 'error') throw new ApiProblem(503, 'API-UPLOAD-05', 'Scanner unavailable', "L'analyse antivirus est indisponible ; réessayez plus tard.");
      upload = { filename: part.filename, declaredType: part.mimetype, mediaType: intake.sniff.mediaType, stored: intake.stored };
    } else if (typeof part.value === 'string') {
      fields[part.fieldname] = part.value.slice(0, 500);
    }
  }
  if (!upload) throw new ApiProblem(400, 'API-UPLOAD-02', 'A file part is required', 'Aucun fichier reçu.');
  return { ...upload, fields };
}
