/**
 * The BullMQ side of inbound processing: one job per delivery (job id = delivery id), retried on the schedule
 * of config/inbound.ts (≤ 48 h); a permanent failure (malformed message, limits) or the last attempt marks the
 * delivery failed and queues the DSN to its sender. The domain work and its idempotency live in mailbox/deliver-inbound.ts.
 */
import { UnrecoverableError, type Queue, type Worker } from 'bullmq';
import type { Logger } from 'pino';
import { retryDelay } from '../config/retry.js';
import { deliverInbound, markDeliveryFailed, PermanentDeliveryError, type DeliverDeps } from '../mailbox/index.js';
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

export function startInboundWorker(
  deps: DeliverDeps & { onPermanentFailure?: (deliveryId: string, reason: string) => Promise<void> },
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
      try {
        const outcome = await deliverInbound(deps, job.data.deliveryId);
        metrics?.deliveryProcessed(outcome, (Date.now() - started) / 1000);
        log.info({ delivery: job.data.deliveryId, outcome }, 'delivery processed');
        return outcome;
      } catch (err) {
        metrics?.deliveryProcessed(err instanceof PermanentDeliveryError ? 'failed-permanently' : 'error', (Date.now() - started) / 1000);
        if (err instanceof PermanentDeliveryError) {
          await markDeliveryFailed(deps.db, job.data.deliveryId, err.message);
          await deps.onPermanentFailure?.(job.data.deliveryId, err.message).catch((e: Error) => log.error({ err: e.message }, 'DSN not queued'));
          throw new UnrecoverableError(err.message);
        }
        throw err;
      }
    },
    { concurrency, lockDuration: 15_000, stalledInterval: 5_000, maxStalledCount: 5, settings: { backoffStrategy: (attemptsMade: number) => retryDelay(attemptsMade, schedule) ?? 0 } },
  );
  worker.on('failed', (job, err) => {
    if (!job) return;
    log.warn({ delivery: job.data.deliveryId, attempt: job.attemptsMade, err: err.message }, 'delivery attempt failed');
    if (job.attemptsMade >= (job.opts.attempts ?? 1) && !(err instanceof UnrecoverableError)) {
      void markDeliveryFailed(deps.db, job.data.deliveryId, err.message)
        .then(() => deps.onPermanentFailure?.(job.data.deliveryId, err.message))
        .catch(() => {});
    }
  });
  worker.on('error', (err) => log.warn({ err: err.message }, 'worker error'));
  return worker;
}
