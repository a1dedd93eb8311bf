/**
 * Operator endpoints (bearer admin token): provisioning by CSV and delivery counts. Never any message or
 * document content. The CLI uses them when a running gateway holds the embedded database.
 */
import crypto from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { changeProfileState, importPatients, parsePatientCsv } from '../../access/index.js';
import { deliveryStats, importDirectory, parseDirectoryCsv } from '../../mailbox/index.js';
import type { ApiContext } from '../context.js';
import { ApiProblem, ProblemSchema } from '../problem.js';

/** A CSV refused as a whole: every bad line with its reason (nothing was imported). */
const CsvProblemSchema = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  code: Type.String(),
  errors: Type.Array(Type.Object({ line: Type.Integer(), message: Type.String() })),
});

const csvProblem = (code: string, errors: { line: number; message: string }[]) => ({ type: 'about:blank', title: 'Invalid CSV', status: 422, code, errors });

function requireAdmin(ctx: ApiContext, req: FastifyRequest): void {
  const auth = req.headers.authorization ?? '';
  const token = /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '').trim() : '';
  const a = Buffer.from(crypto.createHash('sha256').update(token).digest());
  const b = Buffer.from(crypto.createHash('sha256').update(ctx.adminToken).digest());
  if (!token || !crypto.timingSafeEqual(a, b)) throw new ApiProblem(401, 'API-ADMIN-01', 'Operator token required');
}

export const adminRoutes =
  (ctx: ApiContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string', bodyLimit: ctx.config.limits.importMaxBytes }, (_req, body, done) =>
      done(null, body),
    );

    app.post(
      '/v1/admin/patients/import',
      {
        bodyLimit: ctx.config.limits.importMaxBytes,
        schema: {
          tags: ['admin'],
          summary: 'Provision patient profiles from CSV (all rows or none); existing profiles keep their state and credentials unless the lifecycle allows the change',
          consumes: ['text/csv'],
          body: Type.String(),
          response: {
            200: Type.Object({
              created: Type.Integer(),
              updated: Type.Integer(),
              unchanged: Type.Integer(),
              stateKept: Type.Integer(),
              codesIgnored: Type.Integer(),
            }),
            401: ProblemSchema,
            422: CsvProblemSchema,
          },
        },
      },
      async (req, reply) => {
        requireAdmin(ctx, req);
        const parsed = parsePatientCsv(req.body);
        if (parsed.errors.length > 0) {
          return reply.code(422).type('application/problem+json').send(csvProblem('API-ADMIN-02', parsed.errors));
        }
        return importPatients(ctx.db, ctx.keyring, ctx.config.limits, parsed.rows);
      },
    );

    app.post(
      '/v1/admin/directory/import',
      {
        bodyLimit: ctx.config.limits.importMaxBytes,
        schema: {
          tags: ['admin'],
          summary: "Import the professionals' directory (address, RPPS, profession code, display name)",
          consumes: ['text/csv'],
          body: Type.String(),
          response: {
            200: Type.Object({ imported: Type.Integer() }),
            401: ProblemSchema,
            422: CsvProblemSchema,
          },
        },
      },
      async (req, reply) => {
        requireAdmin(ctx, req);
        const parsed = parseDirectoryCsv(req.body);
        if (parsed.errors.length > 0) {
          return reply.code(422).type('application/problem+json').send(csvProblem('API-ADMIN-03', parsed.errors));
        }
        return { imported: await importDirectory(ctx.db, parsed.rows) };
      },
    );

    app.post(
      '/v1/admin/patients/:ins/state',
      {
        schema: {
          tags: ['admin'],
          summary: 'Change a profile state (opposition, closure, reopening...) within the lifecycle rules',
          params: Type.Object({ ins: Type.String({ maxLength: 15 }) }),
          body: Type.Object({
            state: Type.Union([
              Type.Literal('created'),
              Type.Literal('active'),
              Type.Literal('opposed'),
              Type.Literal('closed'),
              Type.Literal('reopen'),
            ]),
          }),
          response: { 200: Type.Object({ state: Type.String() }), 401: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema },
        },
      },
      async (req) => {
        requireAdmin(ctx, req);
        const r = await changeProfileState(ctx.db, req.params.ins, req.body.state, { keyring: ctx.keyring, actor: 'operator' });
        if (!r.ok && r.reason === 'unknown') throw new ApiProblem(404, 'API-ADMIN-04', 'Unknown profile');
        if (!r.ok) throw new ApiProblem(409, 'API-ADMIN-05', 'Transition not allowed');
        return { state: r.state };
      },
    );

    app.get(
      '/v1/admin/deliveries/stats',
      {
        schema: {
          tags: ['admin'],
          summary: 'Deliveries by status',
          response: { 200: Type.Record(Type.String(), Type.Integer()), 401: ProblemSchema },
        },
      },
      async (req) => {
        requireAdmin(ctx, req);
        return deliveryStats(ctx.db);
      },
    );
  };
