/**
 * The patient's mailbox: list, read, download an attachment (decrypted on the fly, streamed), reply, write.
 * Every route needs a patient session (`requirePatient`: 401 `API-AUTH-01`; unsafe methods under the cookie
 * also need `x-csrf-token`, else 403 `API-CSRF-01`). Only fields declared in the response schemas are sent:
 * `GET /v1/me/messages/{id}` adds `text`, `html` (raw as received, or null: the client sanitizes it) and, per
 * attachment, `contentId` and `contentType` (both possibly null) to the listing fields.
 *
 * Listings (a folder, the contacts, a thread) are pages of `limits.apiPageSize` items: `next` is the opaque
 * cursor of the following page, passed back as `?cursor=`, null on the last page. A malformed cursor, or one of
 * another listing, is a 400 with the listing's own code: `API-MSG-02` messages, `API-MSG-04` contacts,
 * `API-MSG-05` a thread. Every refusal is a problem of api/problems.ts. Registered in three groups along their
 * roles: the listings, one message, writing.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  deleteMessage,
  listContacts,
  listMessages,
  listThread,
  openAttachment,
  queueMdn,
  readMessage,
  replyToMessage,
  setRead,
  writeToContact,
} from '../../mailbox/index.js';
import type { ApiContext } from '../context.js';
import { ProblemSchema } from '../problem.js';
import { problem } from '../problems.js';
import type { RouteApp } from './route-app.js';
import { requirePatient } from './session-auth.js';
import { setDownloadHeaders } from './content-disposition.js';

const Attachment = Type.Object({
  id: Type.String(),
  filename: Type.String(),
  size: Type.Integer(),
  mediaType: Type.String(),
});
const AttachmentDetail = Type.Object({
  ...Attachment.properties,
  contentId: Type.Union([Type.String(), Type.Null()]),
  contentType: Type.Union([Type.String(), Type.Null()]),
});
const Summary = {
  id: Type.String(),
  folder: Type.String(),
  subject: Type.String(),
  receivedAt: Type.String(),
  read: Type.Boolean(),
  from: Type.Object({ displayName: Type.String() }),
  to: Type.Union([Type.Object({ displayName: Type.String() }), Type.Null()]),
  threadId: Type.Union([Type.String(), Type.Null()]),
  canReply: Type.Boolean(),
  closedNotice: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.String(), Type.Null()]),
  attachments: Type.Array(Attachment),
};
const SendBody = {
  text: Type.String({ minLength: 1, maxLength: 100_000 }),
  documentIds: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 20 })),
};

/** A refused send: 400 a malformed document id, 403 a mailbox rule, 404 not found, 410 a deleted document, 413 over 5 MB. */
const sendProblems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 410: ProblemSchema, 413: ProblemSchema };

const notFound = () => problem('messageNotFound');

/** The query of a paginated listing and the `next` of its answer. */
const CursorQuery = { cursor: Type.Optional(Type.String({ maxLength: 200, description: 'The `next` of the previous page; absent for the first page.' })) };
const Next = Type.Union([Type.String(), Type.Null()], { description: 'Opaque cursor of the following page (pass it as `cursor`); null on the last page.' });

/**
 * The listings, pages read by key (mailbox/read.ts); a bad cursor is the mailbox's InvalidCursorError for its
 * list, answered 400 with the list's own code by api/problems.ts.
 */
function listingRoutes(app: RouteApp, ctx: ApiContext): void {
  app.get(
    '/v1/me/messages',
    {
      schema: {
        tags: ['mailbox'],
        summary: 'Messages of the inbox, newest first',
        querystring: Type.Object({
          ...CursorQuery,
          folder: Type.Optional(Type.Union([Type.Literal('inbox'), Type.Literal('sent')])),
        }),
        response: {
          200: Type.Object({ items: Type.Array(Type.Object(Summary)), next: Next }),
          400: ProblemSchema,
          401: ProblemSchema,
        },
      },
    },
    async (req) => {
      const patientId = await requirePatient(ctx, req);
      return listMessages(ctx.db, ctx.keyring, patientId, {
        cursor: req.query.cursor,
        limit: ctx.config.limits.apiPageSize,
        folder: req.query.folder ?? 'inbox',
      });
    },
  );

  app.get(
    '/v1/me/contacts',
    {
      schema: {
        tags: ['mailbox'],
        summary: 'The professionals the patient may write to, the one who wrote last first',
        querystring: Type.Object(CursorQuery),
        response: {
          200: Type.Object({ items: Type.Array(Type.Object({ id: Type.String(), displayName: Type.String() })), next: Next }),
          400: ProblemSchema,
          401: ProblemSchema,
        },
      },
    },
    async (req) => {
      const patientId = await requirePatient(ctx, req);
      return listContacts(ctx.db, ctx.keyring, patientId, { cursor: req.query.cursor, limit: ctx.config.limits.apiPageSize });
    },
  );

  app.get(
    '/v1/me/threads/:threadId',
    {
      schema: {
        tags: ['mailbox'],
        summary: 'The messages of one conversation, both folders, oldest first',
        params: Type.Object({ threadId: Type.String({ maxLength: 64 }) }),
        querystring: Type.Object(CursorQuery),
        response: { 200: Type.Object({ items: Type.Array(Type.Object(Summary)), next: Next }), 400: ProblemSchema, 401: ProblemSchema },
      },
    },
    async (req) => {
      const patientId = await requirePatient(ctx, req);
      return listThread(ctx.db, ctx.keyring, patientId, req.params.threadId, { cursor: req.query.cursor, limit: ctx.config.limits.apiPageSize });
    },
  );
}

/** One message: reading it (which sends its read receipt), read/unread, deleting, its attachments. */
function messageRoutes(app: RouteApp, ctx: ApiContext): void {
  app.get(
    '/v1/me/messages/:id',
    {
      schema: {
        tags: ['mailbox'],
        summary: 'One message (marks it read)',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: {
          200: Type.Object({
            ...Summary,
            attachments: Type.Array(AttachmentDetail),
            text: Type.String(),
            html: Type.Union([Type.String(), Type.Null()]),
          }),
          401: ProblemSchema,
          404: ProblemSchema,
        },
      },
    },
    async (req) => {
      const patientId = await requirePatient(ctx, req);
      const m = await readMessage(ctx.db, ctx.keyring, patientId, req.params.id, async (id) => {
        // The sender asked for a read receipt: it leaves now, the patient cannot refuse it (CNAM ENS §6).
        // A receipt that cannot be built (odd address) must not keep the patient from reading.
        try {
          if (await queueMdn(ctx.reportDeps, patientId, id)) ctx.kickOutbox();
        } catch (err) {
          req.log.warn({ err: (err as Error).message }, 'read receipt not sent');
        }
      });
      if (!m) throw notFound();
      return m;
    },
  );

  app.patch(
    '/v1/me/messages/:id',
    {
      schema: {
        tags: ['mailbox'],
        summary: 'Mark a message read or unread',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        body: Type.Object({ read: Type.Boolean() }),
        response: { 204: Type.Null(), 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema },
      },
    },
    async (req, reply) => {
      const patientId = await requirePatient(ctx, req);
      if (!(await setRead(ctx.db, patientId, req.params.id, req.body.read))) throw notFound();
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/v1/me/messages/:id',
    {
      schema: {
        tags: ['mailbox'],
        summary: 'Delete a message (its documents stay in the vault)',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 204: Type.Null(), 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema },
      },
    },
    async (req, reply) => {
      const patientId = await requirePatient(ctx, req);
      if (!(await deleteMessage(ctx.db, patientId, req.params.id))) throw notFound();
      return reply.code(204).send(null);
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
      if (!a) throw problem('attachmentNotFound');
      setDownloadHeaders(reply, { filename: a.filename, size: a.size });
      return reply.send(a.stream as never);
    },
  );
}

/**
 * Writing: a reply and a new message, checked against the mailbox rules at send time (mailbox/patient-send.ts);
 * a refusal is a SendRefusedError whose reason api/problems.ts answers (403 a rule, 400/404/410 a document, 413).
 */
function sendRoutes(app: RouteApp, ctx: ApiContext): void {
  const sendDeps = () => ({
    db: ctx.db,
    blobs: ctx.blobs,
    keyring: ctx.keyring,
    patientDomain: ctx.config.patientDomain,
    isMssanteDomain: ctx.isMssanteDomain,
  });

  app.post(
    '/v1/me/messages/:id/reply',
    {
      schema: {
        tags: ['mailbox'],
        summary: 'Answer a professional (only where allowed: the rules are checked now)',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        body: Type.Object(SendBody),
        response: { 202: Type.Object({ id: Type.String() }), ...sendProblems },
      },
    },
    async (req, reply) => {
      const patientId = await requirePatient(ctx, req);
      const r = await replyToMessage(sendDeps(), { patientId, messageId: req.params.id, text: req.body.text, documentIds: req.body.documentIds });
      ctx.kickOutbox();
      return reply.code(202).send(r);
    },
  );

  app.post(
    '/v1/me/messages',
    {
      schema: {
        tags: ['mailbox'],
        summary: 'Write to a professional who wrote first and did not end the exchange',
        body: Type.Object({ contactId: Type.String({ maxLength: 64 }), subject: Type.String({ maxLength: 200 }), ...SendBody }),
        response: { 202: Type.Object({ id: Type.String() }), ...sendProblems },
      },
    },
    async (req, reply) => {
      const patientId = await requirePatient(ctx, req);
      const r = await writeToContact(sendDeps(), { patientId, ...req.body });
      ctx.kickOutbox();
      return reply.code(202).send(r);
    },
  );
}

export const mailboxRoutes =
  (ctx: ApiContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    listingRoutes(app, ctx);
    messageRoutes(app, ctx);
    sendRoutes(app, ctx);
  };
