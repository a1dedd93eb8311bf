/**
 * Processing of one delivery (one recipient of one accepted message): parse the raw message under limits,
 * file every attachment's bytes in the vault, and say how to put it in the patient's mailbox (`prepareDelivery`:
 * the CTEs that deliver-batch.ts commits, with those of other deliveries, in one statement). Within a batch a
 * message is parsed, scanned and inflated once for all its recipients (`MessageParses`, attachment-plan.ts);
 * only what depends on the recipient (XDM patient identifiers, the mailbox rows) is done per delivery.
 *
 * Idempotent by delivery id: a delivery already delivered is skipped; the mailbox message, its documents and
 * the delivery's new status are written by one statement, and `mailbox_messages.delivery_id` is unique, so a
 * retry after a crash anywhere produces no duplicate (attachment blobs written by a failed attempt are left
 * unreferenced and collected). Malformed or over-limit messages fail permanently (PermanentDeliveryError):
 * retrying would not help; the raw message stays kept.
 */
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { activityInsert, notifyPatientCte } from '../access/index.js';
import {
  contactAddressFor,
  dsnOutcome,
  endOfExchangeAddresses,
  forbidsReply,
  type MessageParties,
  isEndOfExchange,
  normalizeMessageId,
  parseDeliveryStatus,
  parseMessageIdList,
  receiptAddressFor,
  threadKeyFor,
} from './rules/index.js';
import { MailParser, type AddressObject, type AttachmentStream, type MessageText } from 'mailparser';
import type { Limits } from '../config/index.js';
import { type Cte, type Db, schema } from '../db/index.js';
import {
  type BlobHeader,
  type BlobStore,
  type Keyring,
  inlineBlobCtes,
  sealValue,
  documentContext,
  type DocumentMeta,
  takeAttachment,
  type VirusScanner,
  type XdmError,
} from '../vault/index.js';
import { attachmentsFor, planAttachments, type AttachmentPlan, type FileToFile, type ParsedAttachment, type Removed } from './attachment-plan.js';

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
  /** Whether a mail domain is an authorised MSSanté domain (the whitelist). */
  isMssanteDomain: (domain: string) => boolean;
  scanner: VirusScanner;
  /** Tells the sender that an XDM archive was not filed (patient mismatch, bomb...). */
  onXdmRefused?: (deliveryId: string, error: XdmError) => Promise<void>;
}

/** Report parts kept in memory (small, capped) instead of being filed as documents. */
export interface ReportParts {
  deliveryStatus?: string;
  dispositionNotification?: string;
  rfc822Headers?: string;
}

const REPORT_TYPES: Record<string, keyof ReportParts> = {
  'message/delivery-status': 'deliveryStatus',
  'message/global-delivery-status': 'deliveryStatus',
  'message/disposition-notification': 'dispositionNotification',
  'text/rfc822-headers': 'rfc822Headers',
};
const MAX_REPORT_PART = 64 * 1024;
/** RFC 5322 §2.1.1: a header line is at most 998 characters; a longer kept value is cut. */
const MAX_KEPT_HEADER = 998;

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
  /** The MIME Content-ID without angle brackets (`cid:` references in the HTML body); absent on older rows. */
  contentId?: string | null;
}

/** A Content-ID as `cid:` URLs name it: no angle brackets, printable ASCII, bounded; null otherwise. */
function cleanContentId(cid: string | undefined): string | null {
  const v = (cid ?? '').trim().replace(/^<|>$/g, '').trim();
  return v && v.length <= 256 && /^[\x21-\x7e]+$/.test(v) ? v : null;
}

export type DeliverOutcome = 'delivered' | 'already-delivered' | 'skipped' | 'exchange-ended' | 'report';

export const contentContext = (mailboxMessageId: string) => `mailbox-message:${mailboxMessageId}`;
export { documentContext };
export { ScannerUnavailableError } from './attachment-plan.js';

function firstAddress(a: AddressObject | AddressObject[] | undefined): { name: string; address: string } | null {
  const obj = Array.isArray(a) ? a[0] : a;
  const v = obj?.value?.[0];
  return v?.address ? { name: v.name ?? '', address: v.address.toLowerCase() } : null;
}

function safeFilename(name: string | undefined, index: number): string {
  const cleaned = (name ?? '')
    // eslint-disable-next-line no-control-regex -- control characters are exactly what must not reach a file name
    .replace(/[\u0000-\u001f\u007f/\\]/g, '_')
    .trim()
    .slice(0, 255);
  return cleaned || `piece-jointe-${index + 1}`;
}

/** Parses a raw message stream, streaming each attachment into the vault as it goes. */
export async function parseAndStore(
  raw: Readable,
  deps: Pick<DeliverDeps, 'blobs' | 'limits' | 'scanner'>,
): Promise<{ content: MessageContent; attachments: ParsedAttachment[]; reports: ReportParts; receiptRequests: string[] }> {
  const parser = new MailParser({
    skipHtmlToText: false,
    skipTextToHtml: true,
    skipImageLinks: true,
    skipTextLinks: true,
    maxHtmlLengthToParse: deps.limits.maxTextBodyBytes,
    keepDeliveryStatus: true,
  });
  const reports: ReportParts = {};
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
    const att = data as unknown as { content: Readable; filename?: string; contentType?: string; cid?: string; release(): void };
    const reportKey = REPORT_TYPES[(att.contentType ?? '').toLowerCase()];
    if (reportKey) {
      const parts: Buffer[] = [];
      let size = 0;
      att.content.on('data', (d: Buffer) => {
        size += d.length;
        if (size <= MAX_REPORT_PART) parts.push(d);
      });
      att.content.on('end', () => {
        reports[reportKey] = Buffer.concat(parts).toString('utf8');
        att.release();
      });
      return;
    }
    const index = attachments.length + pending.length;
    if (index >= deps.limits.maxAttachmentsPerMessage) {
      failure ??= new PermanentDeliveryError(`more than ${deps.limits.maxAttachmentsPerMessage} attachments`);
      att.content.resume();
      att.content.on('end', () => att.release());
      return;
    }
    const filename = safeFilename(att.filename, index);
    const declared = (att.contentType || 'application/octet-stream').toLowerCase();
    const contentId = cleanContentId(att.cid);
    pending.push(
      takeAttachment(att.content, { declaredType: declared, filename, maxZipBytes: deps.limits.maxMessageBytes }, deps)
        .then((intake) => {
          attachments[index] = { stored: intake.stored, filename, mediaType: declared, contentId, intake };
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
    // Kept for display only, bounded: no rule reads these texts with a regular expression.
    if (v !== undefined) keep[name] = (typeof v === 'string' ? v : ((v as { text?: string }).text ?? JSON.stringify(v))).slice(0, MAX_KEPT_HEADER);
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
  const receiptRequests = allAddresses(h.get('disposition-notification-to') as AddressObject | undefined);
  return { content, attachments: attachments.filter(Boolean), reports, receiptRequests };
}

/** Every address of an address header as mailparser parsed it (groups flattened), lower-cased, at most `max`. */
function allAddresses(a: AddressObject | AddressObject[] | undefined, max = 20): string[] {
  const out: string[] = [];
  const walk = (list: { address?: string; group?: unknown[] }[] | undefined) => {
    for (const v of list ?? []) {
      if (out.length >= max) return;
      if (v.group) walk(v.group as { address?: string }[]);
      else if (v.address) out.push(v.address.toLowerCase());
    }
  };
  for (const obj of Array.isArray(a) ? a : a ? [a] : []) walk(obj.value);
  return out;
}

/** A delivery as read for processing (one query for a whole batch: see deliver-batch.ts). */
export interface DeliveryRow {
  id: string;
  status: string;
  patientId: string;
  messageId: string;
  receivedAt: Date;
  mailFrom: string;
  ins: string;
  raw: BlobHeader;
  firstChunk: Buffer | null;
}

/**
 * What committing one delivery takes: CTEs (every name starting with `prefix`, so that several deliveries share
 * one statement), the CTE whose row count says whether this call wrote it (0: a retry found it done), the
 * outcome either way, and what to do once it is committed.
 */
export interface DeliveryWrite {
  deliveryId: string;
  patientId: string;
  /** Its CTEs, every name prefixed by the write's own prefix (db/cte.ts refuses a clash between writes). */
  ctes: Cte[];
  countCte: string;
  written: DeliverOutcome;
  notWritten: DeliverOutcome;
  afterCommit?: () => Promise<void>;
}

/** A message parsed once for all its recipients in a batch, with its attachments' per-message verdicts. */
export interface ParsedMessage {
  content: MessageContent;
  reports: ReportParts;
  receiptRequests: string[];
  plan: AttachmentPlan;
}

/**
 * The parses of one batch, by message: the first delivery of a message parses it (and streams, scans and sniffs
 * its attachments, reads its archives); the other recipients of that message in the batch reuse it. A failed
 * parse fails every delivery of that message alike (the same bytes would fail the same way).
 */
export class MessageParses {
  private readonly parses = new Map<string, Promise<ParsedMessage>>();

  /** `recipients`: how many queued deliveries of each message the batch holds. */
  constructor(
    private readonly deps: DeliverDeps,
    private readonly recipients: ReadonlyMap<string, number> = new Map(),
  ) {}

  get(row: DeliveryRow): Promise<ParsedMessage> {
    let p = this.parses.get(row.messageId);
    if (!p) {
      p = this.parse(row);
      this.parses.set(row.messageId, p);
    }
    return p;
  }

  private async parse(row: DeliveryRow): Promise<ParsedMessage> {
    const { content, attachments, reports, receiptRequests } = await parseAndStore(this.deps.blobs.openStream(row.raw, row.firstChunk), this.deps);
    const plan = await planAttachments(this.deps, attachments, (this.recipients.get(row.messageId) ?? 1) > 1);
    return { content, reports, receiptRequests, plan };
  }
}

/** Parses a queued delivery's raw message (once per message in a batch), files its attachments' bytes, and says how to commit it. */
export async function prepareDelivery(deps: DeliverDeps, row: DeliveryRow, prefix: string, parses = new MessageParses(deps)): Promise<DeliveryWrite> {
  const parsed = await parses.get(row);
  const { reports, receiptRequests } = parsed;
  // Each recipient's copy: the removal notice and the recomputed X-MSS-CODECDA are this recipient's.
  const content: MessageContent = { ...parsed.content, headers: { ...parsed.content.headers } };
  if (row.mailFrom === '' || reports.deliveryStatus || reports.dispositionNotification) return reportWrite(row, reports, prefix);

  const { files, removed, xdmRefused, codeCda } = await attachmentsFor(deps, parsed.plan, row.ins);
  if (removed.length) content.text += removalNotice(removed);
  // X-MSS-CODECDA is recomputed from the XDM archives actually filed, never taken from the sender.
  delete content.headers['x-mss-codecda'];
  if (codeCda) content.headers['x-mss-codecda'] = codeCda;

  const contactAddress = contactAddressFor({ from: content.fromAddress || null, replyTo: content.replyTo }, deps.isMssanteDomain);
  const actor = contactAddress ?? content.fromAddress ?? row.mailFrom;
  if (isEndOfExchange(content.subject)) return endOfExchangeWrite(deps, row, { from: content.fromAddress || null, contact: contactAddress }, actor, prefix);
  const write = await messageWrite(deps, row, content, files, contactAddress, actor, prefix, receiptAddressFor(receiptRequests, row.mailFrom));
  if (xdmRefused) write.afterCommit = () => deps.onXdmRefused?.(row.id, xdmRefused) ?? Promise.resolve();
  return write;
}

/**
 * [FIN]: not delivered. Every earlier message whose From or contact is one of the [FIN]'s addresses (its From and
 * its contact: `closedByEndOfExchange`, mailbox/rules/exchange.ts, applied here as one set-based UPDATE) is closed,
 * and the contacts of those messages are ended, whichever address the patient would have answered.
 */
function endOfExchangeWrite(deps: DeliverDeps, row: DeliveryRow, fin: MessageParties, actor: string, p: string): DeliveryWrite {
  const n = (name: string) => sql.raw(`${p}${name}`);
  const addresses = sql`${sql.param(endOfExchangeAddresses(fin))}::text[]`;
  const ctes: Cte[] = [
    [`${p}u`, sql`UPDATE deliveries SET status = 'ended', done_at = now() WHERE id = ${row.id} AND status = 'queued' RETURNING id`],
    [
      `${p}c`,
      sql`UPDATE contacts SET ended_at = now() WHERE patient_id = ${row.patientId}
              AND (address = ANY(${addresses})
                   OR id IN (SELECT contact_id FROM mailbox_messages WHERE patient_id = ${row.patientId} AND author_address = ANY(${addresses}) AND contact_id IS NOT NULL))
              AND EXISTS (SELECT 1 FROM ${n('u')}) RETURNING id`,
    ],
    [
      `${p}m`,
      sql`UPDATE mailbox_messages SET closed_at = now() WHERE patient_id = ${row.patientId} AND closed_at IS NULL
              AND (author_address = ANY(${addresses})
                   OR contact_id IN (SELECT id FROM contacts WHERE patient_id = ${row.patientId} AND address = ANY(${addresses})))
              AND EXISTS (SELECT 1 FROM ${n('u')})`,
    ],
    [`${p}a`, activityInsert(deps.keyring, { patientId: row.patientId, kind: 'exchange-ended', actor }, new Date(), sql`EXISTS (SELECT 1 FROM ${n('u')})`)],
  ];
  return { deliveryId: row.id, patientId: row.patientId, ctes, countCte: `${p}u`, written: 'exchange-ended', notWritten: 'already-delivered' };
}

/**
 * A professional's message: the contact (added or reopened), the mailbox message unless this delivery is already
 * in the mailbox (unique delivery_id); then, only if it was inserted, the attachments' blobs (when small enough
 * to be still unwritten) and documents, the pending notification, the activity event; and the delivery's status.
 */
async function messageWrite(
  deps: DeliverDeps,
  row: DeliveryRow,
  content: MessageContent,
  files: FileToFile[],
  contactAddress: string | null,
  actor: string,
  p: string,
  receiptTo: string | null,
): Promise<DeliveryWrite> {
  const n = (name: string) => sql.raw(`${p}${name}`);
  const messageIdHeader = normalizeMessageId(content.messageId);
  const threadKey = await threadOf(deps.db, row.patientId, content, messageIdHeader);
  const mailboxMessageId = crypto.randomUUID();
  const ctes: Cte[] = [];
  if (contactAddress) {
    const meta = sealValue(
      deps.keyring,
      { headerName: content.replyTo === contactAddress ? '' : content.fromName },
      `contact:${row.patientId}:${contactAddress}`,
    );
    ctes.push(
      // A contact written to less than a minute ago is left as it is, not even locked: a batch for one patient
      // neither rewrites its row per message nor waits on it.
      [
        `${p}c`,
        sql`INSERT INTO contacts (patient_id, address, meta, last_message_at)
                SELECT ${row.patientId}::uuid, ${contactAddress}::text, ${meta}::bytea, now()
                 WHERE NOT EXISTS (SELECT 1 FROM contacts WHERE patient_id = ${row.patientId}::uuid AND address = ${contactAddress}::text
                                     AND ended_at IS NULL AND last_message_at >= now() - interval '1 minute')
                ON CONFLICT (patient_id, address) DO UPDATE SET ended_at = NULL, last_message_at = now(), meta = excluded.meta
                  WHERE contacts.ended_at IS NOT NULL OR contacts.last_message_at < now() - interval '1 minute'
                RETURNING id`,
      ],
      [
        `${p}ci`,
        sql`SELECT coalesce((SELECT id FROM ${n('c')}), (SELECT id FROM contacts WHERE patient_id = ${row.patientId} AND address = ${contactAddress})) AS id`,
      ],
    );
  }
  ctes.push([
    `${p}mm`,
    sql`INSERT INTO mailbox_messages (id, patient_id, delivery_id, inbound_message_id, folder, content, attachment_count, received_at,
                                            contact_id, message_id_header, thread_key, no_reply, mdn_to, author_address)
            VALUES (${mailboxMessageId}, ${row.patientId}, ${row.id}, ${row.messageId}, 'inbox',
                    ${sealValue(deps.keyring, content, contentContext(mailboxMessageId))}, ${files.length}, ${row.receivedAt.toISOString()},
                    ${contactAddress ? sql`(SELECT id FROM ${n('ci')})` : sql`NULL`}, ${messageIdHeader}, ${threadKey},
                    ${forbidsReply(content.headers)}, ${receiptTo}, ${content.fromAddress || null})
            ON CONFLICT (delivery_id) DO NOTHING RETURNING id`,
  ]);
  for (const [position, f] of files.entries()) ctes.push(...documentCtes(deps, row, content, f, position, p));
  const inserted = sql`EXISTS (SELECT 1 FROM ${n('mm')})`;
  const kind = forbidsReply(content.headers) ? 'reply-forbidden-by-sender' : 'message-received';
  ctes.push(
    [`${p}ns`, notifyPatientCte(row.patientId, inserted)],
    [`${p}ae`, activityInsert(deps.keyring, { patientId: row.patientId, kind, actor, detail: { attachments: files.length } }, new Date(), inserted)],
    [`${p}u`, sql`UPDATE deliveries SET status = 'delivered', done_at = now(), last_error = NULL WHERE id = ${row.id}`],
  );
  return { deliveryId: row.id, patientId: row.patientId, ctes, countCte: `${p}mm`, written: 'delivered', notWritten: 'already-delivered' };
}

/** The document (and, when still unwritten, its blob) of one filed attachment, inserted only with its message. */
function documentCtes(deps: DeliverDeps, row: DeliveryRow, content: MessageContent, f: FileToFile, position: number, p: string): Cte[] {
  const documentId = crypto.randomUUID();
  const meta: DocumentMeta = {
    filename: f.filename,
    title: f.title,
    declaredType: f.declaredType,
    typeCode: f.typeCode,
    classCode: f.classCode,
    authorName: content.fromName || null,
    cda: f.cda,
    ...(f.contentId ? { contentId: f.contentId } : {}),
  };
  const mm = sql.raw(`${p}mm`);
  return [
    ...(f.stored.inline ? inlineBlobCtes(f.stored.inline, `${p}a${position}`, `${p}mm`) : []),
    [
      `${p}d${position}`,
      sql`INSERT INTO documents (id, patient_id, mailbox_message_id, position, blob_id, rubric, meta, media_type, size, sha256, author_kind, origin_kind)
             SELECT ${documentId}::uuid, ${row.patientId}::uuid, ${mm}.id, ${position}::int, ${f.stored.blobId}::uuid, ${f.rubric}::text,
                    ${sealValue(deps.keyring, meta, documentContext(documentId))}::bytea, ${f.mediaType}::text, ${f.stored.size}::bigint,
                    ${f.stored.sha256}::text, 'professional', 'message' FROM ${mm}`,
    ],
  ];
}

/** The thread a message joins: that of a message it answers or references, if the patient has it; else its own. */
async function threadOf(db: Db, patientId: string, content: MessageContent, messageIdHeader: string | null): Promise<string> {
  const referenced = [...parseMessageIdList(content.inReplyTo), ...content.references.flatMap((x) => parseMessageIdList(x))].slice(0, 100);
  const known = new Map<string, string>();
  if (referenced.length) {
    const rows = await db
      .select({ id: schema.mailboxMessages.messageIdHeader, thread: schema.mailboxMessages.threadKey })
      .from(schema.mailboxMessages)
      .where(and(eq(schema.mailboxMessages.patientId, patientId), inArray(schema.mailboxMessages.messageIdHeader, referenced)));
    for (const r of rows) if (r.id && r.thread) known.set(r.id, r.thread);
  }
  return threadKeyFor(
    { messageId: messageIdHeader, inReplyTo: content.inReplyTo, references: content.references },
    (id) => known.get(id) ?? null,
    messageIdHeader ?? `<${crypto.randomUUID()}@mailbox>`,
  );
}

const REMOVAL_TEXT: Record<Removed['reason'], string> = {
  virus: 'elle contenait un virus et a été mise en quarantaine',
  refused: "ce type de fichier n'est pas accepté",
  xdm: "les documents qu'elle contient ne concernent pas votre profil ; l'expéditeur en est informé",
};

function removalNotice(removed: Removed[]): string {
  return `\n\n— Mon espace santé —\n${removed.map((r) => `La pièce jointe « ${r.filename} » a été retirée : ${REMOVAL_TEXT[r.reason]}.`).join('\n')}\n`;
}

/**
 * A delivery report addressed to a patient (null sender, or multipart/report): matched by the original's
 * Message-ID to the patient's outbound message, whose status it updates; never shown as a message. An
 * unmatched report is dropped (status 'report'), as reports must not create conversations.
 */
function reportWrite(row: DeliveryRow, reports: ReportParts, p: string): DeliveryWrite {
  const originalId =
    normalizeMessageId(/^message-id:\s*(.+)$/im.exec(reports.rfc822Headers ?? '')?.[1]?.trim() ?? null) ??
    normalizeMessageId(/^original-message-id:\s*(.+)$/im.exec(reports.dispositionNotification ?? '')?.[1]?.trim() ?? null);
  let status: string | null = null;
  if (reports.deliveryStatus) {
    const outcome = dsnOutcome(parseDeliveryStatus(reports.deliveryStatus).recipients);
    status = outcome === 'failed' ? 'failed' : outcome === 'delayed' ? 'delayed' : outcome === 'delivered' ? 'sent' : null;
  } else if (reports.dispositionNotification) {
    status = 'displayed';
  }
  const u = sql.raw(`${p}u`);
  const ctes: Cte[] = [[`${p}u`, sql`UPDATE deliveries SET status = 'report', done_at = now() WHERE id = ${row.id} AND status = 'queued' RETURNING id`]];
  if (originalId && status) {
    ctes.push([
      `${p}o`,
      sql`UPDATE outbound_messages SET last_response = ${`report: ${status}`},
                          status = CASE WHEN ${status} = 'failed' THEN 'failed' ELSE status END
                        WHERE message_id_header = ${originalId} AND patient_id = ${row.patientId} AND EXISTS (SELECT 1 FROM ${u})`,
    ]);
  }
  return { deliveryId: row.id, patientId: row.patientId, ctes, countCte: `${p}u`, written: 'report', notWritten: 'report' };
}

/** Marks failed those of `ids` still queued; returns them (each failed exactly once, whoever calls). */
export async function markQueuedDeliveriesFailed(db: Db, ids: string[], reason: string): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .update(schema.deliveries)
    .set({ status: 'failed', doneAt: new Date(), lastError: reason.slice(0, 500) })
    .where(and(inArray(schema.deliveries.id, ids), eq(schema.deliveries.status, 'queued')))
    .returning({ id: schema.deliveries.id });
  return rows.map((r) => r.id);
}
