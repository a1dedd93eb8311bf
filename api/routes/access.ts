/**
 * « Qui voit quoi »: the patient's access settings (SPEC §6.4, DOMAIN.md §6), under a patient session
 * (`requirePatient`: 401 `API-AUTH-01`; unsafe methods under the cookie also need `x-csrf-token`, else 403
 * `API-CSRF-01`). The routes only read and validate; the rules are in access/ (settings, `blockedBy`,
 * `parseFiness`, `mergeKnownProfessionals`).
 *
 * - `GET /v1/me/access`: blocked professionals (RPPS) and establishments (FINESS), the administrator doctor,
 *   "mask all", and the two emergency settings, each refusable: `samuRegulatorAllowed` (the SAMU regulator) and
 *   `breakGlassAllowed` ("bris de glace", life at risk). `PATCH` changes any of the last four; the old single
 *   `emergencyAllowed` is refused (400 `API-ACCESS-06`) rather than ignored, so that an old client never believes
 *   it refused emergency access when it did not.
 * - Blocks: `POST /v1/me/access/blocked {rpps}` / `DELETE …/blocked/{rpps}` (404 `API-ACCESS-01` when not
 *   blocked); `POST /v1/me/access/blocked-establishments {finess}` / `DELETE …/blocked-establishments/{finess}`: a
 *   malformed FINESS is 400 `API-ACCESS-04` (spaces, dots, dashes and a lower-case 2a/2b are accepted and
 *   normalised), one not blocked 404 `API-ACCESS-05`. Blocking twice is not an error.
 * - `GET /v1/me/access/known-professionals`: the professionals the patient knows, to pick from (activity history
 *   and directory-known mail contacts), newest first.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  accessSnapshot,
  blockEstablishment,
  blockProfessional,
  knownProfessionals,
  parseFiness,
  RPPS,
  unblockEstablishment,
  unblockProfessional,
  updateAccessSettings,
} from '../../access/index.js';
import type { ApiContext } from '../context.js';
import { ProblemSchema } from '../problem.js';
import { problem, SETTINGS_REFUSALS } from '../problems.js';
import { requirePatient } from './session-auth.js';

export const AccessSettingsSchema = Type.Object({
  blocked: Type.Array(Type.String(), { description: 'RPPS of the blocked professionals.' }),
  blockedEstablishments: Type.Array(Type.String(), { description: 'FINESS of the blocked establishments: none of their professionals sees anything.' }),
  administratorRpps: Type.Union([Type.String(), Type.Null()]),
  allMasked: Type.Boolean(),
  samuRegulatorAllowed: Type.Boolean({ description: 'Access by the SAMU regulator (médecin régulateur) allowed; true until the patient refuses it.' }),
  breakGlassAllowed: Type.Boolean({ description: '"Bris de glace" (any authorised professional, life at risk) allowed; true until the patient refuses it.' }),
});

export const KnownProfessionalSchema = Type.Object({
  rpps: Type.String(),
  displayName: Type.String(),
  profession: Type.Union([Type.String(), Type.Null()], { description: 'TRE_G15 profession code.' }),
  organisation: Type.Union([Type.String(), Type.Null()]),
  finess: Type.Union([Type.String(), Type.Null()]),
  lastSeenAt: Type.String({ description: 'Their last action in the history or last message, ISO 8601.' }),
  source: Type.Union([Type.Literal('history'), Type.Literal('contact')], {
    description: 'history: they acted on the record (may become the administrator doctor); contact: a mail contact whose RPPS the directory knows.',
  }),
});

export const accessRoutes =
  (ctx: ApiContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/v1/me/access',
      { schema: { tags: ['access'], summary: 'My access settings', response: { 200: AccessSettingsSchema, 401: ProblemSchema } } },
      async (req) => {
        const patientId = await requirePatient(ctx, req);
        const s = await accessSnapshot(ctx.db, patientId);
        return {
          blocked: [...s.blockedRpps].sort(),
          blockedEstablishments: [...s.blockedFiness].sort(),
          administratorRpps: s.administratorRpps,
          allMasked: s.allMasked,
          samuRegulatorAllowed: s.samuRegulatorAllowed,
          breakGlassAllowed: s.breakGlassAllowed,
        };
      },
    );

    app.patch(
      '/v1/me/access',
      {
        schema: {
          tags: ['access'],
          summary: 'Mask all documents, allow or refuse SAMU regulator access and bris de glace (each on its own), choose the administrator doctor',
          body: Type.Object({
            allMasked: Type.Optional(Type.Boolean()),
            samuRegulatorAllowed: Type.Optional(Type.Boolean()),
            breakGlassAllowed: Type.Optional(Type.Boolean()),
            administratorRpps: Type.Optional(Type.Union([Type.String({ pattern: '^\\d{11}$' }), Type.Null()])),
            emergencyAllowed: Type.Optional(
              Type.Unknown({ deprecated: true, description: 'Replaced by samuRegulatorAllowed and breakGlassAllowed: refused (400 API-ACCESS-06).' }),
            ),
          }),
          response: { 204: Type.Null(), 400: ProblemSchema, 401: ProblemSchema, 409: ProblemSchema },
        },
      },
      async (req, reply) => {
        const patientId = await requirePatient(ctx, req);
        const { emergencyAllowed, ...change } = req.body;
        if (emergencyAllowed !== undefined) throw problem('emergencyAllowedReplaced');
        const r = await updateAccessSettings(ctx.db, patientId, change);
        if (r !== 'ok') throw problem(SETTINGS_REFUSALS[r]);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/v1/me/access/known-professionals',
      {
        schema: {
          tags: ['access'],
          summary:
            'The professionals I know (my history, my mail contacts known to the directory), newest first, to choose the administrator doctor or block someone',
          response: { 200: Type.Object({ items: Type.Array(KnownProfessionalSchema) }), 401: ProblemSchema },
        },
      },
      async (req) => {
        const patientId = await requirePatient(ctx, req);
        return { items: await knownProfessionals(ctx.db, ctx.keyring, patientId) };
      },
    );

    app.post(
      '/v1/me/access/blocked',
      {
        schema: {
          tags: ['access'],
          summary: 'Block a professional (by RPPS): they see nothing',
          body: Type.Object({ rpps: Type.String({ pattern: '^\\d{11}$' }) }),
          response: { 204: Type.Null(), 401: ProblemSchema },
        },
      },
      async (req, reply) => {
        const patientId = await requirePatient(ctx, req);
        await blockProfessional(ctx.db, patientId, req.body.rpps);
        return reply.code(204).send(null);
      },
    );

    app.delete(
      '/v1/me/access/blocked/:rpps',
      {
        schema: {
          tags: ['access'],
          summary: 'Unblock a professional',
          params: Type.Object({ rpps: Type.String({ maxLength: 11 }) }),
          response: { 204: Type.Null(), 401: ProblemSchema, 404: ProblemSchema },
        },
      },
      async (req, reply) => {
        const patientId = await requirePatient(ctx, req);
        if (!RPPS.test(req.params.rpps) || !(await unblockProfessional(ctx.db, patientId, req.params.rpps))) throw problem('professionalNotBlocked');
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/v1/me/access/blocked-establishments',
      {
        schema: {
          tags: ['access'],
          summary: 'Block an establishment (by FINESS): none of its professionals sees anything',
          body: Type.Object({ finess: Type.String({ maxLength: 20, description: '9 characters: digits, or 2A/2B then 7 digits (Corsica).' }) }),
          response: { 204: Type.Null(), 400: ProblemSchema, 401: ProblemSchema },
        },
      },
      async (req, reply) => {
        const patientId = await requirePatient(ctx, req);
        const finess = parseFiness(req.body.finess);
        if (!finess) throw problem('finessInvalid');
        await blockEstablishment(ctx.db, patientId, finess);
        return reply.code(204).send(null);
      },
    );

    app.delete(
      '/v1/me/access/blocked-establishments/:finess',
      {
        schema: {
          tags: ['access'],
          summary: 'Unblock an establishment',
          params: Type.Object({ finess: Type.String({ maxLength: 20 }) }),
          response: { 204: Type.Null(), 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema },
        },
      },
      async (req, reply) => {
        const patientId = await requirePatient(ctx, req);
        const finess = parseFiness(req.params.finess);
        if (!finess) throw problem('finessInvalid');
        if (!(await unblockEstablishment(ctx.db, patientId, finess))) throw problem('establishmentNotBlocked');
        return reply.code(204).send(null);
      },
    );
  };
