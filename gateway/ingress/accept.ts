/**
 * The durable accept: one transaction holds the inbound message (its encrypted raw blob referenced), one
 * delivery row per recipient and one outbox row. Only after it commits may the gateway answer 250; if it
 * throws, nothing of this message is referenced and the caller answers 451 so the sender retries.
 */
import crypto from 'node:crypto';
import type { Db } from '../../db/index.js';
import { schema } from '../../db/index.js';
import type { StoredBlob } from '../../vault/index.js';

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

/** A short, sortable, unique queue id (time in base 36 + 8 random hex digits), safe to quote to support. */
export function newQueueId(): string {
  return `${Date.now().toString(36).toUpperCase()}${crypto.randomBytes(5).toString('hex').toUpperCase()}`;
}

export const OUTBOX_TOPIC_INBOUND = 'inbound-message';

export async function commitAcceptedMessage(db: Db, raw: StoredBlob, env: AcceptedEnvelope, queueId = newQueueId()): Promise<AcceptResult> {
  const messageId = crypto.randomUUID();
  const deliveryIds = env.patientIds.map(() => crypto.randomUUID());
  await db.transaction(async (tx) => {
    await raw.persist(tx);
    await tx.insert(schema.inboundMessages).values({
      id: messageId,
      queueId,
      rawBlobId: raw.blobId,
      size: raw.size,
      mailFrom: env.mailFrom,
      sendingDomain: env.sendingDomain,
      peerDn: env.peerDn,
      peerFingerprint: env.peerFingerprint,
      clientAddress: env.clientAddress,
    });
    await tx.insert(schema.deliveries).values(
      env.patientIds.map((patientId, i) => ({ id: deliveryIds[i]!, messageId, patientId, status: 'queued' })),
    );
    await tx.insert(schema.outbox).values({ topic: OUTBOX_TOPIC_INBOUND, refId: messageId });
  });
  return { messageId, queueId, deliveryIds };
}
