/**
 * `GET /health` (the process is up), `GET /ready` (its database answers) and `GET /metrics` (Prometheus): on
 * the API, and on the status listener that SMTP-only and worker-only processes open instead (app/gateway.ts),
 * so that every role of a scale-out is watched the same way (the API serves /metrics only when API_EXPOSE names
 * it: api/server.ts). Nothing here needs or reveals personal data.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface HealthContext {
  ready: () => Promise<boolean>;
  metrics?: Registry;
}

export function registerHealthRoutes(app: FastifyInstance, ctx: HealthContext): void {
  app.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/ready', { schema: { hide: true } }, async (_req, reply) => {
    const ok = await ctx.ready().catch(() => false);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not-ready' });
  });
  // Without a registry (the patient API unless API_EXPOSE names metrics) there is no /metrics route at all.
  const registry = ctx.metrics;
  if (registry) {
    app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  }
}

/** A listener with only the three routes above (processes without the API role). */
export async function startStatusServer(host: string, port: number, ctx: HealthContext): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  registerHealthRoutes(app as unknown as FastifyInstance, ctx);
  await app.listen({ host, port });
  return app as unknown as FastifyInstance;
}
