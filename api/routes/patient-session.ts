/**
 * Patient activation, opposition during the 6-week window, login with an e-mailed one-time code, the current
 * session, logout.
 *
 * - `POST /v1/patient/oppose {ins, provisionalCode, birthDate}`: 204; any refusal (wrong code or birth date,
 *   unknown INS, profile not pending) is one 400 `API-PATIENT-OPPOSITION-REFUSED` with one text.
 * - `POST /v1/patient/login/verify` → `{token, expiresAt, csrfToken}` and the HttpOnly SameSite=Strict cookie.
 * - `GET /v1/me/session` → `{expiresAt, csrfToken, state}` (401 `API-AUTH-01` without a live session): lets the
 *   webmail, which cannot read its HttpOnly cookie, get the `x-csrf-token` value back after a reload.
 * - Logout needs no CSRF token: the worst a forged one can do is end the session.
 * - Activation, opposition, login and the one-time code are rate-limited per client address and for all
 *   addresses together (api/rate-limit.ts, 429 `API-RATE-01` with Retry-After) before anything else runs, then
 *   throttled per (client address, INS) with growing delays (429 `API-PATIENT-THROTTLED`, Retry-After), the same
 *   for an unknown INS; a burst beyond the password-hashing gate gets 503 `API-PATIENT-BUSY` with Retry-After.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { activatePatient, csrfTokenFor, endSession, opposeProfile, patientInsOf, profileStateOf, startLogin, verifyLogin } from '../../access/index.js';
import { loginCodeNotice } from '../../gateway/notify/index.js';
import type { ApiContext } from '../context.js';
import { ProblemSchema } from '../problem.js';
import { problem } from '../problems.js';
import { clientAddress, limitHook, patientAuthLimits } from '../rate-limit.js';
import { notAuthenticated, requireSession, SESSION_COOKIE, sessionToken } from './session-auth.js';

export const ProvisionalFields = {
  ins: Type.String({ minLength: 15, maxLength: 15 }),
  provisionalCode: Type.String({ minLength: 1, maxLength: 64 }),
  birthDate: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
};

export const patientSessionRoutes =
  (ctx: ApiContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    const limits = ctx.config.limits;
    const problems = { 400: ProblemSchema, 401: ProblemSchema, 429: ProblemSchema, 503: ProblemSchema };
    const onRequest = limitHook(app as unknown as FastifyInstance, patientAuthLimits(limits));

    app.post(
      '/v1/patient/activate',
      {
        onRequest,
        schema: {
          tags: ['patient'],
          summary: 'Activate a profile with the provisional code and birth date, and choose a password',
          body: Type.Object({ ...ProvisionalFields, password: Type.String({ minLength: 1, maxLength: 256 }) }),
          response: { 204: Type.Null(), ...problems },
        },
      },
      async (req, reply) => {
        await activatePatient(ctx.db, ctx.keyring, limits, req.body, clientAddress(req));
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/v1/patient/oppose',
      {
        onRequest,
        schema: {
          tags: ['patient'],
          summary: 'Oppose the creation of the profile during the 6-week window (provisional code and birth date)',
          body: Type.Object(ProvisionalFields),
          response: { 204: Type.Null(), ...problems },
        },
      },
      async (req, reply) => {
        await opposeProfile(ctx.db, ctx.keyring, limits, req.body, clientAddress(req));
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/v1/patient/login',
      {
        onRequest,
        schema: {
          tags: ['patient'],
          summary: 'First factor: password; a one-time code is sent to the personal e-mail address',
          body: Type.Object({
            ins: Type.String({ minLength: 15, maxLength: 15 }),
            password: Type.String({ minLength: 1, maxLength: 256 }),
          }),
          response: { 200: Type.Object({ challengeId: Type.String() }), ...problems },
        },
      },
      async (req) => {
        const c = await startLogin(ctx.db, ctx.keyring, limits, req.body, clientAddress(req));
        try {
          await ctx.notifier.send(loginCodeNotice(c.email, c.code, Math.round(limits.loginCodeValidityMs / 60_000)));
        } catch (err) {
          req.log.error({ err: (err as Error).message }, 'login code e-mail failed');
          throw problem('notificationUnavailable');
        }
        return { challengeId: c.challengeId };
      },
    );

    app.post(
      '/v1/patient/login/verify',
      {
        onRequest,
        schema: {
          tags: ['patient'],
          summary: 'Second factor: the e-mailed code; returns a session (cookie and bearer token)',
          body: Type.Object({
            challengeId: Type.String({ maxLength: 64 }),
            code: Type.String({ minLength: 1, maxLength: 16 }),
          }),
          response: { 200: Type.Object({ token: Type.String(), expiresAt: Type.String(), csrfToken: Type.String() }), ...problems },
        },
      },
      async (req, reply) => {
        const s = await verifyLogin(ctx.db, limits, req.body, clientAddress(req));
        reply.setCookie(SESSION_COOKIE, s.token, {
          httpOnly: true,
          secure: ctx.config.cookieSecure,
          sameSite: 'strict',
          path: '/',
          expires: s.expiresAt,
        });
        return { token: s.token, expiresAt: s.expiresAt.toISOString(), csrfToken: csrfTokenFor(s.token) };
      },
    );

    app.get(
      '/v1/me/session',
      {
        schema: {
          tags: ['patient'],
          summary: "The current session: its absolute expiry, its anti-CSRF token, the profile state and the patient's own address",
          response: {
            200: Type.Object({ expiresAt: Type.String(), csrfToken: Type.String(), state: Type.String(), address: Type.String() }),
            401: ProblemSchema,
          },
        },
      },
      async (req) => {
        const s = await requireSession(ctx, req);
        const [state, ins] = await Promise.all([profileStateOf(ctx.db, s.patientId), patientInsOf(ctx.db, s.patientId)]);
        if (!state || !ins) throw notAuthenticated();
        return { expiresAt: s.expiresAt.toISOString(), csrfToken: csrfTokenFor(s.token), state, address: `${ins}@${ctx.config.patientDomain}` };
      },
    );

    app.post('/v1/patient/logout', { schema: { tags: ['patient'], summary: 'End the session', response: { 204: Type.Null() } } }, async (req, reply) => {
      const token = sessionToken(req);
      if (token) await endSession(ctx.db, token);
      // The same attributes as when it was set: a browser only drops the cookie it matches.
      reply.clearCookie(SESSION_COOKIE, { httpOnly: true, secure: ctx.config.cookieSecure, sameSite: 'strict', path: '/' });
      return reply.code(204).send(null);
    });
  };
