/**
 * Reports the gateway sends on a patient's behalf: the read receipt (MDN, RFC 8098) when the patient first opens
 * a message that asked for one (the patient cannot refuse it, CNAM ENS §6), and the delivery report (DSN, RFC
 * 3464) to the sender of a message that got 250 but then failed permanently. Both leave with the null sender
 * through the outbound relay. The MDN is claimed before it is queued, so it goes at most once (a crash between
 * the two loses it rather than doubling it); the DSN is queued once per failed delivery for the same reason.
 *
 * And the notices the gateway puts in the patient's own inbox (texts: rules/notices.ts): a professional's message
 * that could not be shown (`queueUnreadableNotice`, once per delivery), and a patient's message that finally
 * failed (`failOutboundMessage`: the status and the notice in one statement, so the notice exists exactly when
 * the status says failed, and a second call changes nothing).
 */
import crypto from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { cteStatement, schema, type Cte, type Db } from '../db/index.js';
import { type BlobStore, type Keyring, openValue, sealValue } from '../vault/index.js';
import { simpleParser } from 'mailparser';
import { notifyPatientCte } from '../access/index.js';
import { contentContext, type MessageContent } from './deliver-inbound.js';
import { queueOutbound } from './outbound.js';
import { directoryNames } from './directory.js';
import { buildDsn, buildMdn, contactDisplayName, SENTENCES, undeliveredNoticeText, unreadableNoticeText } from './rules/index.js';

export interface ReportDeps {
  db: Db;
  blobs: BlobStore;
  keyring: Keyring;
  patientDomain: string;
  reportingMta: string;
  isMssanteDomain: (domain: string) => boolean;
}

/** The header block of a stored raw message (up to the first blank line, at most 64 KiB). */
export async function readHeaderBlock(blobs: BlobStore, blobId: string): Promise<string> {
  let acc = Buffer.alloc(0);
  for await (const chunk of blobs.read(blobId)) {
    acc = Buffer.concat([acc, chunk as Buffer]);
    const end = acc.indexOf('\r\n\r\n');
    if (end >= 0) return acc.subarray(0, end + 2).toString('latin1');
    if (acc.length > 64 * 1024) break;
  }
  return acc.subarray(0, 64 * 1024).toString('latin1');
}

const domainOf = (a: string) => a.slice(a.lastIndexOf('@') + 1).toLowerCase();

export async function queueMdn(deps: ReportDeps, patientId: string, mailboxMessageId: string): Promise<boolean> {
  const m = schema.mailboxMessages;
  const claimed = await deps.db
    .update(m)
    .set({ mdnQueuedAt: sql`now()` })
    .where(and(eq(m.id, mailboxMessageId), eq(m.patientId, patientId), isNull(m.mdnQueuedAt)))
    .returning({ mdnTo: m.mdnTo, content: m.content, inboundId: m.inboundMessageId });
  const row = claimed[0];
  if (!row?.mdnTo || !row.inboundId || !deps.isMssanteDomain(domainOf(row.mdnTo))) return false;
  const [inbound] = await deps.db.select().from(schema.inboundMessages).where(eq(schema.inboundMessages.id, row.inboundId));
  const [patient] = await deps.db.select({ ins: schema.patients.ins }).from(schema.patients).where(eq(schema.patients.id, patientId));
  if (!inbound || !patient) return false;
  const c = openValue<MessageContent>(deps.keyring, row.content, contentContext(mailboxMessageId));
  if (!c.messageId) return false;
  const me = `${patient.ins}@${deps.patientDomain}`;
  const messageId = `<${crypto.randomUUID()}@${deps.patientDomain}>`;
  const raw = buildMdn({
    from: me,
    to: row.mdnTo,
    originalMessageId: c.messageId,
    originalRecipient: me,
    finalRecipient: me,
    reportingUa: `${deps.reportingMta}; mes-gateway`,
    originalSubject: c.subject,
    originalHeaders: await readHeaderBlock(deps.blobs, inbound.rawBlobId),
    messageId,
    date: new Date(),
  });
  await queueOutbound(deps, { patientId, kind: 'mdn', envelopeFrom: '', rcpt: row.mdnTo, raw: Buffer.from(raw), messageIdHeader: messageId });
  return true;
}

/** DSN to the original sender of a delivery that failed permanently after 250. */
export async function queueDsnForFailedDelivery(deps: ReportDeps, deliveryId: string, reason: string): Promise<boolean> {
  const [row] = await deps.db
    .select({ inbound: schema.inboundMessages, patientId: schema.deliveries.patientId, ins: schema.patients.ins })
    .from(schema.deliveries)
    .innerJoin(schema.inboundMessages, eq(schema.inboundMessages.id, schema.deliveries.messageId))
    .innerJoin(schema.patients, eq(schema.patients.id, schema.deliveries.patientId))
    .where(eq(schema.deliveries.id, deliveryId));
  if (!row || row.inbound.mailFrom === '') return false; // never a report about a report
  const rcpt = `${row.ins}@${deps.patientDomain}`;
  const messageId = `<${crypto.randomUUID()}@${deps.patientDomain}>`;
  const raw = buildDsn({
    reportingMta: deps.reportingMta,
    originalEnvelopeFrom: row.inbound.mailFrom,
    originalRecipient: rcpt,
    finalRecipient: rcpt,
    status: '5.6.0',
    action: 'failed',
    diagnostic: `550 5.6.0 ${reason}`,
    arrivalDate: row.inbound.receivedAt,
    originalHeaders: await readHeaderBlock(deps.blobs, row.inbound.rawBlobId),
    messageId,
    date: new Date(),
    from: `MAILER-DAEMON@${deps.patientDomain}`,
    humanText: SENTENCES.unreadableForSender.text,
  });
  await queueOutbound(deps, {
    patientId: row.patientId,
    kind: 'dsn',
    envelopeFrom: '',
    rcpt: row.inbound.mailFrom,
    raw: Buffer.from(raw),
    messageIdHeader: messageId,
  });
  return true;
}

/**
 * The inbound message of a delivery and its header block, for a notice about it; null when there is none or it
 * is itself a report (null sender: never a report about a report).
 */
async function reportableDelivery(deps: ReportDeps, deliveryId: string) {
  const [row] = await deps.db
    .select({ inbound: schema.inboundMessages, patientId: schema.deliveries.patientId })
    .from(schema.deliveries)
    .innerJoin(schema.inboundMessages, eq(schema.inboundMessages.id, schema.deliveries.messageId))
    .where(eq(schema.deliveries.id, deliveryId));
  if (!row || row.inbound.mailFrom === '') return null;
  return { row, headers: await readHeaderBlock(deps.blobs, row.inbound.rawBlobId) };
}

export const UNREADABLE_NOTICE_SUBJECT = SENTENCES.unreadableSubject.text;

/**
 * A message that got 250 but failed for good afterwards (parse error, limits only the parser finds): besides the
 * DSN to the sender, the patient's inbox gets a short notice naming the professional (display name only: the
 * directory's, else the header's From, as contacts are named) and saying a message could not be shown, with no content. Idempotent: the
 * notice is keyed by the delivery (mailbox_messages.delivery_id is unique). Never for a report (null sender).
 */
export async function queueUnreadableNotice(deps: ReportDeps, deliveryId: string): Promise<boolean> {
  const found = await reportableDelivery(deps, deliveryId);
  if (!found) return false;
  const { row, headers } = found;
  let from: { name?: string; address?: string } | undefined;
  try {
    const parsed = await simpleParser(`${headers}\r\n`, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true });
    from = (Array.isArray(parsed.from) ? parsed.from[0] : parsed.from)?.value?.[0];
  } catch {
    from = undefined;
  }
  const address = (from?.address ?? row.inbound.mailFrom).toLowerCase();
  const directory = await directoryNames(deps.db, [address]);
  const professional = contactDisplayName({ directoryName: directory.get(address) ?? null, headerName: from?.name ?? null, address });
  const noticeId = crypto.randomUUID();
  const notice: MessageContent = {
    subject: UNREADABLE_NOTICE_SUBJECT,
    fromName: professional,
    fromAddress: '',
    replyTo: null,
    text: unreadableNoticeText(professional),
    html: null,
    messageId: null,
    inReplyTo: null,
    references: [],
    date: new Date().toISOString(),
    headers: {},
  };
  const inserted = sql`EXISTS (SELECT 1 FROM n)`;
  await deps.db.execute(
    cteStatement(
      [
        [
          'n',
          sql`INSERT INTO mailbox_messages (id, patient_id, delivery_id, inbound_message_id, folder, kind, content, received_at, no_reply)
                VALUES (${noticeId}::uuid, ${row.patientId}::uuid, ${deliveryId}::uuid, ${row.inbound.id}::uuid, 'inbox', 'notice',
                        ${sealValue(deps.keyring, notice, contentContext(noticeId))}::bytea, now(), true)
                ON CONFLICT (delivery_id) DO NOTHING RETURNING id`,
        ],
        ['ns', notifyPatientCte(row.patientId, inserted)],
      ],
      sql`SELECT 1`,
    ),
  );
  return true;
}

/**
 * Tells the sender that the IHE XDM archive of a delivered message was not filed (another patient, unsafe
 * archive...), as the CI-SIS integration error does: a plain message from the null sender, with the fixed
 * French/English reason (never a value taken from the archive) and a reference to the original.
 */
export async function queueXdmRefusalNotice(deps: ReportDeps, deliveryId: string, error: { senderNotice: string; code: string }): Promise<boolean> {
  const found = await reportableDelivery(deps, deliveryId);
  if (!found) return false;
  const { row, headers } = found;
  const originalId = /^message-id:\s*(<[^>]+>)/im.exec(headers)?.[1];
  const messageId = `<${crypto.randomUUID()}@${deps.patientDomain}>`;
  const raw = await new MailComposer({
    from: `MAILER-DAEMON@${deps.patientDomain}`,
    to: row.inbound.mailFrom,
    subject: `[KO Intégration système !][${error.code}] Documents non intégrés / Documents not filed`,
    text: `${error.senderNotice}\n\nQueue id: ${row.inbound.queueId}\n`,
    messageId,
    inReplyTo: originalId,
    references: originalId ? [originalId] : undefined,
    headers: { 'Auto-Submitted': 'auto-replied' },
  })
    .compile()
    .build();
  await queueOutbound(deps, { patientId: row.patientId, kind: 'dsn', envelopeFrom: '', rcpt: row.inbound.mailFrom, raw, messageIdHeader: messageId });
  return true;
}

/** The outbound message that finally failed (kind 'patient': a patient's own message, with a sent copy). */
export interface FailedOutbound {
  id: string;
  kind: string;
  patientId: string | null;
  messageIdHeader: string;
}

/**
 * A message leaving the gateway failed for good (refused, or its retries ran out): `failed` with the remote's last
 * reply (kept for the operator, never shown), and for a patient's message, in the same statement, a notice in the
 * patient's inbox (in the thread of the message, answering nothing) giving `reason` (a fixed French reason,
 * config/relay.ts `patientFailureReason`) and a pending notification e-mail. Only a message still `queued` moves:
 * a second call, or one after a `sent`, writes nothing.
 */
export async function failOutboundMessage(deps: { db: Db; keyring: Keyring }, row: FailedOutbound, response: string, reason: string): Promise<void> {
  const ctes: Cte[] = [
    [
      'u',
      sql`UPDATE outbound_messages SET status = 'failed', done_at = now(), last_response = ${response.slice(0, 500)} WHERE id = ${row.id} AND status = 'queued' RETURNING id`,
    ],
  ];
  if (row.kind === 'patient' && row.patientId) {
    const [sent] = await deps.db
      .select({
        id: schema.mailboxMessages.id,
        content: schema.mailboxMessages.content,
        contactId: schema.mailboxMessages.contactId,
        threadKey: schema.mailboxMessages.threadKey,
      })
      .from(schema.mailboxMessages)
      .where(eq(schema.mailboxMessages.outboundId, row.id));
    const original = sent ? openValue<MessageContent>(deps.keyring, sent.content, contentContext(sent.id)) : null;
    const noticeId = crypto.randomUUID();
    const notice: MessageContent = {
      subject: SENTENCES.undeliveredSubject.text,
      fromName: SENTENCES.gatewayName.text,
      fromAddress: '',
      replyTo: null,
      text: undeliveredNoticeText(original, reason),
      html: null,
      messageId: null,
      inReplyTo: row.messageIdHeader,
      references: [row.messageIdHeader],
      date: new Date().toISOString(),
      headers: {},
    };
    ctes.push(
      [
        'n',
        sql`INSERT INTO mailbox_messages (id, patient_id, folder, kind, content, contact_id, thread_key, no_reply)
               SELECT ${noticeId}::uuid, ${row.patientId}::uuid, 'inbox', 'notice', ${sealValue(deps.keyring, notice, contentContext(noticeId))}::bytea,
                      ${sent?.contactId ?? null}::uuid, ${sent?.threadKey ?? null}::text, true FROM u`,
      ],
      ['ns', notifyPatientCte(row.patientId, sql`EXISTS (SELECT 1 FROM u)`)],
    );
  }
  await deps.db.execute(cteStatement(ctes, sql`SELECT 1`));
}
