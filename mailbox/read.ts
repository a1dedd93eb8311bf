/**
 * Reading a patient's mailbox. Every query is scoped by patient id: a message or attachment of another
 * patient is reported as not found, never as forbidden (no existence oracle). Professionals' raw addresses are
 * not returned; only a display name.
 *
 * Every listing is one page of at most `limit` items with `next`, the opaque cursor of the following page (null
 * on the last one; db/keyset.ts), read by a keyset range on an ordered key with the row id as tie-breaker,
 * never OFFSET: a folder newest first and a thread oldest first by received time (fixed at filing, so pages stay
 * stable while new mail arrives), the contacts by their latest message, newest first. A contact who writes again
 * while the patient pages moves to the top: it is never listed twice in one pass (its key only grows), and shows
 * at the top of the next first page. A malformed cursor, or one of another list, raises InvalidCursorError.
 *
 * One message (`readMessage`) also carries its HTML body exactly as received (`html`, null when there was none;
 * never rendered by the server: the webmail sanitizes it and shows it in a sandboxed frame) and, per attachment,
 * its `contentId` (MIME Content-ID without brackets, for `cid:` images; null when absent or on rows filed
 * before it was kept) and `contentType` (as declared by the sender; `mediaType` is the sniffed one). Listings
 * carry neither.
 */
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { and, asc, desc, eq, inArray, isNull, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { type Db, schema, afterPosition, decodeCursor, encodeCursor, keysetAt, type CursorList, type KeysetPosition } from '../db/index.js';
import { type BlobStore, type Keyring, openValue } from '../vault/index.js';
import { contentContext, documentContext, type AttachmentMeta, type MessageContent } from './deliver-inbound.js';
import { directoryNames } from './directory.js';
import { answerability, contactDisplayName, SENTENCES } from './rules/index.js';

export interface AttachmentSummary {
  id: string;
  filename: string;
  size: number;
  mediaType: string;
}

export interface MessageSummary {
  id: string;
  folder: 'inbox' | 'sent';
  subject: string;
  receivedAt: string;
  read: boolean;
  from: { displayName: string };
  /** For the sent folder: the professional written to. */
  to: { displayName: string } | null;
  threadId: string | null;
  canReply: boolean;
  closedNotice: string | null;
  /** For the sent folder: queued | sent | failed (and the latest delivery report, when any). */
  status: string | null;
  attachments: AttachmentSummary[];
}

export interface AttachmentDetail extends AttachmentSummary {
  contentId: string | null;
  contentType: string | null;
}

export interface MessageDetail extends Omit<MessageSummary, 'attachments'> {
  text: string;
  html: string | null;
  attachments: AttachmentDetail[];
}

interface Row {
  id: string;
  folder: string;
  kind: string;
  content: Buffer;
  receivedAt: Date;
  readAt: Date | null;
  noReply: boolean;
  closedAt: Date | null;
  threadKey: string | null;
  contactId: string | null;
  contactAddress: string | null;
  contactMeta: Buffer | null;
  contactEndedAt: Date | null;
  contactPatientId: string | null;
  outboundStatus: string | null;
  outboundResponse: string | null;
}

const rowColumns = {
  id: schema.mailboxMessages.id,
  folder: schema.mailboxMessages.folder,
  kind: schema.mailboxMessages.kind,
  content: schema.mailboxMessages.content,
  receivedAt: schema.mailboxMessages.receivedAt,
  readAt: schema.mailboxMessages.readAt,
  noReply: schema.mailboxMessages.noReply,
  closedAt: schema.mailboxMessages.closedAt,
  threadKey: schema.mailboxMessages.threadKey,
  contactId: schema.mailboxMessages.contactId,
  contactAddress: schema.contacts.address,
  contactMeta: schema.contacts.meta,
  contactEndedAt: schema.contacts.endedAt,
  contactPatientId: schema.contacts.patientId,
  outboundStatus: schema.outboundMessages.status,
  outboundResponse: schema.outboundMessages.lastResponse,
};

/** The professional's name as the patient sees it: directory, else the header name; never the address. */
interface Opened {
  name: string;
  content: MessageContent;
}

/** Each row's decrypted content (opened once) and the name the patient sees for its professional. */
async function openRows(db: Db, keyring: Keyring, rows: Row[]): Promise<Map<string, Opened>> {
  const contents = new Map(rows.map((r) => [r.id, openValue<MessageContent>(keyring, r.content, contentContext(r.id))]));
  const dir = await directoryNames(
    db,
    rows.flatMap((r) => [r.contactAddress ?? '', r.folder === 'inbox' ? (contents.get(r.id)?.fromAddress ?? '') : '']),
  );
  const out = new Map<string, Opened>();
  for (const r of rows) {
    const c = contents.get(r.id)!;
    let headerName: string | null = r.folder === 'inbox' ? c.fromName : null;
    if (!headerName && r.contactMeta && r.contactAddress && r.contactPatientId) {
      headerName = openValue<{ headerName: string }>(keyring, r.contactMeta, `contact:${r.contactPatientId}:${r.contactAddress}`).headerName;
    }
    const name =
      r.kind === 'notice'
        ? SENTENCES.gatewayName.text
        : contactDisplayName({
            // The author of an inbox message first (its From), then the contact (its Reply-To, a secretariat...).
            directoryName: (r.folder === 'inbox' ? dir.get(c.fromAddress) : undefined) ?? (r.contactAddress ? dir.get(r.contactAddress) : null),
            headerName,
            address: r.contactAddress ?? c.fromAddress,
          });
    out.set(r.id, { name, content: c });
  }
  return out;
}

function summarize<A extends AttachmentSummary>(
  r: Row,
  opened: Opened,
  attachments: A[],
): Omit<MessageSummary, 'attachments'> & { attachments: A[]; text: string; html: string | null } {
  const { name, content: c } = opened;
  const inbox = r.folder !== 'sent';
  const a =
    inbox && r.kind === 'message'
      ? answerability({
          noReplyHeader: r.noReply,
          closedAt: r.closedAt,
          contactEnded: r.contactEndedAt !== null,
          contactDisplayName: name,
          hasContact: r.contactId !== null,
        })
      : { canReply: false, closedNotice: r.kind === 'notice' ? SENTENCES.messageForbidsReply.text : null };
  return {
    id: r.id,
    folder: inbox ? 'inbox' : 'sent',
    subject: c.subject,
    receivedAt: r.receivedAt.toISOString(),
    read: r.readAt !== null,
    from: { displayName: inbox ? name : 'Moi' },
    to: inbox ? null : { displayName: name },
    threadId: r.threadKey ? threadIdOf(r.threadKey) : null,
    canReply: a.canReply,
    closedNotice: a.closedNotice,
    status: inbox ? null : (r.outboundStatus ?? 'queued'),
    attachments,
    text: c.text,
    html: typeof c.html === 'string' ? c.html : null,
  };
}

/** A listing entry: no body, and attachments without the detail-only fields. */
function summaryOf(r: Row, opened: Opened, attachments: AttachmentDetail[]): MessageSummary {
  const {
    text: _text,
    html: _html,
    ...summary
  } = summarize(
    r,
    opened,
    attachments.map(({ contentId: _cid, contentType: _type, ...a }) => a),
  );
  return summary;
}

/** A listing's cursor is malformed, or one of another listing; `list` says which listing refused it. */
export class InvalidCursorError extends Error {
  constructor(readonly list: CursorList) {
    super(`invalid ${list} cursor`);
    this.name = 'InvalidCursorError';
  }
}

/** One page of a listing and the cursor of the next (null on the last page). */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/** The position a client's cursor stands for; absent: the first page. */
function positionOf(list: CursorList, cursor: string | undefined): KeysetPosition | null {
  if (cursor === undefined || cursor === '') return null;
  const pos = decodeCursor(list, cursor);
  if (!pos) throw new InvalidCursorError(list);
  return pos;
}

/** Splits `limit + 1` rows read into the page and the cursor after its last row. */
function pageOf<R extends { id: string; keysetAt: string }>(list: CursorList, rows: R[], limit: number): { page: R[]; next: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { page, next: rows.length > limit && last ? encodeCursor(list, { at: last.keysetAt, id: last.id }) : null };
}

async function attachmentsOf(db: Db, keyring: Keyring, messageIds: string[]): Promise<Map<string, AttachmentDetail[]>> {
  const out = new Map<string, AttachmentDetail[]>();
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
    list.push({
      id: r.id,
      filename: meta.filename,
      size: r.size,
      mediaType: r.mediaType,
      contentId: typeof meta.contentId === 'string' && meta.contentId ? meta.contentId : null,
      contentType: typeof meta.declaredType === 'string' && meta.declaredType ? meta.declaredType : null,
    });
    out.set(r.messageId!, list);
  }
  return out;
}

/** Summaries of listed rows (their attachments and names read in one query each). */
async function summariesOf(db: Db, keyring: Keyring, rows: Row[]): Promise<MessageSummary[]> {
  const atts = await attachmentsOf(
    db,
    keyring,
    rows.map((r) => r.id),
  );
  const opened = await openRows(db, keyring, rows);
  return rows.map((r) => summaryOf(r, opened.get(r.id)!, atts.get(r.id) ?? []));
}

/** One page of a folder, newest first. */
export async function listMessages(
  db: Db,
  keyring: Keyring,
  patientId: string,
  opts: { cursor?: string; limit: number; folder?: 'inbox' | 'sent' },
): Promise<Page<MessageSummary>> {
  const m = schema.mailboxMessages;
  const pos = positionOf('messages', opts.cursor);
  const conds = [eq(m.patientId, patientId), isNull(m.deletedAt), eq(m.folder, opts.folder ?? 'inbox')];
  if (pos) conds.push(afterPosition(m.receivedAt, m.id, pos, 'desc'));
  const rows: (Row & { keysetAt: string })[] = await db
    .select({ ...rowColumns, keysetAt: keysetAt(m.receivedAt) })
    .from(m)
    .leftJoin(schema.contacts, eq(schema.contacts.id, m.contactId))
    .leftJoin(schema.outboundMessages, eq(schema.outboundMessages.id, m.outboundId))
    .where(and(...conds))
    .orderBy(desc(m.receivedAt), desc(m.id))
    .limit(opts.limit + 1);
  const { page, next } = pageOf('messages', rows, opts.limit);
  return { items: await summariesOf(db, keyring, page), next };
}

/**
 * The public id of a thread: the first 22 characters of the base64url SHA-256 of its key (the key is a Message-ID,
 * which the patient's client never needs to see). `threadIdSql` computes the same in PostgreSQL, so a thread is
 * found by one indexed query on the patient's messages, not by reading them (tested to agree).
 */
export function threadIdOf(threadKey: string): string {
  return crypto.createHash('sha256').update(threadKey).digest('base64url').slice(0, 22);
}

/** threadIdOf, in SQL, over a text expression (mailbox_messages.thread_key). */
export const threadIdSql = (key: SQL | AnyColumn) => sql`substr(translate(encode(sha256(convert_to(${key}, 'UTF8')), 'base64'), '+/', '-_'), 1, 22)`;

/**
 * One page of the messages of one thread (both folders), oldest first. A thread id that cannot be one is an
 * empty thread (like another patient's), but a malformed cursor is still refused.
 */
export async function listThread(
  db: Db,
  keyring: Keyring,
  patientId: string,
  threadId: string,
  opts: { cursor?: string; limit: number },
): Promise<Page<MessageSummary>> {
  const pos = positionOf('thread', opts.cursor);
  if (!/^[A-Za-z0-9_-]{22}$/.test(threadId)) return { items: [], next: null };
  const m = schema.mailboxMessages;
  const conds = [eq(m.patientId, patientId), isNull(m.deletedAt), sql`${m.threadKey} IS NOT NULL AND ${threadIdSql(m.threadKey)} = ${threadId}`];
  if (pos) conds.push(afterPosition(m.receivedAt, m.id, pos, 'asc'));
  const rows: (Row & { keysetAt: string })[] = await db
    .select({ ...rowColumns, keysetAt: keysetAt(m.receivedAt) })
    .from(m)
    .leftJoin(schema.contacts, eq(schema.contacts.id, m.contactId))
    .leftJoin(schema.outboundMessages, eq(schema.outboundMessages.id, m.outboundId))
    .where(and(...conds))
    .orderBy(asc(m.receivedAt), asc(m.id))
    .limit(opts.limit + 1);
  const { page, next } = pageOf('thread', rows, opts.limit);
  return { items: await summariesOf(db, keyring, page), next };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * One message. The first time the patient opens a message whose sender asked for a read receipt, `onFirstOpen`
 * is called (the MDN is queued: the patient cannot refuse it).
 */
export async function readMessage(
  db: Db,
  keyring: Keyring,
  patientId: string,
  id: string,
  onFirstOpen?: (messageId: string) => Promise<void>,
): Promise<MessageDetail | null> {
  if (!UUID.test(id)) return null;
  const m = schema.mailboxMessages;
  const [r] = (await db
    .select({ ...rowColumns, mdnTo: m.mdnTo, mdnQueuedAt: m.mdnQueuedAt })
    .from(m)
    .leftJoin(schema.contacts, eq(schema.contacts.id, m.contactId))
    .leftJoin(schema.outboundMessages, eq(schema.outboundMessages.id, m.outboundId))
    .where(and(eq(m.id, id), eq(m.patientId, patientId), isNull(m.deletedAt)))) as (Row & { mdnTo: string | null; mdnQueuedAt: Date | null })[];
  if (!r) return null;
  if (!r.readAt)
    await db
      .update(m)
      .set({ readAt: sql`now()` })
      .where(and(eq(m.id, id), isNull(m.readAt)));
  if (r.mdnTo && !r.mdnQueuedAt && onFirstOpen) await onFirstOpen(r.id);
  const opened = await openRows(db, keyring, [r]);
  const atts = await attachmentsOf(db, keyring, [r.id]);
  return { ...summarize(r, opened.get(r.id)!, atts.get(r.id) ?? []), read: true };
}

/** Marks read or unread; false when the message is not the patient's. */
export async function setRead(db: Db, patientId: string, id: string, read: boolean): Promise<boolean> {
  if (!UUID.test(id)) return false;
  const m = schema.mailboxMessages;
  const res = await db
    .update(m)
    .set({ readAt: read ? sql`coalesce(${m.readAt}, now())` : null })
    .where(and(eq(m.id, id), eq(m.patientId, patientId), isNull(m.deletedAt)))
    .returning({ id: m.id });
  return res.length === 1;
}

/** Soft delete by the patient: the message leaves the folders; documents filed from it stay in the vault. */
export async function deleteMessage(db: Db, patientId: string, id: string): Promise<boolean> {
  if (!UUID.test(id)) return false;
  const m = schema.mailboxMessages;
  const res = await db
    .update(m)
    .set({ deletedAt: sql`now()` })
    .where(and(eq(m.id, id), eq(m.patientId, patientId), isNull(m.deletedAt)))
    .returning({ id: m.id });
  return res.length === 1;
}

/** One page of the professionals the patient may write to now (not ended), the one who wrote last first. */
export async function listContacts(
  db: Db,
  keyring: Keyring,
  patientId: string,
  opts: { cursor?: string; limit: number },
): Promise<Page<{ id: string; displayName: string }>> {
  const c = schema.contacts;
  const pos = positionOf('contacts', opts.cursor);
  const conds = [eq(c.patientId, patientId), isNull(c.endedAt)];
  if (pos) conds.push(afterPosition(c.lastMessageAt, c.id, pos, 'desc'));
  const rows = await db
    .select({ id: c.id, address: c.address, meta: c.meta, keysetAt: keysetAt(c.lastMessageAt) })
    .from(c)
    .where(and(...conds))
    .orderBy(desc(c.lastMessageAt), desc(c.id))
    .limit(opts.limit + 1);
  const { page, next } = pageOf('contacts', rows, opts.limit);
  const dir = await directoryNames(
    db,
    page.map((r) => r.address),
  );
  const items = page.map((r) => ({
    id: r.id,
    displayName: contactDisplayName({
      directoryName: dir.get(r.address) ?? null,
      headerName: openValue<{ headerName: string }>(keyring, r.meta, `contact:${patientId}:${r.address}`).headerName,
      address: r.address,
    }),
  }));
  return { items, next };
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
    .where(and(eq(d.id, attachmentId), eq(d.mailboxMessageId, messageId), eq(d.patientId, patientId), isNull(schema.mailboxMessages.deletedAt)));
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
