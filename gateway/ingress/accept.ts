/**
 * The durable accept: the inbound message (its encrypted raw blob referenced, or written here when it is small
 * enough to be inline), one delivery row per recipient and one outbox row are written by ONE SQL statement
 * (data-modifying CTEs), which PostgreSQL runs atomically: one round trip and one commit, with the same
 * all-or-nothing guarantee as a transaction. Only after it returns may the gateway answer 250; if it throws,
 * nothing of this message is referenced and the caller answers 451 so the sender retries.
 *
 * The statement also re-checks, atomically with the write, that every recipient's profile still accepts mail
 * (the RCPT answer may come from a cache, access/profile-lookup.ts): if one no longer does, nothing is written
 * and `RecipientsChangedError` is thrown (451: the sender's retry gets the exact RCPT answer).
 */
import crypto from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { mailAcceptingStates } from '../../access/index.js';
import { executePrepared, type Db } from '../../db/index.js';
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

export class RecipientsChangedError extends Error {
  constructor() {
    super('a recipient no longer accepts mail');
    this.name = 'RecipientsChangedError';
  }
}

/** A short, sortable, unique queue id (time in base 36 + 10 random hex digits), safe to quote to support. */
export function newQueueId(): string {
  return `${Date.now().toString(36).toUpperCase()}${crypto.randomBytes(5).toString('hex').toUpperCase()}`;
}

export const OUTBOX_TOPIC_INBOUND = 'inbound-message';

const ACCEPTING = mailAcceptingStates();

export async function commitAcceptedMessage(db: Db, raw: StoredBlob, env: AcceptedEnvelope, queueId = newQueueId()): Promise<AcceptResult> {
  if (env.patientIds.length === 0) throw new Error('an accepted message needs at least one recipient');
  const messageId = crypto.randomUUID();
  const deliveryIds = env.patientIds.map(() => crypto.randomUUID());
  const parts: SQL[] = [
    sql`ok AS (SELECT 1 AS ok WHERE (SELECT count(*) FROM patients WHERE id = ANY(${sql.param(env.patientIds)}::uuid[])
                                      AND state = ANY(${sql.param(ACCEPTING)}::text[])) = ${env.patientIds.length})`,
  ];
  if (raw.inline) parts.push(...inlineBlobCtes(raw.inline, 'r', 'ok'));
  parts.push(
    sql`m AS (INSERT INTO inbound_messages (id, queue_id, raw_blob_id, size, mail_from, sending_domain, peer_dn, peer_fingerprint, client_address)
             SELECT ${messageId}::uuid, ${queueId}::text, ${raw.blobId}::uuid, ${raw.size}::bigint, ${env.mailFrom}::text, ${env.sendingDomain}::text,
                    ${env.peerDn}::text, ${env.peerFingerprint}::text, ${env.clientAddress}::text FROM ok)`,
    sql`d AS (INSERT INTO deliveries (id, message_id, patient_id, status, sender, enqueued_at)
             SELECT v.id, ${messageId}::uuid, v.patient_id, 'queued', ${env.peerFingerprint}::text, now()
               FROM unnest(${sql.param(deliveryIds)}::uuid[], ${sql.param(env.patientIds)}::uuid[]) AS v(id, patient_id), ok)`,
    sql`o AS (INSERT INTO outbox (topic, ref_id) SELECT ${OUTBOX_TOPIC_INBOUND}, ${messageId}::uuid FROM ok)`,
  );
  const res = await executePrepared<{ n: number }>(db, sql`WITH ${sql.join(parts, sql`, `)} SELECT count(*)::int AS n FROM ok`);
  if (Number(res[0]?.n ?? 0) !== 1) throw new RecipientsChangedError();
  return { messageId, queueId, deliveryIds };
}
