/**
 * The BullMQ side of inbound processing: one job per few deliveries of one sender (app/outbox-relay.ts), retried
 * on the schedule of config/retry.ts (≤ 48 h). The domain work and its idempotency live in mailbox/
 * (deliver-batch.ts, deliver-inbound.ts).
 * - A delivery that fails permanently (malformed message, limits) is marked failed and its DSN queued at once;
 *   the others of its job go on.
 * - A delivery that fails temporarily (scanner down...) makes the job fail after the others are committed: the
 *   retry redoes only what is still queued. When the schedule is exhausted, every delivery of the job still
 *   queued is marked failed and its DSN queued.
 */
import { type Queue, type Worker } from 'bullmq';
import type { Logger } from 'pino';
import { retryDelay } from '../config/index.js';
import { deliverBatch, markQueuedDeliveriesFailed, PermanentDeliveryError, type DeliverDeps } from '../mailbox/index.js';
import type { GatewayMetrics } from './metrics.js';
import type { DeliveryJob } from './outbox-relay.js';
import type { QueueBackend } from './queue-backend.js';

export const INBOUND_QUEUE = 'inbound-delivery';

export function createInboundQueue(backend: QueueBackend, schedule: readonly number[]): Queue<DeliveryJob> {
  return backend.queue<DeliveryJob>(INBOUND_QUEUE, {
    defaultJobOptions: {
      attempts: schedule.length + 1,
      backoff: { type: 'inbound-schedule' },
      removeOnComplete: true, // the deliveries table is the record; a kept job costs a retention scan per completion
      removeOnFail: { count: 10_000 },
    },
  });
}

const idsOf = (data: DeliveryJob) => data.deliveryIds ?? (data.deliveryId ? [data.deliveryId] : []);

type InboundDeps = DeliverDeps & { onPermanentFailure?: (deliveryId: string, reason: string) => Promise<void> };

async function failPermanently(deps: InboundDeps, id: string, reason: string, log: Logger): Promise<void> {
  if ((await markQueuedDeliveriesFailed(deps.db, [id], reason)).length === 0) return; // another attempt got there first
  await deps.onPermanentFailure?.(id, reason).catch((e: Error) => log.error({ err: e.message }, 'DSN not queued'));
}

export function startInboundWorker(
  deps: InboundDeps,
  backend: QueueBackend,
  schedule: readonly number[],
  concurrency: number,
  logger: Logger,
  metrics?: GatewayMetrics,
): Worker<DeliveryJob> {
  const log = logger.child({ part: 'worker' });
  const worker = backend.worker<DeliveryJob>(
    INBOUND_QUEUE,
    async (job) => {
      const started = Date.now();
      const results = await deliverBatch(deps, idsOf(job.data));
      const seconds = (Date.now() - started) / 1000 / Math.max(1, results.size);
      let temporary: Error | null = null;
      for (const [id, r] of results) {
        if (r instanceof PermanentDeliveryError) {
          metrics?.deliveryProcessed('failed-permanently', seconds);
          await failPermanently(deps, id, r.message, log);
        } else if (r instanceof Error) {
          metrics?.deliveryProcessed('error', seconds);
          temporary ??= r;
        } else {
          metrics?.deliveryProcessed(r, seconds);
          log.info({ delivery: id, outcome: r }, 'delivery processed');
        }
      }
      if (temporary) throw temporary; // retried: what is delivered is skipped
      return results.size;
    },
    {
      concurrency,
      lockDuration: 15_000,
      stalledInterval: 5_000,
      maxStalledCount: 5,
      settings: { backoffStrategy: (attemptsMade: number) => retryDelay(attemptsMade, schedule) ?? 0 },
    },
  );
  worker.on('failed', (job, err) => {
    if (!job) return;
    log.warn({ job: job.id, deliveries: idsOf(job.data).length, attempt: job.attemptsMade, err: err.message }, 'delivery attempt failed');
    if (job.attemptsMade >= (job.opts.attempts ?? 1)) {
      // The schedule is exhausted: whatever of this job is still queued failed; its senders get their DSN.
      void markQueuedDeliveriesFailed(deps.db, idsOf(job.data), err.message)
        .then(async (ids) => {
          for (const id of ids) await deps.onPermanentFailure?.(id, err.message);
        })
        .catch((e: Error) => log.error({ err: e.message }, 'final failure not recorded'));
    }
  });
  worker.on('error', (err) => log.warn({ err: err.message }, 'worker error'));
  return worker;
}
