/**
 * The professional API (bearer tokens from the professional identity provider, SPEC §6.3): a patient's
 * documents by INS, within the access rules (access/professional-access.ts). Every refusal is the same 403
 * problem+json (`ProAccessRefused` → `API-PRO-03`, api/problems.ts), whether the patient or the document exists or not. Emergency access: headers
 * `X-Emergency-Ground: samu-regulator | life-at-risk` and `X-Emergency-Justification` (URL-encoded text).
 * Every route is rate-limited per bearer token (per client address without one) before the token is even
 * verified (api/rate-limit.ts: 429 `API-RATE-01` with Retry-After).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import {
  addDocumentForPro,
  changeOwnDocumentForPro,
  listDocumentsForPro,
  readDocumentForPro,
  revealDate,
  type Emergency,
  type ProIdentity,
  verifyProTokenWith,
} from '../../access/index.js';
import { chosenRubric } from '../../config/index.js';
import { InvalidDocumentCursorError } from '../../vault/index.js';
import type { ApiContext } from '../context.js';
import { ProblemSchema } from '../problem.js';
import { problem, REVEAL_DATE_REFUSALS } from '../problems.js';
import { limitHook, proApiLimits } from '../rate-limit.js';
import { setDownloadHeaders } from './content-disposition.js';
import { DocumentSchema } from './documents.js';
import { readVettedUpload } from './upload.js';

async function requirePro(ctx: ApiContext, req: FastifyRequest): Promise<ProIdentity> {
  const auth = req.headers.authorization ?? '';
  const token = /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '').trim() : '';
  if (!token) throw problem('proTokenRequired');
  // An unknown kid makes the keys be fetched again first (the provider rotated them; at most once per cooldown).
  const v = await verifyProTokenWith(ctx.proKeys, token, {
    issuer: ctx.config.pro.issuer,
    audience: ctx.config.pro.audience,
    maxLifetimeSeconds: ctx.config.limits.proTokenMaxLifetimeSeconds,
  });
  if (!v.ok) throw problem('proTokenInvalid', { detail: v.reason });
  return { rpps: v.pro.rpps, profession: v.pro.profession, name: v.pro.name, organisation: v.pro.organisation, finess: v.pro.finess };
}

function emergencyOf(req: FastifyRequest): Emergency | null {
  const ground = req.headers['x-emergency-ground'];
  if (typeof ground !== 'string' || !ground) return null;
  const raw = req.headers['x-emergency-justification'];
  let justification = '';
  try {
    justification = typeof raw === 'string' ? decodeURIComponent(raw) : '';
  } catch {
    justification = '';
  }
  return { justification, samuRegulator: ground === 'samu-regulator', lifeAtRisk: ground === 'life-at-risk' };
}

function revealDateOrProblem(ctx: ApiContext, raw: string): Date {
  const r = revealDate(raw, new Date(), ctx.config.limits.maxRevealDelayMs);
  if (!r.ok) throw problem('proRevealDateInvalid', { detail: REVEAL_DATE_REFUSALS[r.reason] });
  return r.at;
}

export const professionalRoutes =
  (ctx: ApiContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    const problems = { 401: ProblemSchema, 403: ProblemSchema, 429: ProblemSchema };
    app.addHook('onRequest', limitHook(app as unknown as FastifyInstance, proApiLimits(ctx.config.limits)));

    app.get(
      '/v1/patients/:ins/documents',
      {
        schema: {
          tags: ['professional'],
          summary: "A patient's documents the professional may see, newest first; `next` continues the listing",
          params: Type.Object({ ins: Type.String({ maxLength: 15 }) }),
          querystring: Type.Object({ cursor: Type.Optional(Type.String({ maxLength: 200 })) }),
          response: {
            200: Type.Object({ items: Type.Array(DocumentSchema), next: Type.Union([Type.String(), Type.Null()]) }),
            400: ProblemSchema,
            ...problems,
          },
        },
      },
      async (req) => {
        const pro = await requirePro(ctx, req);
        try {
          return await listDocumentsForPro(ctx, pro, req.params.ins, emergencyOf(req), ctx.config.limits.apiPageSize, req.query.cursor);
        } catch (err) {
          // The patient's listing has its own code for the same error (api/problems.ts documentsInvalidCursor).
          if (err instanceof InvalidDocumentCursorError) throw problem('proInvalidCursor');
          throw err;
        }
      },
    );

    app.get(
      '/v1/patients/:ins/documents/:id/content',
      {
        schema: {
          tags: ['professional'],
          summary: 'Download a document (recorded in the patient history)',
          params: Type.Object({ ins: Type.String({ maxLength: 15 }), id: Type.String({ maxLength: 64 }) }),
          response: problems,
        },
      },
      async (req, reply) => {
        const pro = await requirePro(ctx, req);
        const d = await readDocumentForPro(ctx, pro, req.params.ins, req.params.id, emergencyOf(req));
        setDownloadHeaders(reply, { filename: d.meta.filename, size: d.size });
        return reply.send(d.stream as never);
      },
    );

    app.patch(
      '/v1/patients/:ins/documents/:id',
      {
        schema: {
          tags: ['professional'],
          summary: 'Mask or unmask a document you authored, or reveal it to the patient ({hiddenFromPatient: false}, after the announcement consultation)',
          params: Type.Object({ ins: Type.String({ maxLength: 15 }), id: Type.String({ maxLength: 64 }) }),
          body: Type.Object({ masked: Type.Optional(Type.Boolean()), hiddenFromPatient: Type.Optional(Type.Literal(false)) }, { minProperties: 1 }),
          response: { 204: Type.Null(), ...problems },
        },
      },
      async (req, reply) => {
        const pro = await requirePro(ctx, req);
        const { masked, hiddenFromPatient } = req.body;
        if (hiddenFromPatient === false) await changeOwnDocumentForPro(ctx, pro, req.params.ins, req.params.id, { revealed: true });
        if (masked !== undefined) await changeOwnDocumentForPro(ctx, pro, req.params.ins, req.params.id, { masked });
        return reply.code(204).send(null);
      },
    );

    app.delete(
      '/v1/patients/:ins/documents/:id',
      {
        schema: {
          tags: ['professional'],
          summary: 'Delete a document you authored',
          params: Type.Object({ ins: Type.String({ maxLength: 15 }), id: Type.String({ maxLength: 64 }) }),
          response: { 204: Type.Null(), ...problems },
        },
      },
      async (req, reply) => {
        const pro = await requirePro(ctx, req);
        await changeOwnDocumentForPro(ctx, pro, req.params.ins, req.params.id, { deleted: true });
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/v1/patients/:ins/documents',
      {
        schema: {
          tags: ['professional'],
          summary:
            'Add a document to the patient record (multipart: file, title, typeCode or rubric; hiddenFromPatient=true hides it from the patient until you reveal it, revealAt=<ISO 8601 date or date-time> until that date)',
          consumes: ['multipart/form-data'],
          params: Type.Object({ ins: Type.String({ maxLength: 15 }) }),
          response: {
            201: Type.Object({ id: Type.String(), rubric: Type.String(), mediaType: Type.String() }),
            400: ProblemSchema,
            413: ProblemSchema,
            415: ProblemSchema,
            ...problems,
          },
        },
      },
      async (req, reply) => {
        const pro = await requirePro(ctx, req);
        const up = await readVettedUpload(ctx, req);
        const revealAt = up.fields.revealAt?.trim() ? revealDateOrProblem(ctx, up.fields.revealAt) : null;
        const typeCode = up.fields.typeCode?.trim() || null;
        const rubric = chosenRubric({ rubric: up.fields.rubric, typeCode });
        if (rubric === null) throw problem('proUnknownRubric');
        const id = await addDocumentForPro(ctx, pro, req.params.ins, {
          stored: up.stored,
          replaces: up.fields.replaces?.trim() || null,
          filename: up.filename,
          title: up.fields.title?.trim() || up.filename,
          mediaType: up.mediaType,
          declaredType: up.declaredType,
          rubric,
          typeCode,
          hiddenFromPatient: up.fields.hiddenFromPatient?.trim() === 'true',
          revealAt,
        });
        return reply.code(201).send({ id, rubric, mediaType: up.mediaType });
      },
    );
  };
