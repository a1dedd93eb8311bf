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
import { eq } from 'drizzle-orm';
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

  return db.transaction(async (tx) => {
    const [current] = await tx
      .select({ status: schema.deliveries.status })
      .from(schema.deliveries)
      .where(eq(schema.deliveries.id, deliveryId))
      .for('update');
    if (current?.status === 'delivered') return 'already-delivered' as const;
    const mailboxMessageId = crypto.randomUUID();
    const inserted = await tx.insert(schema.mailboxMessages).values({
      id: mailboxMessageId,
      patientId: row.patientId,
      deliveryId,
      inboundMessageId: row.messageId,
      folder: 'inbox',
      content: sealValue(deps.keyring, content, contentContext(mailboxMessageId)),
      attachmentCount: attachments.length,
      receivedAt: row.receivedAt,
    })
      .onConflictDoNothing({ target: schema.mailboxMessages.deliveryId })
      .returning({ id: schema.mailboxMessages.id });
    if (inserted.length === 0) {
      // Already in the mailbox (whatever the status says): never a second copy.
      await tx.update(schema.deliveries).set({ status: 'delivered', doneAt: new Date() }).where(eq(schema.deliveries.id, deliveryId));
      return 'already-delivered' as const;
    }
    for (const [position, a] of attachments.entries()) {
      await a.stored.persist(tx);
      const documentId = crypto.randomUUID();
      const meta: AttachmentMeta = { filename: a.filename, declaredType: a.mediaType };
      await tx.insert(schema.documents).values({
        id: documentId,
        patientId: row.patientId,
        mailboxMessageId,
        position,
        blobId: a.stored.blobId,
        rubric: DEFAULT_RUBRIC,
        meta: sealValue(deps.keyring, meta, documentContext(documentId)),
        mediaType: a.mediaType,
        size: a.stored.size,
        sha256: a.stored.sha256,
        authorKind: 'professional',
        originKind: 'message',
      });
    }
    await tx
      .update(schema.deliveries)
      .set({ status: 'delivered', doneAt: new Date(), lastError: null })
      .where(eq(schema.deliveries.id, deliveryId));
    return 'delivered' as const;
  });
}

export async function markDeliveryFailed(db: Db, deliveryId: string, reason: string): Promise<void> {
  await db
    .update(schema.deliveries)
    .set({ status: 'failed', doneAt: new Date(), lastError: reason.slice(0, 500) })
    .where(eq(schema.deliveries.id, deliveryId));
}
