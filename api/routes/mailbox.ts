/** The patient's mailbox: list, read, download an attachment (decrypted on the fly, streamed). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { InvalidCursorError, listMessages, openAttachment, readMessage } from '../../mailbox/index.js';
import type { ApiContext } from '../context.js';
import { ApiProblem, ProblemSchema } from '../problem.js';
import { requirePatient } from './session-auth.js';

const Attachment = Type.Object({
  id: Type.String(),
  filename: Type.String(),
  size: Type.Integer(),
  mediaType: Type.String(),
});
const Summary = {
  id: Type.String(),
  subject: Type.String(),
  receivedAt: Type.String(),
  read: Type.Boolean(),
  from: Type.Object({ displayName: Type.String() }),
  attachments: Type.Array(Attachment),
};

const notFound = () => new ApiProblem(404, 'API-MSG-01', 'Not found', 'Message introuvable.');

function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

export const mailboxRoutes =
  (ctx: ApiContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/v1/me/messages',
      {
        schema: {
          tags: ['mailbox'],
          summary: 'Messages of the inbox, newest first',
          querystring: Type.Object({ cursor: Type.Optional(Type.String({ maxLength: 200 })) }),
          response: {
            200: Type.Object({ items: Type.Array(Type.Object(Summary)), next: Type.Union([Type.String(), Type.Null()]) }),
            400: ProblemSchema,
            401: ProblemSchema,
          },
        },
      },
      async (req) => {
        const patientId = await requirePatient(ctx, req);
        try {
          return await listMessages(ctx.db, ctx.keyring, patientId, { cursor: req.query.cursor, limit: ctx.config.limits.apiPageSize });
        } catch (err) {
          if (err instanceof InvalidCursorError) throw new ApiProblem(400, 'API-MSG-02', 'Invalid cursor', 'Curseur de pagination invalide.');
          throw err;
        }
      },
    );

    app.get(
      '/v1/me/messages/:id',
      {
        schema: {
          tags: ['mailbox'],
          summary: 'One message (marks it read)',
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          response: { 200: Type.Object({ ...Summary, text: Type.String() }), 401: ProblemSchema, 404: ProblemSchema },
        },
      },
      async (req) => {
        const patientId = await requirePatient(ctx, req);
        const m = await readMessage(ctx.db, ctx.keyring, patientId, req.params.id);
        if (!m) throw notFound();
        return m;
      },
    );

    app.get(
      '/v1/me/messages/:id/attachments/:attachmentId',
      {
        schema: {
          tags: ['mailbox'],
          summary: 'Download an attachment (the exact bytes sent)',
          params: Type.Object({ id: Type.String({ maxLength: 64 }), attachmentId: Type.String({ maxLength: 64 }) }),
          response: { 401: ProblemSchema, 404: ProblemSchema },
        },
      },
      async (req, reply) => {
        const patientId = await requirePatient(ctx, req);
        const a = await openAttachment(ctx.db, ctx.keyring, ctx.blobs, patientId, req.params.id, req.params.attachmentId);
        if (!a) throw new ApiProblem(404, 'API-MSG-03', 'Not found', 'Pièce jointe introuvable.');
        reply
          .header('content-type', 'application/octet-stream')
          .header('x-content-type-options', 'nosniff')
          .header('content-disposition', contentDisposition(a.filename))
          .header('content-length', String(a.size))
          .header('cache-control', 'no-store');
        return reply.send(a.stream as never);
      },
    );
  };
