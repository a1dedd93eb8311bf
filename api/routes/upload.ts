/**
 * Reads a multipart upload (one `file` part and a few text fields) within the size limit, then vets it: the
 * media type is sniffed (executables and unknown binaries refused) and the content scanned when a scanner is
 * configured (infected: refused; scanner down: 503, nothing is filed unscanned).
 */
import type { FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.js';
import { ApiProblem } from '../problem.js';
import { sniffMediaType } from '../../vault/sniff.js';

export interface VettedUpload {
  filename: string;
  declaredType: string;
  mediaType: string;
  content: Buffer;
  fields: Record<string, string>;
}

export async function readVettedUpload(ctx: ApiContext, req: FastifyRequest): Promise<VettedUpload> {
  let file: { filename: string; mimetype: string; content: Buffer } | null = null;
  const fields: Record<string, string> = {};
  for await (const part of req.parts()) {
    if (part.type === 'file') {
      const content = await part.toBuffer();
      if (part.file.truncated) throw new ApiProblem(413, 'API-UPLOAD-01', 'Document too large', 'Le document est trop volumineux.');
      file = { filename: part.filename, mimetype: part.mimetype, content };
    } else if (typeof part.value === 'string') {
      fields[part.fieldname] = part.value.slice(0, 500);
    }
  }
  if (!file || file.content.length === 0) throw new ApiProblem(400, 'API-UPLOAD-02', 'A file part is required', 'Aucun fichier reçu.');
  const sniffed = await sniffMediaType(file.content.subarray(0, 16 * 1024), file.mimetype, file.filename);
  if (sniffed.verdict === 'refused') throw new ApiProblem(415, 'API-UPLOAD-03', 'Refused document type', "Ce type de fichier n'est pas accepté.");
  const scan = await ctx.scanner.scan(file.content);
  if (scan.verdict === 'infected') throw new ApiProblem(415, 'API-UPLOAD-04', 'Infected document', 'Le document contient un virus et a été refusé.');
  if (scan.verdict === 'error') throw new ApiProblem(503, 'API-UPLOAD-05', 'Scanner unavailable', "L'analyse antivirus est indisponible ; réessayez plus tard.");
  return { filename: file.filename, declaredType: file.mimetype, mediaType: sniffed.mediaType, content: file.content, fields };
}
