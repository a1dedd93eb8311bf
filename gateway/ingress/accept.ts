/**
 * The durable accept: the inbound message (its encrypted raw blob referenced, or written here when it is small
 * enough to be inline), one delivery row per recipient and one outbox row are written by ONE SQL statement
 * (data-modifying CTEs), which PostgreSQL runs atomically: one round trip and one commit, with the same
 * all-or-nothing guarantee as a transaction. Only after it returns may the gateway answer 250; if it throws,
 * nothing of this message is referenced and the caller answers 451 so the sender retries.
 *
 * Under load, the accepts of concurrent sessions share one statement (`AcceptBatcher`, group commit), each
 * message's writes guarded by its own checks.
 *
 * The statement also re-checks, atomically with the write, that every recipient's profile still accepts mail
 * (the RCPT answer may come from a cache, access/profile-lookup.ts): if one no longer does, nothing is written
 * and `RecipientsChangedError` is thrown (451: the sender's retry gets the exact RCPT answer).
 */
import crypto from 'node:crypto';
import { sql } from 'drizzle-orm';
import { mailAcceptingStates } from '../../access/index.js';
import { cteStatement, executePrepared, type Cte, type Db } from '../../db/index.js';
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

interface AcceptStatement {
  ctes: Cte[];
  ok: string;
  result: AcceptResult;
}

/** The CTEs that accept one message, every name prefixed by `p` (several messages can share a statement). */
function acceptCtes(raw: StoredBlob, env: AcceptedEnvelope, queueId: string, p: string): AcceptStatement {
  if (env.patientIds.length === 0) throw new Error('an accepted message needs at least one recipient');
  const messageId = crypto.randomUUID();
  const deliveryIds = env.patientIds.map(() => crypto.randomUUID());
  const ok = sql.raw(`${p}ok`);
  const ctes: Cte[] = [
    [
      `${p}ok`,
      sql`SELECT 1 AS ok WHERE (SELECT count(*) FROM patients WHERE id = ANY(${sql.param(env.patientIds)}::uuid[])
                                      AND state = ANY(${sql.param(ACCEPTING)}::text[])) = ${env.patientIds.length}`,
    ],
    ...(raw.inline ? inlineBlobCtes(raw.inline, `${p}r`, `${p}ok`) : []),
    [
      `${p}m`,
      sql`INSERT INTO inbound_messages (id, queue_id, raw_blob_id, size, mail_from, sending_domain, peer_dn, peer_fingerprint, client_address)
             SELECT ${messageId}::uuid, ${queueId}::text, ${raw.blobId}::uuid, ${raw.size}::bigint, ${env.mailFrom}::text, ${env.sendingDomain}::text,
                    ${env.peerDn}::text, ${env.peerFingerprint}::text, ${env.clientAddress}::text FROM ${ok}`,
    ],
    [
      `${p}d`,
      sql`INSERT INTO deliveries (id, message_id, patient_id, status, sender, enqueued_at)
             SELECT v.id, ${messageId}::uuid, v.patient_id, 'queued', ${env.peerFingerprint}::text, now()
               FROM unnest(${sql.param(deliveryIds)}::uuid[], ${sql.param(env.patientIds)}::uuid[]) AS v(id, patient_id), ${ok}`,
    ],
    [`${p}o`, sql`INSERT INTO outbox (topic, ref_id) SELECT ${OUTBOX_TOPIC_INBOUND}, ${messageId}::uuid FROM ${ok}`],
  ];
  return { ctes, ok: `${p}ok`, result: { messageId, queueId, deliveryIds } };
}

/** Runs accept statements as one; per statement, whether its recipients all still accept mail. */
async function runAccepts(db: Db, statements: AcceptStatement[]): Promise<boolean[]> {
  const counts = sql.join(
    statements.map((a) => sql`(SELECT count(*)::int FROM ${sql.raw(a.ok)})`),
    sql`, `,
  );
  const [r] = await executePrepared<{ n: number[] }>(
    db,
    cteStatement(
      statements.flatMap((a) => a.ctes),
      sql`SELECT ARRAY[${counts}] AS n`,
    ),
  );
  return statements.map((_, i) => Number(r?.n[i] ?? 0) === 1);
}

export async function commitAcceptedMessage(db: Db, raw: StoredBlob, env: AcceptedEnvelope, queueId = newQueueId()): Promise<AcceptResult> {
  const a = acceptCtes(raw, env, queueId, '');
  const [ok] = await runAccepts(db, [a]);
  if (!ok) throw new RecipientsChangedError();
  return a.result;
}

/**
 * Group commit of accepts, opportunistic: a message arriving while no accept statement is running is committed
 * at once (no added latency); those arriving meanwhile wait for it and are then committed together, up to
 * `maxBatch`, by one statement: one round trip and one WAL flush for all of them under load. All-or-nothing
 * per message still holds (each one's CTEs are guarded by its own recipient check); if the combined statement
 * fails, each message of it is retried alone, so one message cannot make its neighbours answer 451.
 */
export class AcceptBatcher {
  private waiting: { raw: StoredBlob; env: AcceptedEnvelope; queueId: string; resolve: (r: AcceptResult) => void; reject: (e: Error) => void }[] = [];
  private running = false;
  /** Statements run and messages they carried (a ratio above 1 is group commit at work). */
  readonly stats = { statements: 0, messages: 0 };

  constructor(
    private readonly db: Db,
    private readonly maxBatch = 16,
  ) {}

  commit(raw: StoredBlob, env: AcceptedEnvelope, queueId = newQueueId()): Promise<AcceptResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ raw, env, queueId, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length) {
        const batch = this.waiting.splice(0, this.maxBatch);
        this.stats.statements++;
        this.stats.messages += batch.length;
        if (batch.length === 1) {
          const [w] = batch;
          await commitAcceptedMessage(this.db, w!.raw, w!.env, w!.queueId).then(w!.resolve, w!.reject);
          continue;
        }
        let statements: AcceptStatement[];
        try {
          statements = batch.map((w, k) => acceptCtes(w.raw, w.env, w.queueId, `m${k}_`));
        } catch (err) {
          for (const w of batch) w.reject(err as Error);
          continue;
        }
        try {
          const oks = await runAccepts(this.db, statements);
          batch.forEach((w, k) => (oks[k] ? w.resolve(statements[k]!.result) : w.reject(new RecipientsChangedError())));
        } catch {
          for (const w of batch) await commitAcceptedMessage(this.db, w.raw, w.env, w.queueId).then(w.resolve, w.reject);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
