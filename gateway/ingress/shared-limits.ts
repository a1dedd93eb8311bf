/**
 * SMTP limits that must hold across every gateway process sharing one database (ROLES scale-out): open
 * sessions per peer certificate, and messages per minute per sending domain.
 *
 * Guarantees:
 * - Sessions per certificate are counted exactly: each process keeps its own count per certificate in
 *   `cert_connections` and a new session is admitted by one statement that adds it and sums the counts of
 *   every live process; over the limit, it is taken back and the session refused (421). A process that dies
 *   (kill -9) stops heartbeating and its counts stop counting after `LEASE_MS`; the next live process deletes
 *   its rows.
 * - Messages per domain are counted in one-minute buckets in `rate_counters`. Each process counts locally and
 *   flushes its counts every `FLUSH_MS`, learning in the same statement the totals of every process for each
 *   domain it saw this minute, so a MAIL FROM costs no round trip; the limit can be exceeded by at most what
 *   the processes accept between two flushes (half a second of traffic).
 * - The database being unavailable never refuses mail on its own: the session check falls back to this
 *   process's count (and logs it), the rate falls back to the last totals known.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { type Db, rowsOf } from '../../db/index.js';

const LEASE_MS = 15_000;
const HEARTBEAT_MS = 3_000;
const FLUSH_MS = 500;
const MINUTE = 60_000;

export class SharedLimits {
  readonly processId = `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString('hex')}`;
  private readonly local = new Map<string, number>(); // domain -> count of the current minute not yet flushed
  private readonly totals = new Map<string, number>(); // domain -> every process's count of the current minute
  private readonly ownSessions = new Map<string, number>();
  private bucket = Math.floor(Date.now() / MINUTE);
  private timers: NodeJS.Timeout[] = [];
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly opts: { perMinutePerDomain: number; maxPerCertificate: number; roles: string; logger: Logger },
  ) {}

  async start(): Promise<void> {
    await this.heartbeat();
    this.timers.push(
      setInterval(() => void this.heartbeat(), HEARTBEAT_MS),
      setInterval(() => void this.flush(), FLUSH_MS),
    );
    for (const t of this.timers) t.unref();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.flush();
    await this.db.execute(sql`DELETE FROM gateway_processes WHERE id = ${this.processId}`).catch(() => {});
  }

  private async heartbeat(): Promise<void> {
    try {
      const [r] = rowsOf<{ inserted: boolean }>(
        await this.db
          .execute(sql`WITH me AS (INSERT INTO gateway_processes (id, roles, host, pid) VALUES (${this.processId}, ${this.opts.roles}, ${os.hostname()}, ${process.pid})
                                              ON CONFLICT (id) DO UPDATE SET heartbeat_at = now() RETURNING (xmax = 0) AS inserted),
                                       dead AS (DELETE FROM gateway_processes WHERE id <> ${this.processId} AND heartbeat_at < now() - make_interval(secs => ${LEASE_MS / 1000})),
                                       gc AS (DELETE FROM rate_counters WHERE bucket < ${Math.floor(Date.now() / MINUTE) - 2})
                                  SELECT inserted FROM me`),
      );
      // (Re)registered (first beat, or after being taken for dead): record the sessions this process holds.
      if (r?.inserted) for (const [fp, n] of this.ownSessions) await this.setSessions(fp, n);
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'shared limits: heartbeat failed');
    }
  }

  private async setSessions(fp: string, n: number): Promise<void> {
    await this.db.execute(sql`INSERT INTO cert_connections (process_id, fingerprint, n) VALUES (${this.processId}, ${fp}, ${n})
                              ON CONFLICT (process_id, fingerprint) DO UPDATE SET n = excluded.n`);
  }

  /** Admits a new session of `fingerprint`, or returns false (the caller refuses it and must not call `closeSession`). */
  async openSession(fingerprint: string): Promise<boolean> {
    const mine = (this.ownSessions.get(fingerprint) ?? 0) + 1;
    this.ownSessions.set(fingerprint, mine);
    let total = mine;
    try {
      const [r] = rowsOf<{ total: number }>(
        await this.db.execute(sql`WITH up AS (INSERT INTO cert_connections (process_id, fingerprint, n) VALUES (${this.processId}, ${fingerprint}, ${mine})
                                              ON CONFLICT (process_id, fingerprint) DO UPDATE SET n = excluded.n)
                                  SELECT ${mine}::int + coalesce(sum(c.n), 0)::int AS total FROM cert_connections c
                                    JOIN gateway_processes p ON p.id = c.process_id
                                   WHERE c.fingerprint = ${fingerprint} AND c.process_id <> ${this.processId}
                                     AND p.heartbeat_at > now() - make_interval(secs => ${LEASE_MS / 1000})`),
      );
      total = Number(r?.total ?? mine);
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'shared limits: session count unavailable; using this process only');
    }
    if (total > this.opts.maxPerCertificate) {
      await this.closeSession(fingerprint);
      return false;
    }
    return true;
  }

  async closeSession(fingerprint: string): Promise<void> {
    const n = Math.max(0, (this.ownSessions.get(fingerprint) ?? 1) - 1);
    if (n === 0) this.ownSessions.delete(fingerprint);
    else this.ownSessions.set(fingerprint, n);
    await this.setSessions(fingerprint, n).catch((err: Error) => this.opts.logger.warn({ err: err.message }, 'shared limits: session close not recorded'));
  }

  /** Counts one message for `key` (a sending domain) in the current minute, unless it is over the limit. */
  allowMessage(key: string): boolean {
    this.roll();
    const seen = (this.totals.get(key) ?? 0) + (this.local.get(key) ?? 0);
    if (seen >= this.opts.perMinutePerDomain) return false;
    this.local.set(key, (this.local.get(key) ?? 0) + 1);
    return true;
  }

  private roll(): void {
    const now = Math.floor(Date.now() / MINUTE);
    if (now !== this.bucket) {
      this.bucket = now;
      this.local.clear();
      this.totals.clear();
    }
  }

  /** Sends this process's counts, and learns every process's totals for the same domains. */
  flush(): Promise<void> {
    this.flushing ??= this.flushOnce().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    this.roll();
    // This process's new counts, and a zero for every other key seen this minute, to learn their totals.
    const keys = new Set([...this.local.keys(), ...this.totals.keys()]);
    if (keys.size === 0) return;
    const bucket = this.bucket;
    const sent: [string, number][] = [...keys].map((k) => [k, this.local.get(k) ?? 0]);
    for (const [k, n] of sent) this.local.set(k, (this.local.get(k) ?? 0) - n);
    try {
      const rows = rowsOf<{ key: string; n: number }>(
        await this.db.execute(sql`INSERT INTO rate_counters (key, bucket, n)
                                  SELECT k, ${bucket}::bigint, n FROM unnest(${sql.param(sent.map(([k]) => k))}::text[], ${sql.param(sent.map(([, n]) => n))}::int[]) AS v(k, n)
                                  ON CONFLICT (key, bucket) DO UPDATE SET n = rate_counters.n + excluded.n RETURNING key, n`),
      );
      if (bucket === this.bucket) for (const r of rows) this.totals.set(r.key, Number(r.n));
    } catch (err) {
      if (bucket === this.bucket) for (const [k, n] of sent) this.local.set(k, (this.local.get(k) ?? 0) + n); // retried next time
      this.opts.logger.warn({ err: (err as Error).message }, 'shared limits: rate counts not flushed');
    }
    for (const [k, n] of this.local) if (n === 0) this.local.delete(k);
  }
}
