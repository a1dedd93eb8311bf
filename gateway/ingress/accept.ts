/**
 * The durable accept: the inbound message (its encrypted raw blob referenced, or written here when it fits in
 * one chunk), one delivery row per recipient and one outbox row are written by ONE SQL statement (data-modifying
 * CTEs), which PostgreSQL runs atomically: one round trip instead of seven, and the same all-or-nothing
 * guarantee as a transaction. Only after it returns may the gateway answer 250; if it throws, nothing of this
 * message is referenced and the caller answers 451 so the sender retries.
 */
import crypto from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/index.js';
import { inlineBlobCtes, type StoredBlob } from '../../vault/index.js';

export interface AcceptedEnvelope {
  mailFrom: string;
  sendingDomain: string;
  peerDn: string;
  peerFingerprint: string;
  clientAddress: string;
  patientIds: string[];
}

export interface AcceptResult {
  messageId: string;
  queueId: string;
  deliveryIds: string[];
}

/** A short, sortable, unique queue id (time in base 36 + 10 random hex digits), safe to quote to support. */
export function newQueueId(): string {
  return `${Date.now().toString(36).toUpperCase()}${crypto.randomBytes(5).toString('hex').toUpperCase()}`;
}

export const OUTBOX_TOPIC_INBOUND = 'inbound-message';

export async function commitAcceptedMessage(db: Db, raw: StoredBlob, env: AcceptedEnvelope, queueId = newQueueId()): Promise<AcceptResult> {
  if (env.patientIds.length === 0) throw new Error('an accepted message needs at least one recipient');
  const messageId = crypto.randomUUID();
  const deliveryIds = env.patientIds.map(() => crypto.randomUUID());
  const parts: SQL[] = [];
  if (raw.inline) parts.push(...inlineBlobCtes(raw.inline, 'r'));
  parts.push(
    sql`m AS (INSERT INTO inbound_messages (id, queue_id, raw_blob_id, size, mail_from, sending_domain, peer_dn, peer_fingerprint, client_address)
             VALUES (${messageId}, ${queueId}, ${raw.blobId}, ${raw.size}, ${env.mailFrom}, ${env.sendingDomain}, ${env.peerDn},
                     ${env.peerFingerprint}, ${env.clientAddress}))`,
    sql`d AS (INSERT INTO deliveries (id, message_id, patient_id, status) VALUES ${sql.join(
      env.patientIds.map((patientId, i) => sql`(${deliveryIds[i]!}, ${messageId}, ${patientId}, 'queued')`),
      sql`, `,
    )})`,
    sql`o AS (INSERT INTO outbox (topic, ref_id) VALUES (${OUTBOX_TOPIC_INBOUND}, ${messageId}))`,
  );
  await db.execute(sql`WITH ${sql.join(parts, sql`, `)} SELECT 1`);
  return { messageId, queueId, deliveryIds };
}
