/**
 * The patient's documents, the profile (archive, closing) and the activity history (access settings: ./access.ts).
 * Every route needs a patient session (`requirePatient`: 401 `API-AUTH-01`; unsafe methods under the cookie also
 * need `x-csrf-token`, else 403 `API-CSRF-01`). The routes read and validate, then call the modules: vault/
 * (documents, notes, the archive) and access/ (closing, the history); refusals are problems of api/problems.ts.
 * Registered in groups along their roles: reading, changing, adding, the profile.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { closeProfile, listActivity } from '../../access/index.js';
import {
  documentsArchive,
  RUBRICS,
  currentDocuments,
  deleteOwnUpload,
  documentById,
  documentContent,
  documentVersions,
  fileDocument,
  isRubric,
  readMeta,
  setDocumentMasked,
  setDocumentRubric,
  summarizeDocument,
  fileNote,
  MAX_NOTE_CHARS,
  type NoteRefusal,
} from '../../vault/index.js';
import type { ApiContext } from '../context.js';
import { ProblemSchema } from '../problem.js';
import { problem, type ProblemName } from '../problems.js';
import { requirePatient } from './session-auth.js';
import { setDownloadHeaders } from './content-disposition.js';
import { readVettedUpload } from './upload.js';
import type { RouteApp } from './route-app.js';

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

const notFound = () => problem('documentNotFound');

const NOTE_REFUSALS: Readonly<Record<NoteRefusal, ProblemName>> = { empty: 'noteEmpty', markup: 'noteMarkup' };

/** Reading: the rubrics, the listing by rubric, a document's versions and its bytes. */
function readingRoutes(app: RouteApp, ctx: ApiContext): void {
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
      if (req.query.rubric && !isRubric(req.query.rubric)) throw problem('unknownRubric');
      // A bad cursor is InvalidDocumentCursorError: 400 API-DOC-03 (api/problems.ts).
      const { rows, next } = await currentDocuments(ctx.db, patientId, {
        rubric: req.query.rubric,
        cursor: req.query.cursor,
        limit: ctx.config.limits.apiPageSize,
        includeHidden: false,
      });
      return { items: rows.map((r) => ({ ...summarizeDocument(ctx.keyring, r), hasPreviousVersions: r.previousVersionId !== null })), next };
    },
  );

  app.get(
    '/v1/me/documents/:id/versions',
    {
      schema: {
        tags: ['documents'],
        summary: 'Every version of one of my documents, newest first (current: the version in force)',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: {
          200: Type.Object({ items: Type.Array(Type.Intersect([DocumentSchema, Type.Object({ current: Type.Boolean() })])) }),
          401: ProblemSchema,
          404: ProblemSchema,
        },
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
}

/** Changing: mask or reclassify, delete one's own upload. */
function changeRoutes(app: RouteApp, ctx: ApiContext): void {
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
      if (rubric !== undefined && !isRubric(rubric)) throw problem('unknownRubric');
      if (masked !== undefined && !(await setDocumentMasked(ctx.db, patientId, req.params.id, masked))) throw notFound();
      if (rubric !== undefined && isRubric(rubric) && !(await setDocumentRubric(ctx.db, patientId, req.params.id, rubric))) throw notFound();
      if (masked === undefined && rubric === undefined && !(await documentById(ctx.db, patientId, req.params.id))) throw notFound();
      return reply.code(204).send(null);
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
      if (r === 'not-own') throw problem('documentNotOwn');
      return reply.code(204).send(null);
    },
  );
}

/** Adding: upload a document, write a note. */
function additionRoutes(app: RouteApp, ctx: ApiContext): void {
  app.post(
    '/v1/me/documents',
    {
      schema: {
        tags: ['documents'],
        summary: 'Upload one of my documents (multipart: file, title, rubric)',
        consumes: ['multipart/form-data'],
        response: {
          201: Type.Object({ id: Type.String(), rubric: Type.String(), mediaType: Type.String() }),
          400: ProblemSchema,
          401: ProblemSchema,
          413: ProblemSchema,
          415: ProblemSchema,
        },
      },
    },
    async (req, reply) => {
      const patientId = await requirePatient(ctx, req);
      const up = await readVettedUpload(ctx, req);
      const rubric = up.fields.rubric?.trim() || 'autres-documents';
      if (!isRubric(rubric)) throw problem('unknownRubric');
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
      const rubric = req.body.rubric?.trim() || 'autres-documents';
      if (!isRubric(rubric)) throw problem('unknownRubric');
      const r = await fileNote(ctx, { patientId, title: req.body.title, text: req.body.text, rubric });
      if (!r.ok) throw problem(NOTE_REFUSALS[r.refusal]);
      return reply.code(201).send({ id: r.id, rubric, mediaType: 'text/plain' });
    },
  );
}

/** The profile: every document in one ZIP, closing, the history of who did what. */
function profileRoutes(app: RouteApp, ctx: ApiContext): void {
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
      // One statement: closed, and every session of the profile revoked, this one included (access/lifecycle.ts).
      const r = await closeProfile(ctx.db, patientId);
      if (!r.ok) throw problem('closeNotAllowed');
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
}

export const documentRoutes =
  (ctx: ApiContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    readingRoutes(app, ctx);
    changeRoutes(app, ctx);
    additionRoutes(app, ctx);
    profileRoutes(app, ctx);
  };
