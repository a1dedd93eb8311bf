/**
 * The companion HTTP API (fastify 5, TypeBox schemas, OpenAPI at /docs). Routes call the domain modules;
 * every error is application/problem+json; logs never carry bodies, cookies, tokens or query strings.
 */
import cookie from '@fastify/cookie';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { PatientAccessError } from '../access/index.js';
import type { ApiContext } from './context.js';
import { ApiProblem, problemType } from './problem.js';
import { adminRoutes } from './routes/admin.js';
import { documentRoutes } from './routes/documents.js';
import { professionalRoutes } from './routes/professional.js';
import { webRoutes } from './routes/web.js';
import { mailboxRoutes } from './routes/mailbox.js';
import { patientSessionRoutes } from './routes/patient-session.js';
import { registerHealthRoutes } from './health.js';

export async function buildApi(ctx: ApiContext, logger: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger.child({ part: 'api' }) as unknown as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    trustProxy: false,
  }).withTypeProvider<TypeBoxTypeProvider>();

  await app.register(cookie);
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
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.setErrorHandler((err: FastifyError | ApiProblem | PatientAccessError, req, reply) => {
    let status = 500;
    let code = 'API-INTERNAL';
    let title = 'Internal error';
    let detail: string | undefined = 'Une erreur interne est survenue. Réessayez plus tard.';
    if (err instanceof ApiProblem) {
      ({ status, code, title, detail } = err);
      if (err.headers) reply.headers(err.headers);
    } else if (err instanceof PatientAccessError) {
      status = err.status;
      code = `API-PATIENT-${err.kind.toUpperCase()}`;
      title = err.kind;
      detail = err.message;
    } else if ((err as FastifyError).validation) {
      status = 400;
      code = 'API-VALIDATION';
      title = 'Invalid request';
      detail = (err as FastifyError).message;
    } else if (typeof (err as FastifyError).statusCode === 'number' && (err as FastifyError).statusCode! < 500) {
      status = (err as FastifyError).statusCode!;
      code = `API-HTTP-${status}`;
      title = (err as FastifyError).code ?? 'Request error';
      detail = (err as FastifyError).message;
    } else {
      req.log.error({ err }, 'unhandled API error');
    }
    void reply
      .code(status)
      .type('application/problem+json')
      .send({ type: problemType(code), title, status, detail, code, instance: req.id });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply
      .code(404)
      .type('application/problem+json')
      .send({ type: problemType('API-NOT-FOUND'), title: 'Not found', status: 404, code: 'API-NOT-FOUND', instance: req.id });
  });

  registerHealthRoutes(app as unknown as FastifyInstance, { ready: ctx.ready, metrics: ctx.metrics });

  await app.register(patientSessionRoutes(ctx));
  await app.register(mailboxRoutes(ctx));
  await app.register(documentRoutes(ctx));
  await app.register(professionalRoutes(ctx));
  await app.register(adminRoutes(ctx));
  await app.register(webRoutes);
  return app as unknown as FastifyInstance;
}
