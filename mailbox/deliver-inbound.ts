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
import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { activityInsert, notifyPatientCte } from '../access/activity.js';
import { contactAddressFor, dsnOutcome, forbidsReply, isEndOfExchange, normalizeMessageId, parseDeliveryStatus, parseMessageIdList, threadKeyFor } from './rules/index.js';
import { MailParser, type AddressObject, type AttachmentStream, type MessageText } from 'mailparser';
import type { Limits } from '../config/index.js';
import type { Db } from '../db/index.js';
import { executePrepared, schema } from '../db/index.js';
import type { BlobStore, Keyring, StoredBlob } from '../vault/index.js';
import { inlineBlobCtes, sealValue } from '../vault/index.js';
import { documentContext, type DocumentMeta } from '../vault/documents.js';
import { DEFAULT_RUBRIC, type RubricId } from '../vault/rubrics.js';
import { storeBuffer, takeAttachment, type IntakeResult } from '../vault/intake.js';
import type { VirusScanner } from '../vault/scan/clamd.js';
import { classifyXdm, type XdmError } from '../vault/xdm/index.js';
import { sniffMediaType } from '../vault/sniff.js';

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

interface ParsedAttachment {
  stored: StoredBlob;
  filename: string;
  /** Declared by the sender (not trusted). */
  mediaType: string;
  contentId: string | null;
  intake: IntakeResult;
}

/** A Content-ID as `cid:` URLs name it: no angle brackets, printable ASCII, bounded; null otherwise. */
function cleanContentId(cid: string | undefined): string | null {
  const v = (cid ?? '').trim().replace(/^<|>$/g, '').trim();
  return v && v.length <= 256 && /^[\x21-\x7e]+$/.test(v) ? v : null;
}

export type DeliverOutcome = 'delivered' | 'already-delivered' | 'skipped' | 'exchange-ended' | 'report';

export const contentContext = (mailboxMessageId: string) => `mailbox-message:${mailboxMessageId}`;
export { documentContext };

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
export async function parseAndStore(
  raw: Readable,
  deps: Pick<DeliverDeps, 'blobs' | 'limits' | 'scanner'>,
): Promise<{ content: MessageContent; attachments: ParsedAttachment[]; reports: ReportParts }> {
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
    if (v !== undefined) keep[name] = typeof v === 'string' ? v : ((v as { text?: string }).text ?? JSON.stringify(v));
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
  return { content, attachments: attachments.filter(Boolean), reports };
}

/** The first e-mail address in a header value (e.g. Disposition-Notification-To), lower-cased. */
export function firstEmail(value: string | undefined): string | null {
  const m = /[^\s<>"',;:()]+@[a-z0-9.-]+\.[a-z]{2,}/i.exec(value ?? '');
  return m ? m[0].toLowerCase() : null;
}


function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

export async function deliverInbound(deps: DeliverDeps, deliveryId: string): Promise<DeliverOutcome> {
  const { db } = deps;
  // One round trip: the delivery, its message, its patient, the raw blob's header and first chunk.
  const [r] = await deps.blobs.query<{
    status: string;
    patient_id: string;
    message_id: string;
    received_at: Date;
    mail_from: string;
    ins: string;
    blob_id: string;
    wrapped_key: Buffer;
    key_id: string;
    chunk_count: number;
    complete: boolean;
    first_chunk: Buffer | null;
  }>(
    `SELECT d.status, d.patient_id::text, d.message_id::text, m.received_at, m.mail_from, p.ins,
            b.id AS blob_id, b.wrapped_key, b.key_id, b.chunk_count, b.complete, c.data AS first_chunk
       FROM deliveries d
       JOIN inbound_messages m ON m.id = d.message_id
       JOIN patients p ON p.id = d.patient_id
       JOIN blobs b ON b.id = m.raw_blob_id
       LEFT JOIN blob_chunks c ON c.blob_id = b.id AND c.seq = 0 AND d.status = 'queued'
      WHERE d.id = $1`,
    [deliveryId],
  );
  if (!r) return 'skipped'; // a job whose delivery does not exist (another deployment's queue?)
  if (r.status !== 'queued') return r.status === 'failed' ? 'skipped' : 'already-delivered';
  const row = { patientId: r.patient_id, messageId: r.message_id, receivedAt: r.received_at, mailFrom: r.mail_from, ins: r.ins };
  const raw = deps.blobs.openStream({ blobId: r.blob_id, wrappedKey: r.wrapped_key, keyId: r.key_id, chunkCount: r.chunk_count, complete: r.complete }, r.first_chunk);
  const { content, attachments, reports } = await parseAndStore(raw, deps);

  if (row.mailFrom === '' || reports.deliveryStatus || reports.dispositionNotification) {
    return applyReport(deps, deliveryId, row.patientId, reports);
  }

  const { files, removed, xdmRefused, codeCda } = await vetAttachments(deps, attachments, row.ins);
  if (removed.length) content.text += removalNotice(removed);
  // X-MSS-CODECDA is recomputed from the XDM archives actually filed, never taken from the sender.
  delete content.headers['x-mss-codecda'];
  if (codeCda) content.headers['x-mss-codecda'] = codeCda;

  const contactAddress = contactAddressFor({ from: content.fromAddress || null, replyTo: content.replyTo }, deps.isMssanteDomain);
  const actor = contactAddress ?? content.fromAddress ?? row.mailFrom;

  if (isEndOfExchange(content.subject)) {
    // [FIN]: not delivered; every earlier message from this professional is closed, the contact ended.
    const parts: SQL[] = [
      sql`u AS (UPDATE deliveries SET status = 'ended', done_at = now() WHERE id = ${deliveryId} AND status = 'queued' RETURNING id)`,
      sql`c AS (UPDATE contacts SET ended_at = now() WHERE patient_id = ${row.patientId} AND address = ${contactAddress ?? ''}
                AND EXISTS (SELECT 1 FROM u) RETURNING id)`,
      sql`m AS (UPDATE mailbox_messages SET closed_at = now() WHERE contact_id IN (SELECT id FROM c) AND closed_at IS NULL)`,
      sql`a AS (${activityInsert(deps.keyring, { patientId: row.patientId, kind: 'exchange-ended', actor }, new Date(), sql`EXISTS (SELECT 1 FROM u)`)})`,
    ];
    const res = rowsOf<{ n: number }>(await db.execute(sql`WITH ${sql.join(parts, sql`, `)} SELECT count(*)::int AS n FROM u`));
    return Number(res[0]?.n ?? 0) === 1 ? 'exchange-ended' : 'already-delivered';
  }

  const messageIdHeader = normalizeMessageId(content.messageId);
  const referenced = [...parseMessageIdList(content.inReplyTo), ...content.references.flatMap((x) => parseMessageIdList(x))].slice(0, 100);
  const known = new Map<string, string>();
  if (referenced.length) {
    const rows = await db
      .select({ id: schema.mailboxMessages.messageIdHeader, thread: schema.mailboxMessages.threadKey })
      .from(schema.mailboxMessages)
      .where(and(eq(schema.mailboxMessages.patientId, row.patientId), inArray(schema.mailboxMessages.messageIdHeader, referenced)));
    for (const r of rows) if (r.id && r.thread) known.set(r.id, r.thread);
  }
  const mailboxMessageId = crypto.randomUUID();
  const threadKey = threadKeyFor(
    { messageId: messageIdHeader, inReplyTo: content.inReplyTo, references: content.references },
    (id) => known.get(id) ?? null,
    messageIdHeader ?? `<${mailboxMessageId}@mailbox>`,
  );
  const noReply = forbidsReply(content.headers);
  const mdnTo = firstEmail(content.headers['disposition-notification-to']);

  // One statement (data-modifying CTEs, atomic like a transaction, one round trip): the contact (added or
  // reopened), the mailbox message unless this delivery is already in the mailbox (unique delivery_id); then,
  // only if it was inserted, the attachments' blobs (when small enough to be still unwritten) and documents, the
  // pending notification, the activity event; and the delivery's status.
  const parts: SQL[] = [];
  if (contactAddress) {
    const meta = sealValue(deps.keyring, { headerName: content.replyTo === contactAddress ? '' : content.fromName }, `contact:${row.patientId}:${contactAddress}`);
    parts.push(sql`c AS (INSERT INTO contacts (patient_id, address, meta, last_message_at) VALUES (${row.patientId}, ${contactAddress}, ${meta}, now())
                         ON CONFLICT (patient_id, address) DO UPDATE SET ended_at = NULL, last_message_at = now(), meta = excluded.meta
                           -- a contact written to less than a minute ago is left as it is (a batch rewrites no row per message)
                           WHERE contacts.ended_at IS NOT NULL OR contacts.last_message_at < now() - interval '1 minute'
                         RETURNING id)`,
      sql`ci AS (SELECT coalesce((SELECT id FROM c), (SELECT id FROM contacts WHERE patient_id = ${row.patientId} AND address = ${contactAddress})) AS id)`);
  }
  parts.push(
    sql`mm AS (INSERT INTO mailbox_messages (id, patient_id, delivery_id, inbound_message_id, folder, content, attachment_count, received_at,
                                              contact_id, message_id_header, thread_key, no_reply, mdn_to)
              VALUES (${mailboxMessageId}, ${row.patientId}, ${deliveryId}, ${row.messageId}, 'inbox',
                      ${sealValue(deps.keyring, content, contentContext(mailboxMessageId))}, ${files.length}, ${row.receivedAt.toISOString()},
                      ${contactAddress ? sql`(SELECT id FROM ci)` : sql`NULL`}, ${messageIdHeader}, ${threadKey}, ${noReply}, ${mdnTo})
              ON CONFLICT (delivery_id) DO NOTHING RETURNING id)`,
  );
  for (const [position, f] of files.entries()) {
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
    const n = (name: string) => sql.raw(`${name}${position}`);
    if (f.stored.inline) parts.push(...inlineBlobCtes(f.stored.inline, `a${position}`, 'mm'));
    parts.push(
      sql`${n('d')} AS (INSERT INTO documents (id, patient_id, mailbox_message_id, position, blob_id, rubric, meta, media_type, size, sha256, author_kind, origin_kind)
               SELECT ${documentId}::uuid, ${row.patientId}::uuid, mm.id, ${position}::int, ${f.stored.blobId}::uuid, ${f.rubric}::text,
                      ${sealValue(deps.keyring, meta, documentContext(documentId))}::bytea, ${f.mediaType}::text, ${f.stored.size}::bigint,
                      ${f.stored.sha256}::text, 'professional', 'message' FROM mm)`,
    );
  }
  parts.push(
    sql`ns AS (${notifyPatientCte(row.patientId, sql`EXISTS (SELECT 1 FROM mm)`)})`,
    sql`ae AS (${activityInsert(
      deps.keyring,
      { patientId: row.patientId, kind: noReply ? 'reply-forbidden-by-sender' : 'message-received', actor, detail: { attachments: files.length } },
      new Date(),
      sql`EXISTS (SELECT 1 FROM mm)`,
    )})`,
    sql`u AS (UPDATE deliveries SET status = 'delivered', done_at = now(), last_error = NULL WHERE id = ${deliveryId})`,
  );
  const result = await executePrepared<{ inserted: number }>(db, sql`WITH ${sql.join(parts, sql`, `)} SELECT count(*)::int AS inserted FROM mm`);
  const delivered = Number(result[0]?.inserted ?? 0) === 1;
  if (delivered && xdmRefused) await deps.onXdmRefused?.(deliveryId, xdmRefused);
  return delivered ? 'delivered' : 'already-delivered';
}

interface FileToFile {
  stored: StoredBlob;
  filename: string;
  title: string;
  mediaType: string;
  declaredType: string;
  rubric: RubricId;
  typeCode: string | null;
  classCode: string | null;
  cda: Record<string, unknown> | null;
  /** Only for a part filed as it came (an inline image the HTML body refers to by `cid:`). */
  contentId?: string | null;
}

interface Removed {
  filename: string;
  reason: 'virus' | 'refused' | 'xdm';
}

/** A temporary failure (the scanner is down): the delivery is retried, nothing is filed unscanned. */
export class ScannerUnavailableError extends Error {}

/**
 * What of the attachments is filed: infected ones are quarantined (kept only inside the encrypted raw message),
 * refused types (executables, unknown binaries) are not filed, IHE XDM archives are opened and their documents
 * filed under the rubric their metadata gives, unless the archive names another patient (then nothing of it is
 * filed and the sender is told). With scanning on and the scanner failing, the whole delivery waits.
 */
async function vetAttachments(deps: DeliverDeps, attachments: ParsedAttachment[], ins: string) {
  const files: FileToFile[] = [];
  const removed: Removed[] = [];
  let xdmRefused: XdmError | null = null;
  const codes: string[] = [];
  for (const a of attachments) {
    const { scan, sniff, zip } = a.intake;
    if (scan.verdict === 'error') throw new ScannerUnavailableError(`virus scanner unavailable: ${scan.reason}`);
    if (scan.verdict === 'infected') {
      removed.push({ filename: a.filename, reason: 'virus' });
      continue;
    }
    if (sniff.verdict === 'refused') {
      removed.push({ filename: a.filename, reason: 'refused' });
      continue;
    }
    if (zip) {
      const r = await classifyXdm(zip, ins);
      if (r.ok) {
        if (r.codeCda) codes.push(r.codeCda);
        for (const d of r.documents) {
          const inner = await sniffMediaType(d.content.subarray(0, 16 * 1024), d.mimeType, d.path);
          if (inner.verdict === 'refused') {
            removed.push({ filename: d.path.split('/').pop() ?? d.path, reason: 'refused' });
            continue;
          }
          files.push({
            stored: await storeBuffer(deps.blobs, d.content),
            filename: d.path.split('/').pop() ?? d.path,
            title: d.title,
            mediaType: inner.mediaType,
            declaredType: d.mimeType ?? 'application/octet-stream',
            rubric: d.rubric,
            typeCode: d.typeCode?.code ?? null,
            classCode: d.classCode?.code ?? null,
            cda: d.cda ? { ...d.cda } : null,
          });
        }
        continue;
      }
      if (r.error.code !== 'no-metadata' && r.error.code !== 'not-zip') {
        xdmRefused = r.error;
        removed.push({ filename: a.filename, reason: 'xdm' });
        continue;
      }
      // a plain ZIP, not an XDM archive: filed as it is
    }
    files.push({
      stored: a.stored,
      filename: a.filename,
      title: a.filename,
      mediaType: sniff.mediaType,
      declaredType: a.mediaType,
      rubric: DEFAULT_RUBRIC,
      typeCode: null,
      classCode: null,
      cda: null,
      contentId: a.contentId,
    });
  }
  return { files, removed, xdmRefused, codeCda: codes.length ? codes.join(',') : null };
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
async function applyReport(deps: DeliverDeps, deliveryId: string, patientId: string, reports: ReportParts): Promise<DeliverOutcome> {
  const originalId = normalizeMessageId(/^message-id:\s*(.+)$/im.exec(reports.rfc822Headers ?? '')?.[1]?.trim() ?? null)
    ?? normalizeMessageId(/^original-message-id:\s*(.+)$/im.exec(reports.dispositionNotification ?? '')?.[1]?.trim() ?? null);
  let status: string | null = null;
  if (reports.deliveryStatus) {
    const outcome = dsnOutcome(parseDeliveryStatus(reports.deliveryStatus).recipients);
    status = outcome === 'failed' ? 'failed' : outcome === 'delayed' ? 'delayed' : outcome === 'delivered' ? 'sent' : null;
  } else if (reports.dispositionNotification) {
    status = 'displayed';
  }
  const parts: SQL[] = [sql`u AS (UPDATE deliveries SET status = 'report', done_at = now() WHERE id = ${deliveryId} AND status = 'queued' RETURNING id)`];
  if (originalId && status) {
    parts.push(sql`o AS (UPDATE outbound_messages SET last_response = ${`report: ${status}`},
                          status = CASE WHEN ${status} = 'failed' THEN 'failed' ELSE status END
                        WHERE message_id_header = ${originalId} AND patient_id = ${patientId} AND EXISTS (SELECT 1 FROM u))`);
  }
  await deps.db.execute(sql`WITH ${sql.join(parts, sql`, `)} SELECT 1`);
  return 'report';
}

export async function markDeliveryFailed(db: Db, deliveryId: string, reason: string): Promise<void> {
  await db
    .update(schema.deliveries)
    .set({ status: 'failed', doneAt: new Date(), lastError: reason.slice(0, 500) })
    .where(eq(schema.deliveries.id, deliveryId));
}
