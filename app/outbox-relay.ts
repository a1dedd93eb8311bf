/**
 * Drains the PostgreSQL outbox into BullMQ, so that the queue (PostgreSQL or Redis backend) never holds the
 * only copy of any work.
 *
 * - Each outbox row names an accepted message; its still-queued deliveries go into jobs of a few deliveries of
 *   one sender (`deliveryJobId`), then the row is deleted. A crash between the two adds the jobs again (the same ones,
 *   which BullMQ ignores while they exist, or other groupings, which are new jobs), and the worker skips a
 *   delivery already done: duplicates are harmless by design, and no delivery is left in no job.
 * - Independently, deliveries still queued long after their enqueue time (the queue lost them, or they were
 *   never enqueued) are enqueued again, at start and then periodically. A delivery's enqueue time starts as its
 *   acceptance time (the outbox hands it over right away) and is only rewritten by such a re-enqueue: the
 *   common path rewrites no delivery row.
 * - Runs at start, after every local accept (kick), and every `outboxSweepMs`. Several relays (processes) may
 *   run at once: they only ever produce duplicate adds.
 * - Fairness: each inbound job's priority is its position in its sender's backlog (mailbox/rules/scheduling.ts),
 *   counted here from the deliveries still queued, so a hospital's batch never delays a GP's message.
 */
import crypto from 'node:crypto';
import { and, asc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { type Db, schema } from '../db/index.js';
import { OUTBOX_TOPIC_OUTBOUND, planDeliveryJobs, type QueuedDelivery } from '../mailbox/index.js';

/** A few deliveries of one sender (mailbox/rules/scheduling.ts); `deliveryId` alone in jobs queued before batching. */
export interface DeliveryJob {
  deliveryIds?: string[];
  deliveryId?: string;
}

/**
 * A job's id names exactly its deliveries: a re-add of the same job while it exists is ignored by BullMQ, and a
 * different grouping of some of the same deliveries (after a crash, the outbox is drained again in other
 * slices) is a different job, never swallowed by an existing one. (Deliveries in two jobs are harmless: the
 * second finds them done.)
 */
export function deliveryJobId(ids: string[]): string {
  return ids.length === 1 ? ids[0]! : `b${crypto.createHash('sha256').update(ids.join(',')).digest('hex').slice(0, 32)}`;
}

export interface OutboundJob {
  outboundId: string;
}

const SINGLE_ADDS_UP_TO = 4;

export class OutboxRelay {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private lastStaleSweep = 0;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly queue: Queue<DeliveryJob>,
    private readonly opts: { sweepMs: number; staleMs: number; logger: Logger; outboundQueue: Queue<OutboundJob> },
  ) {}

  start(): void {
    this.kick();
    this.timer = setInterval(() => this.kick(), this.opts.sweepMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => {});
  }

  /** Asks for a drain now; coalesces with a drain already running. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drainLoop().finally(() => {
      this.running = null;
    });
  }

  /** Resolves once everything committed so far has been handed to the queue (tests, shutdown). */
  async flush(): Promise<void> {
    await this.running?.catch(() => {});
    await this.drainOnce(true);
  }

  private async drainLoop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.drainOnce(false);
      } catch (err) {
        this.opts.logger.warn({ err: (err as Error).message }, 'outbox drain failed; will retry');
        return;
      }
    } while (this.again && !this.stopped);
  }

  private async drainOnce(forceStale: boolean): Promise<void> {
    for (;;) {
      const rows = await this.db.select().from(schema.outbox).orderBy(asc(schema.outbox.id)).limit(200);
      if (rows.length === 0) break;
      const messageIds = rows.filter((r) => r.topic !== OUTBOX_TOPIC_OUTBOUND).map((r) => r.refId);
      if (messageIds.length) {
        const dels = await this.db
          .select({ id: schema.deliveries.id, sender: schema.deliveries.sender, messageId: schema.deliveries.messageId, size: schema.inboundMessages.size })
          .from(schema.deliveries)
          .innerJoin(schema.inboundMessages, eq(schema.inboundMessages.id, schema.deliveries.messageId))
          .where(and(inArray(schema.deliveries.messageId, messageIds), eq(schema.deliveries.status, 'queued')))
          .orderBy(asc(schema.inboundMessages.receivedAt));
        await this.enqueue(dels);
      }
      const outboundRows = rows.filter((r) => r.topic === OUTBOX_TOPIC_OUTBOUND);
      if (outboundRows.length) await this.enqueueOutbound(outboundRows.map((r) => r.refId));
      await this.db.delete(schema.outbox).where(
        inArray(
          schema.outbox.id,
          rows.map((r) => r.id),
        ),
      );
      if (rows.length < 200) break;
    }
    const now = Date.now();
    if (forceStale || now - this.lastStaleSweep >= Math.min(this.opts.staleMs, 60_000)) {
      this.lastStaleSweep = now;
      const cutoff = new Date(now - this.opts.staleMs);
      const stale = await this.db
        .select({ id: schema.deliveries.id, sender: schema.deliveries.sender, messageId: schema.deliveries.messageId, size: schema.inboundMessages.size })
        .from(schema.deliveries)
        .innerJoin(schema.inboundMessages, eq(schema.inboundMessages.id, schema.deliveries.messageId))
        .where(and(eq(schema.deliveries.status, 'queued'), or(isNull(schema.deliveries.enqueuedAt), lt(schema.deliveries.enqueuedAt, cutoff))))
        .limit(5000);
      if (stale.length) {
        this.opts.logger.info({ count: stale.length }, 're-enqueueing deliveries not done');
        await this.enqueue(stale, true);
      }
      {
        const staleOut = await this.db
          .select({ id: schema.outboundMessages.id })
          .from(schema.outboundMessages)
          .where(
            and(eq(schema.outboundMessages.status, 'queued'), or(isNull(schema.outboundMessages.enqueuedAt), lt(schema.outboundMessages.enqueuedAt, cutoff))),
          )
          .limit(5000);
        if (staleOut.length) await this.enqueueOutbound(staleOut.map((o) => o.id));
      }
    }
  }

  private async enqueueOutbound(ids: string[]): Promise<void> {
    const q = this.opts.outboundQueue;
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      await q.addBulk(batch.map((id) => ({ name: 'send', data: { outboundId: id }, opts: { jobId: id } })));
      await this.db.update(schema.outboundMessages).set({ enqueuedAt: new Date() }).where(inArray(schema.outboundMessages.id, batch));
    }
  }

  private async enqueue(deliveries: (QueuedDelivery & { size: number })[], stamp = false): Promise<void> {
    for (let i = 0; i < deliveries.length; i += 500) {
      const batch = deliveries.slice(i, i + 500);
      const jobs = planDeliveryJobs(batch, await this.queuedBySender(batch));
      const adds = jobs.map((j) => ({
        name: 'deliver',
        data: { deliveryIds: j.deliveryIds },
        opts: { jobId: deliveryJobId(j.deliveryIds), priority: j.priority },
      }));
      // A bulk add costs a fixed few milliseconds on the PostgreSQL backend (temporary tables): worth it only for
      // many jobs; a drain under load usually hands over one or two.
      if (adds.length <= SINGLE_ADDS_UP_TO) await Promise.all(adds.map((a) => this.queue.add(a.name, a.data, a.opts)));
      else await this.queue.addBulk(adds);
      if (stamp)
        await this.db
          .update(schema.deliveries)
          .set({ enqueuedAt: new Date() })
          .where(
            inArray(
              schema.deliveries.id,
              batch.map((d) => d.id),
            ),
          );
    }
  }

  /** Per sender of the batch, how many deliveries are queued now (the batch included). */
  private async queuedBySender(batch: QueuedDelivery[]): Promise<Map<string, number>> {
    const senders = [...new Set(batch.flatMap((d) => (d.sender ? [d.sender] : [])))];
    if (senders.length === 0) return new Map();
    // Served by the partial index on queued deliveries' sender (rows from before the sender column: not counted).
    const rows = (await this.db.execute(
      sql`SELECT sender, count(*)::int AS n FROM deliveries WHERE status = 'queued' AND sender = ANY(${sql.param(senders)}::text[]) GROUP BY sender`,
    )) as unknown as { rows: { sender: string; n: number }[] };
    return new Map(rows.rows.map((r) => [r.sender, Number(r.n)]));
  }
}
