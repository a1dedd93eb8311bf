/**
 * Reading a patient's mailbox. Every query is scoped by patient id: a message or attachment of another
 * patient is reported as not found, never as forbidden (no existence oracle). Professionals' raw addresses are
 * not returned; only a display name. Listing is newest first with an opaque cursor (received time + id), so
 * pages stay stable while new mail arrives.
 */
import type { Readable } from 'node:stream';
import { and, desc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../db/index.js';
import { schema } from '../db/index.js';
import type { BlobStore, Keyring } from '../vault/index.js';
import { openValue } from '../vault/index.js';
import { contentContext, documentContext, type AttachmentMeta, type MessageContent } from './deliver-inbound.js';

export interface AttachmentSummary {
  id: string;
  filename: string;
  size: number;
  mediaType: string;
}

export interface MessageSummary {
  id: string;
  subject: string;
  receivedAt: string;
  read: boolean;
  from: { displayName: string };
  attachments: AttachmentSummary[];
}

export interface MessageDetail extends MessageSummary {
  text: string;
}

export const UNKNOWN_PROFESSIONAL = 'Professionnel de santé';

function displayName(c: MessageContent): string {
  return c.fromName.trim() || UNKNOWN_PROFESSIONAL;
}

interface Cursor {
  t: string;
  i: string;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

export class InvalidCursorError extends Error {
  constructor() {
    super('invalid cursor');
    this.name = 'InvalidCursorError';
  }
}

function decodeCursor(s: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Cursor;
    if (typeof c.t !== 'string' || typeof c.i !== 'string' || Number.isNaN(Date.parse(c.t)) || !/^[0-9a-f-]{36}$/.test(c.i)) {
      throw new InvalidCursorError();
    }
    return c;
  } catch {
    throw new InvalidCursorError();
  }
}

async function attachmentsOf(db: Db, keyring: Keyring, messageIds: string[]): Promise<Map<string, AttachmentSummary[]>> {
  const out = new Map<string, AttachmentSummary[]>();
  if (messageIds.length === 0) return out;
  const rows = await db
    .select({
      id: schema.documents.id,
      messageId: schema.documents.mailboxMessageId,
      meta: schema.documents.meta,
      size: schema.documents.size,
      mediaType: schema.documents.mediaType,
      position: schema.documents.position,
    })
    .from(schema.documents)
    .where(inArray(schema.documents.mailboxMessageId, messageIds))
    .orderBy(schema.documents.position);
  for (const r of rows) {
    const meta = openValue<AttachmentMeta>(keyring, r.meta, documentContext(r.id));
    const list = out.get(r.messageId!) ?? [];
    list.push({ id: r.id, filename: meta.filename, size: r.size, mediaType: r.mediaType });
    out.set(r.messageId!, list);
  }
  return out;
}

export async function listMessages(
  db: Db,
  keyring: Keyring,
  patientId: string,
  opts: { cursor?: string; limit: number },
): Promise<{ items: MessageSummary[]; next: string | null }> {
  const m = schema.mailboxMessages;
  const conds = [eq(m.patientId, patientId), isNull(m.deletedAt)];
  if (opts.cursor) {
    const c = decodeCursor(opts.cursor);
    const t = new Date(c.t);
    conds.push(or(lt(m.receivedAt, t), and(eq(m.receivedAt, t), lt(m.id, c.i)))!);
  }
  const rows = await db
    .select({ id: m.id, content: m.content, receivedAt: m.receivedAt, readAt: m.readAt })
    .from(m)
    .where(and(...conds))
    .orderBy(desc(m.receivedAt), desc(m.id))
    .limit(opts.limit + 1);
  const page = rows.slice(0, opts.limit);
  const atts = await attachmentsOf(db, keyring, page.map((r) => r.id));
  const items = page.map((r) => {
    const c = openValue<MessageContent>(keyring, r.content, contentContext(r.id));
    return {
      id: r.id,
      subject: c.subject,
      receivedAt: r.receivedAt.toISOString(),
      read: r.readAt !== null,
      from: { displayName: displayName(c) },
      attachments: atts.get(r.id) ?? [],
    };
  });
  const last = page[page.length - 1];
  return { items, next: rows.length > opts.limit && last ? encodeCursor({ t: last.receivedAt.toISOString(), i: last.id }) : null };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function readMessage(db: Db, keyring: Keyring, patientId: string, id: string): Promise<MessageDetail | null> {
  if (!UUID.test(id)) return null;
  const m = schema.mailboxMessages;
  const [r] = await db
    .select({ id: m.id, content: m.content, receivedAt: m.receivedAt, readAt: m.readAt })
    .from(m)
    .where(and(eq(m.id, id), eq(m.patientId, patientId), isNull(m.deletedAt)));
  if (!r) return null;
  if (!r.readAt) await db.update(m).set({ readAt: sql`now()` }).where(eq(m.id, id));
  const c = openValue<MessageContent>(keyring, r.content, contentContext(r.id));
  const atts = await attachmentsOf(db, keyring, [r.id]);
  return {
    id: r.id,
    subject: c.subject,
    receivedAt: r.receivedAt.toISOString(),
    read: true,
    from: { displayName: displayName(c) },
    attachments: atts.get(r.id) ?? [],
    text: c.text,
  };
}

export async function openAttachment(
  db: Db,
  keyring: Keyring,
  blobs: BlobStore,
  patientId: string,
  messageId: string,
  attachmentId: string,
): Promise<{ filename: string; mediaType: string; size: number; stream: Readable } | null> {
  if (!UUID.test(messageId) || !UUID.test(attachmentId)) return null;
  const d = schema.documents;
  const [r] = await db
    .select({ id: d.id, blobId: d.blobId, meta: d.meta, size: d.size, mediaType: d.mediaType })
    .from(d)
    .innerJoin(schema.mailboxMessages, eq(schema.mailboxMessages.id, d.mailboxMessageId))
    .where(
      and(
        eq(d.id, attachmentId),
        eq(d.mailboxMessageId, messageId),
        eq(d.patientId, patientId),
        isNull(schema.mailboxMessages.deletedAt),
      ),
    );
  if (!r) return null;
  const meta = openValue<AttachmentMeta>(keyring, r.meta, documentContext(r.id));
  return { filename: meta.filename, mediaType: r.mediaType, size: r.size, stream: blobs.read(r.blobId) };
}

/** Delivery counts by status, for operators and the benchmark (no content). */
export async function deliveryStats(db: Db): Promise<Record<string, number>> {
  const rows = await db
    .select({ status: schema.deliveries.status, n: sql<number>`count(*)::int` })
    .from(schema.deliveries)
    .groupBy(schema.deliveries.status);
  const out: Record<string, number> = { queued: 0, delivered: 0, failed: 0 };
  for (const r of rows) out[r.status] = Number(r.n);
  return out;
}
