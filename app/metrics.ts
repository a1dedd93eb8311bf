/**
 * Prometheus metrics of one process (GET /metrics on the status listener, or on the API with
 * API_EXPOSE=metrics). Labels carry reply codes, suffixes, queue names, states and outcomes only: never an
 * INS, address, subject or file name.
 *
 * Node's default metrics (process_*, nodejs_*) keep their standard names, so the usual dashboards work; the
 * project's own metrics are prefixed `mesgw_`:
 *   mesgw_smtp_replies_total{code,suffix}    SMTP replies to MAIL, RCPT and DATA
 *   mesgw_smtp_accepted_bytes_total, mesgw_smtp_accept_seconds
 *   mesgw_delivery_seconds{outcome}          inbound deliveries (filing) by outcome
 *   mesgw_queue_jobs{queue,state}            jobs in each BullMQ queue by state
 *   mesgw_queue_depth{queue}                 jobs waiting to run (waiting, prioritized, delayed)
 *   mesgw_relay_outcomes_total{outcome}      outbound attempts: sent, deferred (retried), failed (final), skipped
 *   mesgw_scanner_up                         1 when clamd answers PING, 0 when not (absent without CLAMD_ADDRESS)
 *   mesgw_scanner_scans_total{verdict}       clean, infected, error
 *   mesgw_whitelist_age_seconds              age of the ANS list in force, from its generation date
 *   mesgw_pro_jwks_age_seconds               since the identity provider's keys were last fetched successfully
 * Gauges are computed at scrape time; a queue or a scanner that does not answer is left out of that scrape (or
 * reported down) rather than failing it: a scrape never waits more than SCRAPE_PROBE_MS on a probe.
 */
import type { Queue } from 'bullmq';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { VirusScanner, type ScanVerdict, type VirusScannerConfig } from '../vault/index.js';

export type RelayOutcome = 'sent' | 'deferred' | 'failed' | 'skipped';

export interface GatewayMetrics {
  registry: Registry;
  smtpReply(code: number, suffix: string): void;
  smtpAccepted(bytes: number, seconds: number): void;
  deliveryProcessed(outcome: string, seconds: number): void;
  relayOutcome(outcome: RelayOutcome): void;
  watchQueue(queue: Queue): void;
  /** Reports the age of the whitelist in force (from its generation date) at each scrape. */
  watchWhitelist(generatedAt: () => Date | null): void;
  /** Reports the age of the identity provider's keys in force at each scrape. */
  watchProKeys(loadedAt: () => Date | null): void;
  /** Pings the scanner at each scrape (only a configured one). */
  watchScanner(scanner: VirusScanner): void;
  scanned(verdict: ScanVerdict['verdict']): void;
}

/** Longest wait for a probe (a queue count, a clamd PING) during one scrape. */
const SCRAPE_PROBE_MS = 2_000;
const WAITING_STATES = ['waiting', 'prioritized', 'delayed'] as const;
const STATES = [...WAITING_STATES, 'active', 'failed', 'completed'] as const;

const within = <T>(p: Promise<T>, fallback: T): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p.catch(() => fallback), new Promise<T>((r) => (timer = setTimeout(() => r(fallback), SCRAPE_PROBE_MS)))]).finally(() =>
    clearTimeout(timer),
  );
};

const ageSeconds = (at: Date | null | undefined) => (at ? Math.max(0, (Date.now() - at.getTime()) / 1000) : null);

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
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
  const relay = new Counter({
    name: 'mesgw_relay_outcomes_total',
    help: 'Outbound relay attempts by outcome: sent, deferred (retried on the schedule), failed (final: refused or schedule exhausted), skipped (nothing left to send)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  for (const outcome of ['sent', 'deferred', 'failed', 'skipped'] as const) relay.inc({ outcome }, 0);
  const scans = new Counter({ name: 'mesgw_scanner_scans_total', help: 'Virus scans by verdict', labelNames: ['verdict'] as const, registers: [registry] });
  const queues: Queue[] = [];
  registerQueueGauges(registry, queues);
  const probes = registerAgeAndScannerGauges(registry);
  return {
    registry,
    watchWhitelist: (f) => (probes.whitelistGeneratedAt = f),
    watchProKeys: (f) => (probes.proKeysLoadedAt = f),
    watchScanner: (s) => {
      if (s.enabled) probes.scanner = s;
    },
    smtpReply: (code, suffix) => replies.inc({ code: String(code), suffix }),
    smtpAccepted: (bytes, seconds) => {
      acceptedBytes.inc(bytes);
      acceptLatency.observe(seconds);
    },
    deliveryProcessed: (outcome, seconds) => processed.observe({ outcome }, seconds),
    relayOutcome: (outcome) => relay.inc({ outcome }),
    scanned: (verdict) => {
      if (verdict !== 'not-scanned') scans.inc({ verdict });
    },
    watchQueue: (q) => queues.push(q),
  };
}

function registerQueueGauges(registry: Registry, queues: Queue[]): void {
  // One count per queue per scrape, shared by both gauges (the depth is collected first, then the states).
  let counts: Promise<Map<string, Record<string, number>>> | null = null;
  const countAll = () =>
    (counts ??= Promise.all(queues.map(async (q) => [q.name, await within(q.getJobCounts(...STATES), null)] as const))
      .then((all) => new Map(all.filter((e): e is readonly [string, Record<string, number>] => e[1] !== null)))
      .finally(() => setImmediate(() => (counts = null))));
  new Gauge({
    name: 'mesgw_queue_depth',
    help: 'Jobs waiting to run in each BullMQ queue (waiting, prioritized, delayed)',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const [queue, c] of await countAll())
        this.set(
          { queue },
          WAITING_STATES.reduce((n, s) => n + (c[s] ?? 0), 0),
        );
    },
  });
  new Gauge({
    name: 'mesgw_queue_jobs',
    help: 'Jobs in each BullMQ queue by state',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const [queue, c] of await countAll()) for (const [state, n] of Object.entries(c)) this.set({ queue, state }, n);
    },
  });
}

function registerAgeAndScannerGauges(registry: Registry) {
  const probes: { whitelistGeneratedAt: (() => Date | null) | null; proKeysLoadedAt: (() => Date | null) | null; scanner: VirusScanner | null } = {
    whitelistGeneratedAt: null,
    proKeysLoadedAt: null,
    scanner: null,
  };
  new Gauge({
    name: 'mesgw_whitelist_age_seconds',
    help: 'Age of the ANS whitelist in force, from its generation date (alert above LIMIT_WHITELIST_MAX_AGE_MS)',
    registers: [registry],
    collect() {
      const age = ageSeconds(probes.whitelistGeneratedAt?.());
      if (age !== null) this.set(age);
    },
  });
  new Gauge({
    name: 'mesgw_pro_jwks_age_seconds',
    help: "Time since the professional identity provider's keys were last fetched successfully (refreshed every LIMIT_PRO_JWKS_REFRESH_MS)",
    registers: [registry],
    collect() {
      const age = ageSeconds(probes.proKeysLoadedAt?.());
      if (age !== null) this.set(age);
    },
  });
  new Gauge({
    name: 'mesgw_scanner_up',
    help: 'Whether the ClamAV daemon answers PING (1) or not (0); absent when no scanner is configured',
    registers: [registry],
    async collect() {
      this.reset();
      if (probes.scanner) this.set((await within(probes.scanner.ping(), { ok: false as const, reason: 'timeout' })).ok ? 1 : 0);
    },
  });
  return probes;
}

/** A VirusScanner whose every verdict is counted (mesgw_scanner_scans_total); the vault sees the same class. */
export class MeasuredScanner extends VirusScanner {
  readonly #onVerdict: (verdict: ScanVerdict['verdict']) => void;

  constructor(config: VirusScannerConfig | null, onVerdict: (verdict: ScanVerdict['verdict']) => void) {
    super(config);
    this.#onVerdict = onVerdict;
  }

  override scan(input: Buffer | AsyncIterable<Buffer>): Promise<ScanVerdict> {
    return super.scan(input).then((v) => {
      this.#onVerdict(v.verdict);
      return v;
    });
  }
}
