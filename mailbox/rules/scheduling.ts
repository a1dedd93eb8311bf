/**
 * Fair scheduling of inbound deliveries across sending operators (SPEC §1: a hospital's bulk batch must not
 * delay anyone else's mail).
 *
 * Policy: every delivery job gets a priority equal to its position in its sender's current backlog (1 = the
 * sender's oldest queued delivery). Workers always take the lowest priority number first (BullMQ, on either
 * backend), so senders are served round robin: the first delivery of every sender, then the second of every
 * sender, and so on. A GP's single message has position 1 and is filed next, however many thousand messages a
 * hospital has queued; a hospital alone still gets the whole capacity. The sender is the operator's certificate
 * (one operator, one backlog, whatever domains it sends for); within a sender, order is roughly FIFO.
 *
 * Positions are computed when deliveries are handed to the queue (app/outbox-relay.ts), from the count of the
 * sender's deliveries still queued then: no per-sender state is kept anywhere, so several relays and processes
 * agree without coordination, and a crash loses nothing (a re-enqueue recomputes).
 *
 * Jobs carry a few consecutive deliveries of one sender (`planDeliveryJobs`: at most `JOB_MAX_DELIVERIES`, and
 * `JOB_MAX_BYTES` of messages unless one message alone is larger), processed with the round trips and commit of
 * one (mailbox/deliver-batch.ts); the round robin is then by job: a job's priority is the position of its
 * sender's batch, so a GP's message waits behind at most one batch of each other sender.
 */

/** BullMQ's largest priority (2^21 - 1); 1 is served first. */
export const MAX_PRIORITY = 2_097_151;

export interface QueuedDelivery {
  id: string;
  /** The sending operator; null for rows from before the sender was recorded (one shared backlog). */
  sender: string | null;
  /** The message it delivers: every delivery of one message goes in one job (one parse for all recipients). */
  messageId?: string;
}

/**
 * Priorities for a batch of deliveries about to be enqueued, in batch order. `queued`: per sender, how many of
 * its deliveries are queued right now, this batch included.
 */
export function fairPriorities(batch: readonly QueuedDelivery[], queued: ReadonlyMap<string, number>): number[] {
  const inBatch = new Map<string, number>();
  for (const d of batch) inBatch.set(d.sender ?? '', (inBatch.get(d.sender ?? '') ?? 0) + 1);
  const seen = new Map<string, number>();
  return batch.map((d) => {
    const s = d.sender ?? '';
    const before = Math.max(0, (queued.get(s) ?? 0) - (inBatch.get(s) ?? 0));
    const k = (seen.get(s) ?? 0) + 1;
    seen.set(s, k);
    return Math.min(MAX_PRIORITY, before + k);
  });
}

/** Deliveries per job: enough to share round trips and commits, few enough that one job stays short. */
export const JOB_MAX_DELIVERIES = 16;
/** Bytes of messages per job: large messages travel alone (one 25 MB message in memory per job). */
export const JOB_MAX_BYTES = 4 * 1024 * 1024;

export interface PlannedJob {
  deliveryIds: string[];
  priority: number;
}

/**
 * Cuts deliveries about to be enqueued into jobs of one sender each, in order, and gives each job its fair
 * priority. `queued`: as for `fairPriorities`. The deliveries of one message always share a job, whatever the
 * caps (at most the recipient limit of one message): the job parses, scans and inflates the message once for all
 * of them (mailbox/deliver-batch.ts), and holds its bytes once.
 */
export function planDeliveryJobs(batch: readonly (QueuedDelivery & { size: number })[], queued: ReadonlyMap<string, number>): PlannedJob[] {
  const positions = fairPriorities(batch, queued);
  const open = new Map<string, { job: PlannedJob; bytes: number }>();
  const byMessage = new Map<string, PlannedJob>();
  const jobs: PlannedJob[] = [];
  batch.forEach((d, i) => {
    const same = d.messageId === undefined ? undefined : byMessage.get(d.messageId);
    if (same) {
      same.deliveryIds.push(d.id);
      return;
    }
    if (d.messageId !== undefined) byMessage.set(d.messageId, placed(d, i));
    else placed(d, i);
  });
  return jobs;

  function placed(d: QueuedDelivery & { size: number }, i: number): PlannedJob {
    const s = d.sender ?? '';
    const cur = open.get(s);
    if (cur && cur.job.deliveryIds.length < JOB_MAX_DELIVERIES && cur.bytes + d.size <= JOB_MAX_BYTES) {
      cur.job.deliveryIds.push(d.id);
      cur.bytes += d.size;
      return cur.job;
    }
    const job = { deliveryIds: [d.id], priority: Math.min(MAX_PRIORITY, Math.ceil(positions[i]! / JOB_MAX_DELIVERIES)) };
    jobs.push(job);
    open.set(s, { job, bytes: d.size });
    return job;
  }
}
