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
import { ProblemSchema } from '../problem.js';
import { ADMIN_TRANSITION_REFUSALS, problem, PROBLEMS } from '../problems.js';

/** A CSV refused as a whole: every bad line with its reason (nothing was imported). */
const CsvProblemSchema = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  code: Type.String(),
  errors: Type.Array(Type.Object({ line: Type.Integer(), message: Type.String() })),
  notice: Type.Optional(Type.String()),
});

/** The CSV file's bytes as saved: UTF-8 (BOM or not) or Windows-1252, `,` or `;` separated (access/rules/csv-file.ts). */
const CsvBodySchema = Type.Unsafe<Buffer>({
  description: 'The CSV file as saved: UTF-8 (with or without BOM) or Windows-1252 (detected, reported in `encoding`), separated by , or ;',
});

/** How the file was read: `encoding` utf-8 or windows-1252; `notice` when it was converted. */
const CsvReadingSchema = {
  encoding: Type.Union([Type.Literal('utf-8'), Type.Literal('windows-1252'), Type.Null()]),
  notice: Type.Union([Type.String(), Type.Null()]),
};

/** A refused CSV's body: its entry of api/problems.ts (adminPatientsCsvInvalid, adminDirectoryCsvInvalid) and every bad line. */
const csvProblem = (name: 'adminPatientsCsvInvalid' | 'adminDirectoryCsvInvalid', errors: { line: number; message: string }[], notice: string | null) => ({
  type: 'about:blank',
  title: PROBLEMS[name].title,
  status: PROBLEMS[name].status,
  code: PROBLEMS[name].code,
  errors,
  ...(notice ? { notice } : {}),
});

function requireAdmin(ctx: ApiContext, req: FastifyRequest): void {
  const auth = req.headers.authorization ?? '';
  const token = /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '').trim() : '';
  const a = Buffer.from(crypto.createHash('sha256').update(token).digest());
  const b = Buffer.from(crypto.createHash('sha256').update(ctx.adminToken).digest());
  if (!token || !crypto.timingSafeEqual(a, b)) throw problem('adminTokenRequired');
}

export const adminRoutes =
  (ctx: ApiContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    // The bytes as saved: the CSV reader decides UTF-8 or Windows-1252 (a string body would already hold U+FFFD).
    app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'buffer', bodyLimit: ctx.config.limits.importMaxBytes }, (_req, body, done) =>
      done(null, body),
    );

    app.post(
      '/v1/admin/patients/import',
      {
        bodyLimit: ctx.config.limits.importMaxBytes,
        schema: {
          tags: ['admin'],
          summary:
            'Provision patient profiles from CSV (all rows or none); existing profiles keep their state and credentials unless the lifecycle allows the change',
          consumes: ['text/csv'],
          body: CsvBodySchema,
          response: {
            200: Type.Object({
              created: Type.Integer(),
              updated: Type.Integer(),
              unchanged: Type.Integer(),
              stateKept: Type.Integer(),
              codesIgnored: Type.Integer(),
              ...CsvReadingSchema,
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
          return reply
            .code(PROBLEMS.adminPatientsCsvInvalid.status as 422)
            .type('application/problem+json')
            .send(csvProblem('adminPatientsCsvInvalid', parsed.errors, parsed.notice));
        }
        return { ...(await importPatients(ctx.db, ctx.keyring, ctx.config.limits, parsed.rows)), encoding: parsed.encoding, notice: parsed.notice };
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
          body: CsvBodySchema,
          response: {
            200: Type.Object({ imported: Type.Integer(), ...CsvReadingSchema }),
            401: ProblemSchema,
            422: CsvProblemSchema,
          },
        },
      },
      async (req, reply) => {
        requireAdmin(ctx, req);
        const parsed = parseDirectoryCsv(req.body);
        if (parsed.errors.length > 0) {
          return reply
            .code(PROBLEMS.adminDirectoryCsvInvalid.status as 422)
            .type('application/problem+json')
            .send(csvProblem('adminDirectoryCsvInvalid', parsed.errors, parsed.notice));
        }
        return { imported: await importDirectory(ctx.db, parsed.rows), encoding: parsed.encoding, notice: parsed.notice };
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
            state: Type.Union([Type.Literal('created'), Type.Literal('active'), Type.Literal('opposed'), Type.Literal('closed'), Type.Literal('reopen')]),
          }),
          response: { 200: Type.Object({ state: Type.String() }), 401: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema },
        },
      },
      async (req) => {
        requireAdmin(ctx, req);
        const r = await changeProfileState(ctx.db, req.params.ins, req.body.state, { keyring: ctx.keyring, actor: 'operator' });
        if (!r.ok) throw problem(ADMIN_TRANSITION_REFUSALS[r.reason]);
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
