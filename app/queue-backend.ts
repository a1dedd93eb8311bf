/**
 * Where BullMQ keeps its jobs. REDIS_URL unset (the default) → BullMQ's PostgreSQL backend, in the schema
 * `bullmq` of the same PostgreSQL server as the data (embedded or DATABASE_URL); REDIS_URL set → that Redis
 * (ioredis), with REDIS_PREFIX as the key prefix. Same Queue/Worker API and one code path above this file.
 *
 * Guarantees, whichever the backend: the queue never holds the only copy of anything. Work is committed in
 * PostgreSQL first (deliveries, outbound messages, outbox rows) and the outbox relay turns it into jobs
 * (app/outbox-relay.ts); a job lost with its backend is enqueued again from those rows. So the PostgreSQL
 * backend's connections commit asynchronously (`synchronous_commit = off`): a server crash may forget the
 * last few hundred milliseconds of job transitions, which costs a re-run (deliveries are idempotent) or a
 * re-enqueue, never a message, and saves a WAL flush per job transition.
 */
import {
  Queue,
  Worker,
  withBackend,
  createPostgresBackend,
  runMigrations,
  type ConnectionOptions,
  type Processor,
  type QueueOptions,
  type WorkerOptions,
} from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import pg from 'pg';

export interface QueueBackend {
  kind: 'postgres' | 'redis';
  describe: string;
  queue<T>(name: string, opts: Omit<QueueOptions, 'connection' | 'prefix'>): Queue<T>;
  worker<T>(name: string, processor: Processor<T>, opts: Omit<WorkerOptions, 'connection' | 'prefix'>): Worker<T>;
  close(): Promise<void>;
}

export const BULLMQ_SCHEMA = 'bullmq';
/** Connections per BullMQ object (queue or worker) on PostgreSQL; a worker adds one LISTEN connection. */
const PG_POOL_PER_OBJECT = 4;

export function redisOptionsFromUrl(url: string): RedisOptions {
  const u = new URL(url);
  if (u.protocol === 'unix:' || u.protocol === 'redis+unix:') return { path: u.pathname };
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname && u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined,
    tls: u.protocol === 'rediss:' ? {} : undefined,
  };
}

async function pingRedis(opts: RedisOptions, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    const c = new Redis({ ...opts, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2_000 });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.ping();
      c.disconnect();
      return;
    } catch (err) {
      lastErr = err;
      c.disconnect();
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`Redis (REDIS_URL) did not answer within ${timeoutMs} ms: ${(lastErr as Error)?.message ?? 'unknown error'}`);
}

export async function openQueueBackend(opts: { redisUrl?: string; redisPrefix: string; databaseUrl: string }): Promise<QueueBackend> {
  const opened: { close(): Promise<unknown> }[] = [];
  const closeAll = async () => {
    await Promise.all(opened.map((o) => o.close().catch(() => {})));
  };
  if (opts.redisUrl) {
    // Workers block on a connection of their own; commands must not give up while Redis restarts.
    const connection: RedisOptions = { ...redisOptionsFromUrl(opts.redisUrl), maxRetriesPerRequest: null };
    await pingRedis(connection, 10_000);
    return {
      kind: 'redis',
      describe: 'redis (REDIS_URL)',
      queue: <T>(name: string, o: Omit<QueueOptions, 'connection' | 'prefix'>) => {
        const q = new Queue<T>(name, { ...o, connection: connection as ConnectionOptions, prefix: opts.redisPrefix });
        opened.push(q);
        return q;
      },
      worker: <T>(name: string, processor: Processor<T>, o: Omit<WorkerOptions, 'connection' | 'prefix'>) => {
        const w = new Worker<T>(name, processor, { ...o, connection: connection as ConnectionOptions, prefix: opts.redisPrefix });
        opened.push(w);
        return w;
      },
      close: closeAll,
    };
  }
  const pgConfig = {
    connectionString: opts.databaseUrl,
    schema: BULLMQ_SCHEMA,
    max: PG_POOL_PER_OBJECT,
    options: '-c synchronous_commit=off',
    keepAlive: true,
    skipMigrations: true,
  };
  // Migrations once, here (BullMQ serialises them with an advisory lock across processes).
  const client = new pg.Client({ connectionString: opts.databaseUrl });
  await client.connect();
  try {
    await runMigrations(client, BULLMQ_SCHEMA);
  } finally {
    await client.end();
  }
  const Pg = withBackend(createPostgresBackend);
  return {
    kind: 'postgres',
    describe: `postgresql (schema ${BULLMQ_SCHEMA})`,
    queue: <T>(name: string, o: Omit<QueueOptions, 'connection' | 'prefix'>) => {
      const q = new Pg.Queue<T>(name, { ...o, connection: pgConfig } as QueueOptions<typeof pgConfig>);
      opened.push(q);
      return q as unknown as Queue<T>;
    },
    worker: <T>(name: string, processor: Processor<T>, o: Omit<WorkerOptions, 'connection' | 'prefix'>) => {
      const w = new Pg.Worker<T>(name, processor as never, { ...o, connection: pgConfig } as WorkerOptions<typeof pgConfig>);
      opened.push(w);
      return w as unknown as Worker<T>;
    },
    close: closeAll,
  };
}
