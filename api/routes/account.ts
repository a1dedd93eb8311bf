/**
 * Account self-service (issue 11 item 6): a new provisional code by e-mail, a forgotten password, reactivation
 * after closure or opposition, changing the password, logging out everywhere. The rules are in
 * access/rules/self-service.ts, the work in access/account.ts.
 *
 * - `POST /v1/patient/provisional-code {ins}`: always 202 with no body, whatever the INS (unknown, any state);
 *   the code is issued and e-mailed to the address on file after the answer, so neither the answer nor its timing
 *   tells whether the INS exists. An e-mail failure is logged only (saying so would tell the INS exists).
 * - `POST /v1/patient/password/reset {ins, provisionalCode, birthDate, password}`: 204; every refusal is one 400
 *   `API-PATIENT-RESET-REFUSED` with one text (400 `API-PATIENT-WEAK-PASSWORD` once the code proved right).
 * - `POST /v1/patient/reactivate {ins, provisionalCode, birthDate}`: 200 `{state}` (`active`, or `created` when
 *   the profile was never activated: activate next with the same code); every refusal is one 400
 *   `API-PATIENT-REACTIVATION-REFUSED`.
 * - These three are rate-limited like activation and login (api/rate-limit.ts `patientAuthLimits`, 429
 *   `API-RATE-01`), then throttled per (client address, INS as typed) (429 `API-PATIENT-THROTTLED`), the same for
 *   an unknown INS.
 * - `POST /v1/me/password {currentPassword, newPassword}` (session, CSRF): 204, the other sessions end; a wrong
 *   current password is 400 `API-PATIENT-PASSWORD-REFUSED` (not 401: the session is fine), throttled like a login.
 * - `POST /v1/me/logout-everywhere` (session, CSRF): 204, every session of the patient ends (this one too) and the
 *   cookie is cleared.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { changePassword, endAllSessions, reactivateProfile, requestProvisionalCode, resetPassword } from '../../access/index.js';
import type { ApiContext } from '../context.js';
import { ProblemSchema } from '../problem.js';
import { clientAddress, limitHook, patientAuthLimits } from '../rate-limit.js';
import { ProvisionalFields } from './patient-session.js';
import { requireSession, SESSION_COOKIE } from './session-auth.js';

export const accountRoutes =
  (ctx: ApiContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    const limits = ctx.config.limits;
    const problems = { 400: ProblemSchema, 429: ProblemSchema, 503: ProblemSchema };
    const onRequest = limitHook(app as unknown as FastifyInstance, patientAuthLimits(limits));
    const password = Type.String({ minLength: 1, maxLength: 256 });

    app.post(
      '/v1/patient/provisional-code',
      {
        onRequest,
        schema: {
          tags: ['patient'],
          summary: 'Ask for a new provisional code, e-mailed to the address on file (the same answer for every INS)',
          body: Type.Object({ ins: ProvisionalFields.ins }),
          response: { 202: Type.Null(), ...problems },
        },
      },
      async (req, reply) => {
        const job = await requestProvisionalCode(ctx.db, ctx.keyring, limits, req.body, clientAddress(req));
        void job()
          .then((notice) => (notice ? ctx.notifier.send(notice) : undefined))
          .catch((err: unknown) => req.log.error({ err: (err as Error).message }, 'provisional code request failed'));
        return reply.code(202).send(null);
      },
    );

    app.post(
      '/v1/patient/password/reset',
      {
        onRequest,
        schema: {
          tags: ['patient'],
          summary: 'Forgotten password: the provisional code and birth date, then a new password (every session ends)',
          body: Type.Object({ ...ProvisionalFields, password }),
          response: { 204: Type.Null(), ...problems },
        },
      },
      async (req, reply) => {
        await resetPassword(ctx.db, ctx.keyring, limits, req.body, clientAddress(req));
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/v1/patient/reactivate',
      {
        onRequest,
        schema: {
          tags: ['patient'],
          summary: 'Reopen a closed or opposed profile with the provisional code and birth date',
          body: Type.Object(ProvisionalFields),
          response: { 200: Type.Object({ state: Type.Union([Type.Literal('active'), Type.Literal('created')]) }), ...problems },
        },
      },
      async (req) => ({ state: await reactivateProfile(ctx.db, ctx.keyring, limits, req.body, clientAddress(req)) }),
    );

    app.post(
      '/v1/me/password',
      {
        onRequest,
        schema: {
          tags: ['patient'],
          summary: 'Change my password (the current one is needed); my other sessions end',
          body: Type.Object({ currentPassword: password, newPassword: password }),
          response: { 204: Type.Null(), 401: ProblemSchema, 403: ProblemSchema, ...problems },
        },
      },
      async (req, reply) => {
        const s = await requireSession(ctx, req);
        await changePassword(ctx.db, limits, s, req.body, clientAddress(req));
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/v1/me/logout-everywhere',
      {
        schema: {
          tags: ['patient'],
          summary: 'Log out everywhere: every session of mine ends, this one included',
          response: { 204: Type.Null(), 401: ProblemSchema, 403: ProblemSchema },
        },
      },
      async (req, reply) => {
        const s = await requireSession(ctx, req);
        await endAllSessions(ctx.db, s.patientId);
        reply.clearCookie(SESSION_COOKIE, { httpOnly: true, secure: ctx.config.cookieSecure, sameSite: 'strict', path: '/' });
        return reply.code(204).send(null);
      },
    );
  };
