/**
 * A patient writes: a reply to a professional's message, or a new message to a contact. The mailbox rules are
 * checked here, at send time, whatever the UI showed: only to a contact (a professional who wrote first and did
 * not end the exchange), never to a patient or a non-MSSanté address, not on a message closed by [FIN] or marked
 * X-MSS-MES: FIN, attachments only from the patient's own documents and 5 MB in total at most (`documentIds`:
 * UUIDs of documents the patient can see and has not deleted, rules/attachments.ts). A refusal is a
 * SendRefusedError carrying its reason and the French text to show (rules/sentences.ts); nothing is queued then.
 * The API maps the reason to its problem code (api/problems.ts).
 */
import crypto from 'node:crypto';
import { and, eq, inArray, isNull } from 'drizzle-orm';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { type Db, schema } from '../db/index.js';
import { type BlobStore, type Keyring, openValue } from '../vault/index.js';
import { contentContext, documentContext, type AttachmentMeta, type MessageContent } from './deliver-inbound.js';
import { queueOutbound } from './outbound.js';
import {
  answerability,
  attachableDocuments,
  canPatientWriteTo,
  documentIdsToLookUp,
  referencesFor,
  replySubject,
  SENTENCES,
  type AttachmentRefusal,
} from './rules/index.js';

/** SPEC §4 / the official app: at most 5 MB of documents per patient message. */
export const MAX_PATIENT_ATTACHMENT_BYTES = 5_000_000;
export const ATTACHMENTS_TOO_LARGE = SENTENCES.attachmentsTooLarge.text;

/**
 * Why a send is refused: a mailbox rule (the message cannot be answered, the address may not be written to),
 * a document it names, its size, or what it answers or comes from no longer being there.
 */
export type SendRefusal =
  | 'not-answerable'
  | 'not-writable'
  | 'document-invalid-id'
  | 'document-not-found'
  | 'document-deleted'
  | 'too-large'
  | 'message-not-found'
  | 'profile-not-found';

const DOCUMENT_REFUSALS: Readonly<Record<AttachmentRefusal, SendRefusal>> = {
  'invalid-id': 'document-invalid-id',
  'not-found': 'document-not-found',
  deleted: 'document-deleted',
};

export class SendRefusedError extends Error {
  constructor(
    readonly reason: SendRefusal,
    /** The French text to show the patient. */
    message: string,
  ) {
    super(message);
    this.name = 'SendRefusedError';
  }
}

export interface SendDeps {
  db: Db;
  blobs: BlobStore;
  keyring: Keyring;
  patientDomain: string;
  isMssanteDomain: (domain: string) => boolean;
}

interface ContactRow {
  id: string;
  address: string;
  endedAt: Date | null;
}

async function patientAddress(db: Db, patientId: string, domain: string): Promise<string> {
  const [p] = await db.select({ ins: schema.patients.ins }).from(schema.patients).where(eq(schema.patients.id, patientId));
  if (!p) throw new SendRefusedError('profile-not-found', SENTENCES.profileNotFound.text);
  return `${p.ins}@${domain}`;
}

async function loadAttachments(deps: SendDeps, patientId: string, documentIds: string[]) {
  if (documentIds.length === 0) return [];
  const d = schema.documents;
  const lookUp = documentIdsToLookUp(documentIds);
  const found = lookUp.length
    ? await deps.db
        .select({
          id: d.id,
          blobId: d.blobId,
          size: d.size,
          meta: d.meta,
          mediaType: d.mediaType,
          deletedAt: d.deletedAt,
          hiddenFromPatient: d.hiddenFromPatient,
        })
        .from(d)
        .where(and(eq(d.patientId, patientId), inArray(d.id, lookUp)))
    : [];
  const verdict = attachableDocuments(documentIds, found);
  if (!verdict.ok) throw new SendRefusedError(DOCUMENT_REFUSALS[verdict.refusal], verdict.message);
  const rows = found.filter((r) => verdict.ids.includes(r.id));
  const total = rows.reduce((n, r) => n + r.size, 0);
  if (total > MAX_PATIENT_ATTACHMENT_BYTES) throw new SendRefusedError('too-large', ATTACHMENTS_TOO_LARGE);
  return Promise.all(
    rows.map(async (r) => ({
      filename: openValue<AttachmentMeta>(deps.keyring, r.meta, documentContext(r.id)).filename,
      contentType: r.mediaType,
      content: await deps.blobs.readAll(r.blobId),
    })),
  );
}

async function compose(input: {
  from: string;
  to: string;
  subject: string;
  text: string;
  messageId: string;
  inReplyTo: string | null;
  references: string[];
  attachments: { filename: string; contentType: string; content: Buffer }[];
}): Promise<Buffer> {
  const mail = new MailComposer({
    from: input.from,
    to: input.to,
    subject: input.subject,
    text: input.text,
    messageId: input.messageId,
    inReplyTo: input.inReplyTo ?? undefined,
    references: input.references.length ? input.references : undefined,
    attachments: input.attachments,
    textEncoding: 'quoted-printable',
    headers: { 'Auto-Submitted': 'no' },
  });
  return mail.compile().build();
}

async function send(
  deps: SendDeps,
  patientId: string,
  contact: ContactRow,
  msg: { subject: string; text: string; inReplyTo: string | null; references: string[]; threadKey: string | null; documentIds: string[] },
): Promise<{ id: string }> {
  const verdict = canPatientWriteTo(contact.address, { patientDomain: deps.patientDomain, isMssanteDomain: deps.isMssanteDomain, contact });
  if (!verdict.ok) throw new SendRefusedError('not-writable', verdict.message);
  const attachments = await loadAttachments(deps, patientId, msg.documentIds);
  const from = await patientAddress(deps.db, patientId, deps.patientDomain);
  const messageId = `<${crypto.randomUUID()}@${deps.patientDomain}>`;
  const raw = await compose({
    from,
    to: contact.address,
    subject: msg.subject,
    text: msg.text,
    messageId,
    inReplyTo: msg.inReplyTo,
    references: msg.references,
    attachments,
  });
  const content: MessageContent = {
    subject: msg.subject,
    fromName: '',
    fromAddress: from,
    replyTo: null,
    text: msg.text,
    html: null,
    messageId,
    inReplyTo: msg.inReplyTo,
    references: msg.references,
    date: new Date().toISOString(),
    headers: {},
  };
  const r = await queueOutbound(deps, {
    patientId,
    kind: 'patient',
    envelopeFrom: from,
    rcpt: contact.address,
    raw,
    messageIdHeader: messageId,
    sentCopy: { content, contactId: contact.id, threadKey: msg.threadKey ?? messageId, attachmentCount: attachments.length },
  });
  return { id: r.mailboxMessageId ?? r.id };
}

export async function replyToMessage(
  deps: SendDeps,
  input: { patientId: string; messageId: string; text: string; documentIds?: string[] },
): Promise<{ id: string }> {
  const m = schema.mailboxMessages;
  const [row] = await deps.db
    .select({
      id: m.id,
      content: m.content,
      noReply: m.noReply,
      closedAt: m.closedAt,
      threadKey: m.threadKey,
      contactId: schema.contacts.id,
      address: schema.contacts.address,
      endedAt: schema.contacts.endedAt,
    })
    .from(m)
    .leftJoin(schema.contacts, eq(schema.contacts.id, m.contactId))
    .where(and(eq(m.id, input.messageId), eq(m.patientId, input.patientId), eq(m.folder, 'inbox'), isNull(m.deletedAt)));
  if (!row) throw new SendRefusedError('message-not-found', SENTENCES.messageNotFound.text);
  const c = openValue<MessageContent>(deps.keyring, row.content, contentContext(row.id));
  const a = answerability({
    noReplyHeader: row.noReply,
    closedAt: row.closedAt,
    contactEnded: row.endedAt !== null,
    contactDisplayName: c.fromName || SENTENCES.endedByUnnamed.text,
    hasContact: row.contactId !== null,
  });
  if (!a.canReply || !row.contactId || !row.address) throw new SendRefusedError('not-answerable', a.closedNotice ?? SENTENCES.messageForbidsReply.text);
  const refs = referencesFor({ messageId: c.messageId, references: c.references, inReplyTo: c.inReplyTo });
  return send(
    deps,
    input.patientId,
    { id: row.contactId, address: row.address, endedAt: row.endedAt },
    {
      subject: replySubject(c.subject),
      text: input.text,
      inReplyTo: refs.inReplyTo,
      references: refs.references,
      threadKey: row.threadKey,
      documentIds: input.documentIds ?? [],
    },
  );
}

export async function writeToContact(
  deps: SendDeps,
  input: { patientId: string; contactId: string; subject: string; text: string; documentIds?: string[] },
): Promise<{ id: string }> {
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const [contact] = UUID.test(input.contactId)
    ? await deps.db
        .select({ id: schema.contacts.id, address: schema.contacts.address, endedAt: schema.contacts.endedAt })
        .from(schema.contacts)
        .where(and(eq(schema.contacts.id, input.contactId), eq(schema.contacts.patientId, input.patientId)))
    : [];
  if (!contact) throw new SendRefusedError('not-writable', SENTENCES.onlyKnownProfessionals.text);
  return send(deps, input.patientId, contact, {
    subject: input.subject.trim().slice(0, 200) || '(sans objet)',
    text: input.text,
    inReplyTo: null,
    references: [],
    threadKey: null,
    documentIds: input.documentIds ?? [],
  });
}
