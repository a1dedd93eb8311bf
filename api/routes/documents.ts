/** The patient's documents, profile closing and activity history (access settings: ./access.ts). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { eq } from 'drizzle-orm';
import { changeProfileState, listActivity } from '../../access/index.js';
import { schema } from '../../db/index.js';
import { documentsArchive } from '../../vault/archive.js';
import { RUBRICS } from '../../vault/rubrics.js';
import {
  currentDocuments,
  deleteOwnUpload,
  documentById,
  documentContent,
  documentVersions,
  fileDocument,
  InvalidDocumentCursorError,
  isRubric,
  readMeta,
  setDocumentMasked,
  setDocumentRubric,
  summarizeDocument,
} from '../../vault/documents.js';
import type { ApiContext } from '../context.js';
import { ApiProblem, ProblemSchema } from '../problem.js';
import { requirePatient } from './session-auth.js';
import { setDownloadHeaders } from './content-disposition.js';
import { readVettedUpload } from './upload.js';
import { storeBuffer } from '../../vault/intake.js';
import { markupIn } from '../../vault/sniff.js';

/** A note is a few paragraphs (a symptom diary entry, a question for the next visit). */
const MAX_NOTE_CHARS = 10_000;

/** A file name for a note's title: no path separators nor control characters, bounded. */
function safeNoteName(title: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must not reach a file name
  return title.replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, '_').trim().slice(0, 100) || 'note';
}

export const DocumentSchema = Type.Object({
  id: Type.String(),
  rubric: Type.String(),
  title: Type.String(),
  mediaType: Type.String(),
  size: Type.Integer(),
  masked: Type.Boolean({ description: 'Masked to professionals by the patient (PATCH {masked} sets it).' }),
  maskedByAuthor: Type.Boolean({ description: "Masked to professionals by the document's author; only the author lifts it." }),
  createdAt: Type.String(),
  author: Type.Object({ kind: Type.String(), displayName: Type.String() }),
});

const notFound = () => new ApiProblem(404, 'API-DOC-01', 'Not found', 'Document introuvable.');

export const documentRoutes =
  (ctx: ApiContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/v1/rubrics',
      {
        schema: {
          tags: ['documents'],
          summary: 'The 10 rubrics of a patient record, in display order, with their French labels (public reference data)',
          response: { 200: Type.Object({ items: Type.Array(Type.Object({ id: Type.String(), label: Type.String() })) }) },
        },
      },
      async (_req, reply) => {
        reply.header('cache-control', 'public, max-age=3600');
        return { items: Object.entries(RUBRICS).map(([id, label]) => ({ id, label })) };
      },
    );

    app.get(
      '/v1/me/documents',
      {
        schema: {
          tags: ['documents'],
          summary: 'My documents, newest first, optionally by rubric',
          querystring: Type.Object({ rubric: Type.Optional(Type.String({ maxLength: 64 })), cursor: Type.Optional(Type.String({ maxLength: 200 })) }),
          response: {
            200: Type.Object({
              items: Type.Array(
                Type.Object({
                  ...DocumentSchema.properties,
                  hasPreviousVersions: Type.Boolean({ description: 'It replaced an earlier version (GET /v1/me/documents/{id}/versions lists them).' }),
                }),
              ),
              next: Type.Union([Type.String(), Type.Null()]),
            }),
            400: ProblemSchema,
            401: ProblemSchema,
          },
        },
      },
      async (req) => {
        const patientId = await requirePatient(ctx, req);
        if (req.query.rubric && !isRubric(req.query.rubric)) throw new ApiProblem(400, 'API-DOC-02', 'Unknown rubric', 'Rubrique inconnue.');
        try {
          const { rows, next } = await currentDocuments(ctx.db, patientId, {
            rubric: req.query.rubric,
            cursor: req.query.cursor,
            limit: ctx.config.limits.apiPageSize,
            includeHidden: false,
          });
          return { items: rows.map((r) => ({ ...summarizeDocument(ctx.keyring, r), hasPreviousVersions: r.previousVersionId !== null })), next };
        } catch (err) {
          if (err instanceof InvalidDocumentCursorError) throw new ApiProblem(400, 'API-DOC-03', 'Invalid cursor', 'Curseur de pagination invalide.');
          throw err;
        }
      },
    );

    app.get(
      '/v1/me/documents/:id/versions',
      {
        schema: {
          tags: ['documents'],
          summary: 'Every version of one of my documents, newest first (current: the version in force)',
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          response: { 200: Type.Object({ items: Type.Array(Type.Intersect([DocumentSchema, Type.Object({ current: Type.Boolean() })])) }), 401: ProblemSchema, 404: ProblemSchema },
        },
      },
      async (req) => {
        const patientId = await requirePatient(ctx, req);
        const items = await documentVersions(ctx.db, ctx.keyring, patientId, req.params.id, { includeHidden: false });
        if (!items) throw notFound();
        return { items };
      },
    );

    app.get(
      '/v1/me/documents/:id/content',
      {
        schema: {
          tags: ['documents'],
          summary: 'Download one of my documents',
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          response: { 401: ProblemSchema, 404: ProblemSchema },
        },
      },
      async (req, reply) => {
        const patientId = await requirePatient(ctx, req);
        const row = await documentById(ctx.db, patientId, req.params.id);
        if (!row || row.hiddenFromPatient) throw notFound();
        const meta = readMeta(ctx.keyring, row);
        setDownloadHeaders(reply, { filename: meta.filename, size: row.size });
        return reply.send(documentContent(ctx.blobs, row) as never);
      },
    );

    app.patch(
      '/v1/me/documents/:id',
      {
        schema: {
          tags: ['documents'],
          summary: 'Mask or unmask a document to professionals, or file it under another rubric',
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          body: Type.Object({ masked: Type.Optional(Type.Boolean()), rubric: Type.Optional(Type.String({ maxLength: 64 })) }),
          response: { 204: Type.Null(), 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema },
        },
      },
      async (req, reply) => {
        const patientId = await requirePatient(ctx, req);
        const { masked, rubric } = req.body;
        if (rubric !== undefined && !isRubric(rubric)) throw new ApiProblem(400, 'API-DOC-02', 'Unknown rubric', 'Rubrique inconnue.');
        if (masked !== undefined && !(await setDocumentMasked(ctx.db, patientId, req.params.id, masked))) throw notFound();
        if (rubric !== undefined && isRubric(rubric) && !(await setDocumentRubric(ctx.db, patientId, req.params.id, rubric))) throw notFound();
        if (masked === undefined && rubric === undefined && !(await documentById(ctx.db, patientId, req.params.id))) throw notFound();
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/v1/me/documents',
      {
        schema: {
          tags: ['documents'],
          summary: 'Upload one of my documents (multipart: file, title, rubric)',
          consumes: ['multipart/form-data'],
          response: { 201: Type.Object({ id: Type.String(), rubric: Type.String(), mediaType: Type.String() }), 400: ProblemSchema, 401: ProblemSchema, 413: ProblemSchema, 415: ProblemSchema },
        },
      },
      async (req, reply) => {
        const patientId = await requirePatient(ctx, req);
        const up = await readVettedUpload(ctx, req);
        const rubric = up.fields.rubric?.trim() || 'autres-documents';
        if (!isRubric(rubric)) throw new ApiProblem(400, 'API-DOC-02', 'Unknown rubric', 'Rubrique inconnue.');
        const id = await fileDocument(ctx.db, ctx.keyring, {
          patientId,
          rubric,
          meta: { filename: up.filename, title: up.fields.title?.trim() || up.filename, declaredType: up.declaredType },
          mediaType: up.mediaType,
          stored: up.stored,
          authorKind: 'patient',
          authorRpps: null,
          originKind: 'upload',
        });
        return reply.code(201).send({ id, rubric, mediaType: up.mediaType });
      },
    );

    app.post(
      '/v1/me/notes',
      {
        schema: {
          tags: ['documents'],
          summary: 'Write a short note, kept as one of my documents (plain text)',
          body: Type.Object({
            title: Type.String({ minLength: 1, maxLength: 200 }),
            text: Type.String({ minLength: 1, maxLength: MAX_NOTE_CHARS }),
            rubric: Type.Optional(Type.String({ maxLength: 64 })),
          }),
          response: { 201: Type.Object({ id: Type.String(), rubric: Type.String(), mediaType: Type.String() }), 400: ProblemSchema, 401: ProblemSchema },
        },
      },
      async (req, reply) => {
        const patientId = await requirePatient(ctx, req);
        const title = req.body.title.trim();
        const text = req.body.text.replace(/\r\n?/g, '\n');
        const rubric = req.body.rubric?.trim() || 'autres-documents';
        if (!isRubric(rubric)) throw new ApiProblem(400, 'API-DOC-02', 'Unknown rubric', 'Rubrique inconnue.');
        if (!title || !text.trim()) throw new ApiProblem(400, 'API-DOC-03', 'Empty note', 'La note doit avoir un titre et un texte.');
        const bytes = Buffer.from(text, 'utf8');
        // The same rule as for uploads: markup in a text document is active content.
        if (markupIn(bytes)) throw new ApiProblem(400, 'API-DOC-04', 'Markup in a note', 'Une note ne peut pas contenir de balises HTML.');
        const stored = await storeBuffer(ctx.blobs, bytes);
        const id = await fileDocument(ctx.db, ctx.keyring, {
          patientId,
          rubric,
          meta: { filename: `${safeNoteName(title)}.txt`, title, declaredType: 'text/plain' },
          mediaType: 'text/plain',
          stored,
          authorKind: 'patient',
          authorRpps: null,
          originKind: 'upload',
        });
        return reply.code(201).send({ id, rubric, mediaType: 'text/plain' });
      },
    );

    app.delete(
      '/v1/me/documents/:id',
      {
        schema: {
          tags: ['documents'],
          summary: 'Delete one of my own uploads',
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          response: { 204: Type.Null(), 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema },
        },
      },
      async (req, reply) => {
        const patientId = await requirePatient(ctx, req);
        const r = await deleteOwnUpload(ctx.db, patientId, req.params.id);
        if (r === 'not-found') throw notFound();
        if (r === 'not-own') throw new ApiProblem(403, 'API-DOC-04', 'Not allowed', 'Seuls les documents que vous avez ajoutés peuvent être supprimés.');
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/v1/me/archive',
      {
        schema: { tags: ['documents'], summary: 'All my documents in one ZIP (to keep before closing my profile)', response: { 401: ProblemSchema } },
      },
      async (req, reply) => {
        const patientId = await requirePatient(ctx, req);
        setDownloadHeaders(reply, { filename: 'mon-espace-sante-documents.zip', type: 'application/zip' });
        return reply.send(documentsArchive(ctx.db, ctx.keyring, ctx.blobs, patientId) as never);
      },
    );

    app.post(
      '/v1/me/profile/close',
      {
        schema: {
          tags: ['access'],
          summary: 'Close my profile (mail is then refused); download the archive first',
          response: { 204: Type.Null(), 401: ProblemSchema, 409: ProblemSchema },
        },
      },
      async (req, reply) => {
        const patientId = await requirePatient(ctx, req);
        const [p] = await ctx.db.select({ ins: schema.patients.ins }).from(schema.patients).where(eq(schema.patients.id, patientId));
        const r = await changeProfileState(ctx.db, p!.ins, 'closed');
        // The state change revokes every session of the profile, this one included (access/lifecycle.ts).
        if (!r.ok) throw new ApiProblem(409, 'API-ACCESS-03', 'Not allowed', 'La fermeture est impossible dans cet état.');
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/v1/me/activity',
      {
        schema: {
          tags: ['access'],
          summary: 'Who did what in my space (professionals and the system), newest first',
          querystring: Type.Object({ cursor: Type.Optional(Type.String({ maxLength: 30 })) }),
          response: {
            200: Type.Object({
              items: Type.Array(
                Type.Object({
                  at: Type.String(),
                  actor: Type.Object({
                    kind: Type.String(),
                    rpps: Type.Union([Type.String(), Type.Null()]),
                    displayName: Type.String(),
                    profession: Type.Union([Type.String(), Type.Null()]),
                    organisation: Type.Union([Type.String(), Type.Null()]),
                  }),
                  action: Type.String(),
                  documentId: Type.Union([Type.String(), Type.Null()]),
                  reason: Type.Union([Type.String(), Type.Null()]),
                  justification: Type.Union([Type.String(), Type.Null()]),
                }),
              ),
              next: Type.Union([Type.String(), Type.Null()]),
            }),
            401: ProblemSchema,
          },
        },
      },
      async (req) => {
        const patientId = await requirePatient(ctx, req);
        return listActivity(ctx.db, ctx.keyring, patientId, { cursor: req.query.cursor, limit: ctx.config.limits.apiPageSize });
      },
    );
  };
