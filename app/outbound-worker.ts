/**
 * The outbound relay's job side: one BullMQ job per outbound message (job id = outbound id). Each attempt
 * resolves the destination (RELAY_ROUTES, else MX), delivers over STARTTLS presenting the gateway's certificate
 * and checking the destination's (gateway/relay), at most N sessions per destination in this process.
 * - success → `sent`;
 * - temporary or rate-limited → retried on the schedule of config/retry.ts (≥ 48 h); when it is exhausted, or on
 *   a permanent refusal → `failed`, and for a patient's message a readable notice is put in the patient's inbox
 *   (mailbox `failOutboundMessage`: one statement, so the notice exists exactly when the status says failed).
 * A crash mid-delivery: the job's lock expires, BullMQ runs it again; the remote had not answered 250 (or we
 * would have recorded `sent` right after), so the message is delivered once. Between a remote 250 and our
 * recording it, a crash makes a second delivery with the same Message-ID (receivers deduplicate by it); this
 * window is one local UPDATE.
 */
import { eq, sql } from 'drizzle-orm';
import { UnrecoverableError, type Job, type Queue, type Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Whitelist } from '../certs/index.js';
import { patientFailureReason, retryDelay } from '../config/index.js';
import { type Db, schema } from '../db/index.js';
import { DestinationLimiter, deliverMessage, destinationKey, resolveDestination, PermanentRelayError, type RelayDestination } from '../gateway/relay/index.js';
import { failOutboundMessage } from '../mailbox/index.js';
import type { BlobStore, Keyring } from '../vault/index.js';
import type { OutboundJob } from './outbox-relay.js';
import type { QueueBackend } from './queue-backend.js';

export const OUTBOUND_QUEUE = 'outbound-delivery';

export function createOutboundQueue(backend: QueueBackend, schedule: number[]): Queue<OutboundJob> {
  return backend.queue<OutboundJob>(OUTBOUND_QUEUE, {
    defaultJobOptions: {
      attempts: schedule.length + 1,
      backoff: { type: 'relay-schedule' },
      removeOnComplete: true, // the deliveries table is the record; a kept job costs a retention scan per completion
      removeOnFail: { count: 10_000 },
    },
  });
}

export interface OutboundDeps {
  db: Db;
  blobs: BlobStore;
  keyring: Keyring;
  whitelist: () => Whitelist | null;
  tls: { cert: Buffer; key: Buffer; ca: string[]; crl?: string[] };
  routes: Map<string, RelayDestination>;
  heloName: string;
  schedule: number[];
  maxConnectionsPerDestination: number;
  timeoutMs?: number;
}

export async function processOutbound(deps: OutboundDeps, limiter: DestinationLimiter, job: Job<OutboundJob>, log: Logger): Promise<string> {
  const [row] = await deps.db.select().from(schema.outboundMessages).where(eq(schema.outboundMessages.id, job.data.outboundId));
  if (!row || row.status !== 'queued') return 'skipped';
  const isLast = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  const whitelist = deps.whitelist();
  let response: string;
  let action: 'temporary' | 'permanent' | 'rate-limited';
  let category: string;
  try {
    if (!whitelist) throw new Error('no whitelist loaded');
    const domain = row.rcpt.slice(row.rcpt.lastIndexOf('@') + 1).toLowerCase();
    const destinations = await resolveDestination(domain, deps.routes);
    const result = await limiter.run(destinationKey(destinations[0]!), () =>
      deliverMessage({
        to: row.rcpt,
        envelopeFrom: row.envelopeFrom,
        raw: () => deps.blobs.read(row.rawBlobId),
        destinations,
        tls: deps.tls,
        whitelist,
        heloName: deps.heloName,
        timeoutMs: deps.timeoutMs,
      }),
    );
    if (result.ok) {
      await deps.db
        .update(schema.outboundMessages)
        .set({ status: 'sent', doneAt: new Date(), lastResponse: result.response.slice(0, 500), attempts: sql`${schema.outboundMessages.attempts} + 1` })
        .where(eq(schema.outboundMessages.id, row.id));
      log.info({ outbound: row.id, kind: row.kind, host: result.host }, 'outbound message sent');
      return 'sent';
    }
    response = result.response;
    action = result.action;
    category = result.category;
  } catch (err) {
    response = (err as Error).message;
    action = err instanceof PermanentRelayError ? 'permanent' : 'temporary';
    category = (err as { category?: string }).category ?? 'other';
  }
  await deps.db
    .update(schema.outboundMessages)
    .set({ lastResponse: response.slice(0, 500), attempts: sql`${schema.outboundMessages.attempts} + 1` })
    .where(eq(schema.outboundMessages.id, row.id));
  log.warn({ outbound: row.id, kind: row.kind, action, attempt: job.attemptsMade + 1 }, 'outbound attempt failed');
  if (action === 'permanent' || isLast) {
    await failOutboundMessage(deps, row, response, patientFailureReason(category, action === 'permanent' ? 'refused' : 'expired'));
    throw new UnrecoverableError(response);
  }
  throw new Error(response);
}

export function startOutboundWorker(deps: OutboundDeps, backend: QueueBackend, logger: Logger): Worker<OutboundJob> {
  const log = logger.child({ part: 'relay-out' });
  const limiter = new DestinationLimiter(deps.maxConnectionsPerDestination);
  const worker = backend.worker<OutboundJob>(OUTBOUND_QUEUE, (job) => processOutbound(deps, limiter, job, log), {
    concurrency: deps.maxConnectionsPerDestination * 4,
    lockDuration: 15_000,
    stalledInterval: 5_000,
    maxStalledCount: 10,
    settings: { backoffStrategy: (attemptsMade: number) => retryDelay(attemptsMade, deps.schedule) ?? 0 },
  });
  worker.on('error', (err) => log.warn({ err: err.message }, 'outbound worker error'));
  return worker;
}
