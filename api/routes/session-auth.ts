/** Reads the patient session from the cookie or an `Authorization: Bearer` header. */
import type { FastifyRequest } from 'fastify';
import { authenticateSession } from '../../access/index.js';
import type { ApiContext } from '../context.js';
import { ApiProblem } from '../problem.js';

export const SESSION_COOKIE = 'mes_session';

export function sessionToken(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (auth && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim();
  return req.cookies?.[SESSION_COOKIE];
}

export async function requirePatient(ctx: ApiContext, req: FastifyRequest): Promise<string> {
  const token = sessionToken(req);
  const patientId = token ? await authenticateSession(ctx.db, ctx.config.limits, token) : null;
  if (!patientId) throw new ApiProblem(401, 'API-AUTH-01', 'Not authenticated', 'Votre session a expiré. Reconnectez-vous.');
  return patientId;
}
