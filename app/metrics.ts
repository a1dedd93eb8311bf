/**
 * Prometheus metrics of one process (GET /metrics on the API). Labels carry reply codes, suffixes and
 * outcomes only: never an INS, address, subject or file name.
 */
import type { Queue } from 'bullmq';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface GatewayMetrics {
  registry: Registry;
  smtpReply(code: number, suffix: string): void;
  smtpAccepted(bytes: number, seconds: number): void;
  deliveryProcessed(outcome: string, seconds: number): void;
  watchQueue(queue: Queue): void;
  /** Reports the age of the whitelist in force (from its generation date) at each scrape. */
  watchWhitelist(generatedAt: () => Date | null): void;
}

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mesgw_' });
  const replies = new Counter({
    name: 'mesgw_smtp_replies_total',
    help: 'SMTP replies to MAIL, RCPT and DATA by code and searchable suffix',
    labelNames: ['code', 'suffix'] as const,
    registers: [registry],
  });
  const acceptedBytes = new Counter({ name: 'mesgw_smtp_accepted_bytes_total', help: 'Bytes of accepted messages', registers: [registry] });
  const acceptLatency = new Histogram({
    name: 'mesgw_smtp_accept_seconds',
    help: 'From the start of DATA to the 250 (stream, encrypt, commit)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const processed = new Histogram({
    name: 'mesgw_delivery_seconds',
    help: 'Processing time of one delivery by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const queues: Queue[] = [];
  new Gauge({
    name: 'mesgw_queue_jobs',
    help: 'Jobs in the delivery queue by state',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const q of queues) {
        const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed').catch(() => ({}) as Record<string, number>);
        for (const [state, n] of Object.entries(counts)) this.set({ queue: q.name, state }, n);
      }
    },
  });
  let whitelistGeneratedAt: (() => Date | null) | null = null;
  new Gauge({
    name: 'mesgw_whitelist_age_seconds',
    help: 'Age of the ANS whitelist in force, from its generation date (alert above LIMIT_WHITELIST_MAX_AGE_MS)',
    registers: [registry],
    collect() {
      const at = whitelistGeneratedAt?.();
      if (at) this.set(Math.max(0, (Date.now() - at.getTime()) / 1000));
    },
  });
  return {
    registry,
    watchWhitelist: (f) => {
      whitelistGeneratedAt = f;
    },
    smtpReply: (code, suffix) => replies.inc({ code: String(code), suffix }),
    smtpAccepted: (bytes, seconds) => {
      acceptedBytes.inc(bytes);
      acceptLatency.observe(seconds);
    },
    deliveryProcessed: (outcome, seconds) => processed.observe({ outcome }, seconds),
    watchQueue: (q) => queues.push(q),
  };
}
