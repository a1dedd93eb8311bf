/**
 * HTTP rate limits: @fastify/rate-limit with its counters in PostgreSQL (table http_rate_limits), so every API
 * process sharing the database shares them.
 *
 * Guarantees:
 * - One fixed window per key: the first request opens it for `timeWindow`; each request adds one in a single
 *   atomic upsert (no read-then-write race between processes); a request that finds its window over starts a
 *   new one. A request over the limit is refused before its route runs, with 429 problem+json `API-RATE-01`,
 *   French text and Retry-After (seconds to the end of the window).
 * - The limits (config/limits.ts): per client address and for all addresses together on the patient
 *   authentication routes (activation, opposition, login, one-time code), per bearer token on the professional
 *   API (per client address without one). The client address is the peer's unless TRUST_PROXY says which
 *   X-Forwarded-For hops to believe; IPv6 addresses count per /64.
 * - A database error fails the request (500), never lets it through unlimited. Expired windows are deleted now
 *   and then (at most once a minute per process); a crash loses nothing but the in-flight request.
 */
import { createHash } from 'node:crypto';
import rateLimit, { normalizeIP, type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Db, rowsOf } from '../db/index.js';
import { problem } from './problems.js';

const MINUTE = 60_000;

/** A @fastify/rate-limit store over PostgreSQL. */
export function pgRateLimitStore(db: Db): FastifyRateLimitStoreCtor {
  let lastSweep = 0;
  class PgStore implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      const window = Math.max(1, Math.floor(timeWindow));
      db.execute<{ n: number; ttl: string }>(
        sql`INSERT INTO http_rate_limits AS r (key, n, resets_at) VALUES (${key}, 1, now() + ${window} * interval '1 millisecond')
            ON CONFLICT (key) DO UPDATE SET
              n = CASE WHEN r.resets_at <= now() THEN 1 ELSE r.n + 1 END,
              resets_at = CASE WHEN r.resets_at <= now() THEN excluded.resets_at ELSE r.resets_at END
            RETURNING n, GREATEST(0, ceil(extract(epoch FROM (resets_at - now())) * 1000))::bigint AS ttl`,
      ).then(
        (res) => {
          const row = rowsOf<{ n: number; ttl: string }>(res)[0]!;
          callback(null, { current: Number(row.n), ttl: Number(row.ttl) });
        },
        (err: Error) => callback(err),
      );
      const now = Date.now();
      if (now - lastSweep > MINUTE) {
        lastSweep = now;
        db.execute(sql`DELETE FROM http_rate_limits WHERE resets_at < now() - interval '1 minute'`).catch(() => {
          /* best effort: the next sweep retries */
        });
      }
    }
    child(): FastifyRateLimitStore {
      return this;
    }
  }
  return PgStore;
}

/** Registers the plugin (no limit applies by itself: routes opt in with `limitHook`). */
export async function registerRateLimits(app: FastifyInstance, db: Db): Promise<void> {
  await app.register(rateLimit, { global: false, store: pgRateLimitStore(db), skipOnError: false });
}

/** The client address as rate limits count it (IPv6 per /64). */
export const clientAddress = (req: FastifyRequest): string => normalizeIP(req.ip);

export interface LimitSpec {
  /** Key of the counter for this request (prefixed by the caller with the limit's name). */
  key: (req: FastifyRequest) => string;
  /** Requests per minute. */
  perMinute: number;
}

const tooMany = (retryAfterSeconds: number) => problem('rateLimited', { headers: { 'retry-after': String(Math.max(1, retryAfterSeconds)) } });

/** An onRequest hook enforcing every limit in order (a refused request is not counted by the later ones). */
export function limitHook(app: FastifyInstance, specs: LimitSpec[]): (req: FastifyRequest) => Promise<void> {
  const checks = specs.map((s) => app.createRateLimit({ max: s.perMinute, timeWindow: MINUTE, keyGenerator: s.key }));
  return async (req) => {
    for (const check of checks) {
      const r = await check(req);
      if (!r.isAllowed && r.isExceeded) throw tooMany(r.ttlInSeconds);
    }
  };
}

/** The patient authentication routes: per client address, then all addresses together. */
export function patientAuthLimits(limits: { patientAuthPerIpPerMinute: number; patientAuthGlobalPerMinute: number }): LimitSpec[] {
  return [
    { key: (req) => `patient-auth:ip:${clientAddress(req)}`, perMinute: limits.patientAuthPerIpPerMinute },
    { key: () => 'patient-auth:all', perMinute: limits.patientAuthGlobalPerMinute },
  ];
}

/** The professional API: per bearer token (by its SHA-256), per client address without one. */
export function proApiLimits(limits: { proApiPerTokenPerMinute: number }): LimitSpec[] {
  return [
    {
      key: (req) => {
        const auth = req.headers.authorization ?? '';
        const token = /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '').trim() : '';
        return token ? `pro:token:${createHash('sha256').update(token).digest('hex')}` : `pro:ip:${clientAddress(req)}`;
      },
      perMinute: limits.proApiPerTokenPerMinute,
    },
  ];
}
