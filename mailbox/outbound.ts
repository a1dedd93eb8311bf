/**
 * Queuing a message to leave the gateway (a patient's reply, a read receipt, a delivery report): the raw
 * message is encrypted into the vault and, in ONE statement, the outbound row, the optional copy in the
 * patient's "sent" folder, and an outbox row are written. The outbox relay then hands it to the outbound queue
 * (job id = outbound id); nothing is sent before that statement commits, and a crash before it leaves nothing.
 */
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { cteStatement, type Cte, type Db } from '../db/index.js';
import { type BlobStore, type Keyring, inlineBlobCtes, sealValue } from '../vault/index.js';
import { contentContext, type MessageContent } from './deliver-inbound.js';

export const OUTBOX_TOPIC_OUTBOUND = 'outbound-message';

export interface OutboundRequest {
  patientId: string | null;
  kind: 'patient' | 'mdn' | 'dsn';
  envelopeFrom: string;
  rcpt: string;
  raw: Buffer;
  messageIdHeader: string;
  /** A copy in the patient's sent folder (patient messages). */
  sentCopy?: { content: MessageContent; contactId: string; threadKey: string; attachmentCount: number };
  /** Extra CTEs to commit with it (e.g. marking an MDN as queued); a name clashing with o, ob, sc, rb or rc throws (db/cte.ts). */
  extra?: Cte[];
}

export async function queueOutbound(
  deps: { db: Db; blobs: BlobStore; keyring: Keyring },
  r: OutboundRequest,
): Promise<{ id: string; mailboxMessageId: string | null }> {
  const id = crypto.randomUUID();
  const stored = await deps.blobs.write(Readable.from([r.raw]), 'outbound-message');
  const ctes: Cte[] = [
    ...(stored.inline ? inlineBlobCtes(stored.inline, 'r') : []),
    [
      'o',
      sql`INSERT INTO outbound_messages (id, patient_id, kind, envelope_from, rcpt, raw_blob_id, message_id_header, status)
             VALUES (${id}, ${r.patientId}, ${r.kind}, ${r.envelopeFrom}, ${r.rcpt}, ${stored.blobId}, ${r.messageIdHeader}, 'queued')`,
    ],
    ['ob', sql`INSERT INTO outbox (topic, ref_id) VALUES (${OUTBOX_TOPIC_OUTBOUND}, ${id})`],
  ];
  let mailboxMessageId: string | null = null;
  if (r.sentCopy && r.patientId) {
    mailboxMessageId = crypto.randomUUID();
    ctes.push([
      'sc',
      sql`INSERT INTO mailbox_messages (id, patient_id, folder, content, attachment_count, contact_id, message_id_header, thread_key, outbound_id, read_at)
                VALUES (${mailboxMessageId}, ${r.patientId}, 'sent', ${sealValue(deps.keyring, r.sentCopy.content, contentContext(mailboxMessageId))},
                        ${r.sentCopy.attachmentCount}, ${r.sentCopy.contactId}, ${r.messageIdHeader}, ${r.sentCopy.threadKey}, ${id}, now())`,
    ]);
  }
  ctes.push(...(r.extra ?? []));
  await deps.db.execute(cteStatement(ctes, sql`SELECT 1`));
  return { id, mailboxMessageId };
}
