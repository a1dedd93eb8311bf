/**
 * Reads the patient session from the `mes_session` cookie or an `Authorization: Bearer` header.
 *
 * Guarantees:
 * - No live session (none, unknown, revoked, absolute or idle expiry) → 401 `API-AUTH-01`.
 * - CSRF: a session carried by the cookie (no bearer token) on a method other than GET/HEAD/OPTIONS also needs
 *   header `x-csrf-token` equal to the session's derived token (`csrfTokenFor`, constant-time compare), else 403
 *   `API-CSRF-01` before the route does anything. A bearer token is never sent by the browser on its own, so
 *   bearer requests are exempt. The cookie is SameSite=Strict as well; this is the second, explicit barrier.
 */
import type { FastifyRequest } from 'fastify';
import { csrfTokenMatches, openSession, type LiveSession } from '../../access/index.js';
import type { ApiContext } from '../context.js';
import { problem } from '../problems.js';

export const SESSION_COOKIE = 'mes_session';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const notAuthenticated = () => problem('sessionRequired');

/** The session token and where it came from: the bearer header wins over the cookie. */
function sessionSource(req: FastifyRequest): { token: string; viaCookie: boolean } | undefined {
  const auth = req.headers.authorization;
  if (auth && /^Bearer\s+/i.test(auth)) return { token: auth.replace(/^Bearer\s+/i, '').trim(), viaCookie: false };
  const cookie = req.cookies?.[SESSION_COOKIE];
  return cookie ? { token: cookie, viaCookie: true } : undefined;
}

export function sessionToken(req: FastifyRequest): string | undefined {
  return sessionSource(req)?.token;
}

export interface PatientSessionAuth extends LiveSession {
  token: string;
}

/** The live session of the request (401 without one), CSRF-checked when it rides on the cookie (403). */
export async function requireSession(ctx: ApiContext, req: FastifyRequest): Promise<PatientSessionAuth> {
  const src = sessionSource(req);
  const session = src ? await openSession(ctx.db, ctx.config.limits, src.token) : null;
  if (!src || !session) throw notAuthenticated();
  if (src.viaCookie && !SAFE_METHODS.has(req.method.toUpperCase())) {
    const header = req.headers[CSRF_HEADER];
    if (!csrfTokenMatches(src.token, typeof header === 'string' ? header : undefined)) {
      throw problem('csrfRefused');
    }
  }
  return { ...session, token: src.token };
}

/** The patient id of the request's live session; see `requireSession`. */
export async function requirePatient(ctx: ApiContext, req: FastifyRequest): Promise<string> {
  return (await requireSession(ctx, req)).patientId;
}
