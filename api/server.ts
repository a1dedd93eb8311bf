/**
 * The companion HTTP API (fastify 5, TypeBox schemas, OpenAPI at /docs when API_EXPOSE names it). Routes call
 * the domain modules; every error is application/problem+json; logs never carry bodies, cookies, tokens, URLs
 * or query strings (a request is logged by its route pattern: api/request-log.ts). `/metrics` and `/docs` are
 * served here only when API_EXPOSE names them; with COOKIE_SECURE (the default) every response carries
 * Strict-Transport-Security.
 */
import cookie from '@fastify/cookie';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { SecureContextOptions, Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import type { ApiContext } from './context.js';
import { problemBody } from './problem.js';
import { problem, problemOf } from './problems.js';
import { adminRoutes } from './routes/admin.js';
import { accessRoutes } from './routes/access.js';
import { documentRoutes } from './routes/documents.js';
import { professionalRoutes } from './routes/professional.js';
import { webRoutes } from './routes/web.js';
import { mailboxRoutes } from './routes/mailbox.js';
import { patientSessionRoutes } from './routes/patient-session.js';
import { accountRoutes } from './routes/account.js';
import { registerHealthRoutes } from './health.js';
import { organisationRoutes } from './routes/organisation.js';
import { registerRateLimits } from './rate-limit.js';
import { serializeRequest } from './request-log.js';

/** HSTS for a year, subdomains included: the API and webmail are only ever meant to be reached over https. */
export const HSTS = 'max-age=31536000; includeSubDomains';

export async function buildApi(ctx: ApiContext, logger: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger.child({ part: 'api' }, { serializers: { req: serializeRequest } }) as unknown as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    // Which X-Forwarded-For hops give the client address (TRUST_PROXY; off by default): rate limits and login throttling count per client.
    trustProxy: ctx.config.trustProxy,
  }).withTypeProvider<TypeBoxTypeProvider>();

  await app.register(cookie);
  await registerRateLimits(app as unknown as FastifyInstance, ctx.db);
  await app.register(multipart, { limits: { fileSize: ctx.config.limits.maxMessageBytes, files: 1, fields: 10, parts: 12 } });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'mes-gateway API', version: '0.1.0', description: 'Patient mailbox and operator API of the MSSanté patient gateway.' },
      components: {
        securitySchemes: {
          patientSession: { type: 'http', scheme: 'bearer' },
          operator: { type: 'http', scheme: 'bearer' },
        },
      },
    },
  });
  if (ctx.config.api.expose.has('docs')) await app.register(swaggerUi, { routePrefix: '/docs' });
  if (ctx.config.cookieSecure) {
    app.addHook('onSend', async (_req, reply, payload) => {
      reply.header('strict-transport-security', HSTS);
      return payload;
    });
  }

  installProblemHandlers(app as unknown as FastifyInstance);

  registerHealthRoutes(app as unknown as FastifyInstance, { ready: ctx.ready, metrics: ctx.config.api.expose.has('metrics') ? ctx.metrics : undefined });

  await app.register(patientSessionRoutes(ctx));
  await app.register(accountRoutes(ctx));
  await app.register(mailboxRoutes(ctx));
  await app.register(documentRoutes(ctx));
  await app.register(accessRoutes(ctx));
  await app.register(professionalRoutes(ctx));
  await app.register(adminRoutes(ctx));
  await app.register(webRoutes);
  return app as unknown as FastifyInstance;
}

/** Every error as application/problem+json, the same on every listener; statuses and codes come from api/problems.ts. */
function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, req, reply) => {
    let p = problemOf(err);
    if (!p) {
      req.log.error({ err }, 'unhandled API error');
      p = problem('internal');
    }
    if (p.headers) reply.headers(p.headers);
    void reply.code(p.status).type('application/problem+json').send(problemBody(p, req.id));
  });
  app.setNotFoundHandler((req, reply) => {
    const p = problem('notFound');
    void reply.code(p.status).type('application/problem+json').send(problemBody(p, req.id));
  });
}

const organisationContext = (tls: OrganisationTls, crl: string[] | undefined): SecureContextOptions => ({
  key: tls.key,
  cert: tls.cert,
  ca: tls.ca,
  ...(crl ? { crl } : {}),
  minVersion: 'TLSv1.2',
});

/**
 * Puts a new set of CRLs in force on the organisation listener (certs/revocation.ts calls it at each change):
 * new connections are checked against it, open ones keep their verified certificate. Throws, leaving the previous
 * context in force, when node:tls refuses the set.
 */
export function updateOrganisationCrl(app: FastifyInstance, tls: OrganisationTls, crl: string[]): void {
  (app.server as unknown as TlsServer).setSecureContext(organisationContext(tls, crl));
}

/** TLS material of the organisation listener: the gateway's certificate, the IGC-Santé anchors and CRLs. */
export interface OrganisationTls {
  key: Buffer;
  cert: Buffer;
  ca: string[];
  crl?: string[];
}

/**
 * The organisation API on its own mutual-TLS listener (PRO_API_MTLS_PORT): client certificates are requested and
 * verified by node:tls against the IGC-Santé anchors and CRLs; a connection without a valid one still gets an
 * HTTP answer (401 problem+json saying why) rather than a bare handshake failure, and nothing else is served.
 */
export async function buildOrganisationApi(ctx: ApiContext, logger: Logger, tls: OrganisationTls): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger.child({ part: 'organisation-api' }, { serializers: { req: serializeRequest } }) as unknown as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    https: { ...organisationContext(tls, tls.crl), requestCert: true, rejectUnauthorized: false },
  }).withTypeProvider<TypeBoxTypeProvider>();
  const limits = ctx.config.limits;
  await app.register(multipart, {
    limits: { fileSize: limits.maxMessageBytes, files: Infinity, fields: Infinity, fieldSize: 64 * 1024, parts: Infinity },
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'mes-gateway organisation API',
        version: '0.1.0',
        description: 'Deposits by hospital systems and the insurer, over mutual TLS with their IGC-Santé organisation certificate.',
      },
    },
  });
  if (ctx.config.api.expose.has('docs')) await app.register(swaggerUi, { routePrefix: '/docs' });
  installProblemHandlers(app as unknown as FastifyInstance);
  await app.register(organisationRoutes(ctx));
  return app as unknown as FastifyInstance;
}
