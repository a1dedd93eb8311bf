/**
 * Processing of one delivery (one recipient of one accepted message): parse the raw message under limits,
 * put it in the patient's mailbox and file every attachment in the vault.
 *
 * Idempotent by delivery id: a delivery already delivered is skipped; the mailbox message, its documents and
 * the delivery's new status are written in one transaction, and `mailbox_messages.delivery_id` is unique, so a
 * retry after a crash anywhere produces no duplicate (attachment blobs written by a failed attempt are left
 * unreferenced and collected). Malformed or over-limit messages fail permanently (PermanentDeliveryError):
 * retrying would not help; the raw message stays kept.
 */
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { eq, sql, type SQL } from 'drizzle-orm';
import { MailParser, type AddressObject, type AttachmentStream, type MessageText } from 'mailparser';
import type { Limits } from '../config/index.js';
import type { Db } from '../db/index.js';
import { schema } from '../db/index.js';
import type { BlobStore, Keyring, StoredBlob } from '../vault/index.js';
import { sealValue } from '../vault/index.js';
import { DEFAULT_RUBRIC } from '../vault/rubrics.js';

export class PermanentDeliveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentDeliveryError';
  }
}

export interface DeliverDeps {
  db: Db;
  blobs: BlobStore;
  keyring: Keyring;
  limits: Limits;
}

export interface MessageContent {
  subject: string;
  fromName: string;
  fromAddress: string;
  replyTo: string | null;
  text: string;
  html: string | null;
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  date: string | null;
  headers: Record<string, string>;
}

export interface AttachmentMeta {
  filename: string;
  declaredType: string;
}

interface ParsedAttachment {
  stored: StoredBlob;
  filename: string;
  mediaType: string;
}

export type DeliverOutcome = 'delivered' | 'already-delivered' | 'skipped';

export const contentContext = (mailboxMessageId: string) => `mailbox-message:${mailboxMessageId}`;
export const documentContext = (documentId: string) => `document:${documentId}`;

function firstAddress(a: AddressObject | AddressObject[] | undefined): { name: string; address: string } | null {
  const obj = Array.isArray(a) ? a[0] : a;
  const v = obj?.value?.[0];
  return v?.address ? { name: v.name ?? '', address: v.address.toLowerCase() } : null;
}

function safeFilename(name: string | undefined, index: number): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must not reach a file name
  const cleaned = (name ?? '').replace(/[\u0000-\u001f\u007f/\\]/g, '_').trim().slice(0, 255);
  return cleaned || `piece-jointe-${index + 1}`;
}

/** Parses a raw message stream, streaming each attachment into the vault as it goes. */
export async function parseAndStore(raw: Readable, deps: DeliverDeps): Promise<{ content: MessageContent; attachments: ParsedAttachment[] }> {
  const parser = new MailParser({
    skipHtmlToText: false,
    skipTextToHtml: true,
    skipImageLinks: true,
    skipTextLinks: true,
    maxHtmlLengthToParse: deps.limits.maxTextBodyBytes,
  });
  // mailparser has no node-count limit: count MIME nodes as its splitter hands them over (a private hook,
  // confined here) and stop a hostile tree before it costs more work.
  let nodes = 0;
  const hooked = parser as unknown as { processChunk: (data: { type: string }, cb: (err?: Error) => void) => void };
  const processChunk = hooked.processChunk.bind(parser);
  hooked.processChunk = (data, cb) => {
    if (data.type === 'node' && ++nodes > deps.limits.maxMimeParts) {
      return cb(new PermanentDeliveryError(`more than ${deps.limits.maxMimeParts} MIME parts`));
    }
    return processChunk(data, cb);
  };
  const attachments: ParsedAttachment[] = [];
  const pending: Promise<void>[] = [];
  let text: MessageText | null = null;
  let headers: Map<string, unknown> | null = null;
  let failure: Error | null = null;

  parser.on('headers', (h) => {
    headers = h as Map<string, unknown>;
  });
  parser.on('data', (data: AttachmentStream | MessageText) => {
    if (data.type === 'text') {
      text = data;
      return;
    }
    const att = data as unknown as { content: Readable; filename?: string; contentType?: string; release(): void };
    const index = attachments.length + pending.length;
    if (index >= deps.limits.maxAttachmentsPerMessage) {
      failure ??= new PermanentDeliveryError(`more than ${deps.limits.maxAttachmentsPerMessage} attachments`);
      att.content.resume();
      att.content.on('end', () => att.release());
      return;
    }
    pending.push(
      deps.blobs
        .write(att.content as AsyncIterable<Buffer>, 'attachment')
        .then((stored) => {
          attachments[index] = {
            stored,
            filename: safeFilename(att.filename, index),
            mediaType: (att.contentType || 'application/octet-stream').toLowerCase(),
          };
        })
        .catch((err: Error) => {
          failure ??= err;
          att.content.resume();
        })
        .finally(() => att.release()),
    );
  });

  await new Promise<void>((resolve, reject) => {
    parser.once('end', resolve);
    parser.once('error', reject);
    raw.once('error', reject);
    raw.pipe(parser);
  });
  await Promise.all(pending);
  if (failure) throw failure;
  const h = (headers ?? new Map()) as Map<string, unknown>;
  const from = firstAddress(h.get('from') as AddressObject | undefined);
  const replyTo = firstAddress(h.get('reply-to') as AddressObject | undefined);
  const refs = h.get('references');
  const t = text as MessageText | null;
  const date = h.get('date');
  const keep: Record<string, string> = {};
  for (const name of ['x-mss-mes', 'disposition-notification-to', 'x-mss-codecda', 'x-mss-ins', 'x-mss-nil']) {
    const v = h.get(name);
    if (v !== undefined) keep[name] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  const content: MessageContent = {
    subject: String(h.get('subject') ?? ''),
    fromName: from?.name ?? '',
    fromAddress: from?.address ?? '',
    replyTo: replyTo?.address ?? null,
    text: (t?.text ?? '').slice(0, deps.limits.maxTextBodyBytes),
    html: typeof t?.html === 'string' ? t.html.slice(0, deps.limits.maxTextBodyBytes) : null,
    messageId: (h.get('message-id') as string | undefined) ?? null,
    inReplyTo: (h.get('in-reply-to') as string | undefined) ?? null,
    references: Array.isArray(refs) ? (refs as string[]) : typeof refs === 'string' ? refs.split(/\s+/).filter(Boolean) : [],
    date: date instanceof Date ? date.toISOString() : null,
    headers: keep,
  };
  return { content, attachments: attachments.filter(Boolean) };
}

export async function deliverInbound(deps: DeliverDeps, deliveryId: string): Promise<DeliverOutcome> {
  const { db } = deps;
  const [row] = await db
    .select({
      status: schema.deliveries.status,
      patientId: schema.deliveries.patientId,
      messageId: schema.deliveries.messageId,
      rawBlobId: schema.inboundMessages.rawBlobId,
      receivedAt: schema.inboundMessages.receivedAt,
    })
    .from(schema.deliveries)
    .innerJoin(schema.inboundMessages, eq(schema.inboundMessages.id, schema.deliveries.messageId))
    .where(eq(schema.deliveries.id, deliveryId));
  if (!row) return 'skipped'; // a job whose delivery does not exist (another deployment's Redis prefix?)
  if (row.status === 'delivered') return 'already-delivered';
  if (row.status === 'failed') return 'skipped';

  const { content, attachments } = await parseAndStore(deps.blobs.read(row.rawBlobId), deps);

  // One statement (data-modifying CTEs, atomic like a transaction, one round trip): the mailbox message, unless
  // this delivery is already in the mailbox (unique delivery_id); then, only if it was inserted, the attachments'
  // blobs (when small enough to be still unwritten) and documents; and the delivery's status.
  const mailboxMessageId = crypto.randomUUID();
  const parts: SQL[] = [
    sql`mm AS (INSERT INTO mailbox_messages (id, patient_id, delivery_id, inbound_message_id, folder, content, attachment_count, received_at)
              VALUES (${mailboxMessageId}, ${row.patientId}, ${deliveryId}, ${row.messageId}, 'inbox',
                      ${sealValue(deps.keyring, content, contentContext(mailboxMessageId))}, ${attachments.length}, ${row.receivedAt.toISOString()})
              ON CONFLICT (delivery_id) DO NOTHING RETURNING id)`,
  ];
  for (const [position, a] of attachments.entries()) {
    const documentId = crypto.randomUUID();
    const meta: AttachmentMeta = { filename: a.filename, declaredType: a.mediaType };
    const n = (name: string) => sql.raw(`${name}${position}`);
    if (a.stored.inline) {
      const b = a.stored.inline.blob;
      const c = a.stored.inline.chunk;
      parts.push(
        sql`${n('b')} AS (INSERT INTO blobs (id, purpose, wrapped_key, key_id, size, sha256, chunk_count, complete)
                 SELECT ${b.id}::uuid, ${b.purpose}::text, ${b.wrappedKey}::bytea, ${b.keyId}::text, ${b.size}::bigint, ${b.sha256}::text, 1, true FROM mm)`,
        sql`${n('c')} AS (INSERT INTO blob_chunks (blob_id, seq, data) SELECT ${c.blobId}::uuid, 0, ${c.data}::bytea FROM mm)`,
      );
    }
    parts.push(
      sql`${n('d')} AS (INSERT INTO documents (id, patient_id, mailbox_message_id, position, blob_id, rubric, meta, media_type, size, sha256, author_kind, origin_kind)
               SELECT ${documentId}::uuid, ${row.patientId}::uuid, mm.id, ${position}::int, ${a.stored.blobId}::uuid, ${DEFAULT_RUBRIC}::text,
                      ${sealValue(deps.keyring, meta, documentContext(documentId))}::bytea, ${a.mediaType}::text, ${a.stored.size}::bigint,
                      ${a.stored.sha256}::text, 'professional', 'message' FROM mm)`,
    );
  }
  parts.push(sql`u AS (UPDATE deliveries SET status = 'delivered', done_at = now(), last_error = NULL WHERE id = ${deliveryId})`);
  const result = await db.execute<{ inserted: number }>(sql`WITH ${sql.join(parts, sql`, `)} SELECT count(*)::int AS inserted FROM mm`);
  const rows = (Array.isArray(result) ? result : (result as unknown as { rows: { inserted: number }[] }).rows) as { inserted: number }[];
  return Number(rows[0]?.inserted ?? 0) === 1 ? 'delivered' : 'already-delivered';
}

export async function markDeliveryFailed(db: Db, deliveryId: string, reason: string): Promise<void> {
  await db
    .update(schema.deliveries)
    .set({ status: 'failed', doneAt: new Date(), lastError: reason.slice(0, 500) })
    .where(eq(schema.deliveries.id, deliveryId));
}
