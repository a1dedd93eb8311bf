/**
 * Opens the system of record and applies migrations.
 *
 * DATABASE_URL set → that PostgreSQL server. Unset → the private PostgreSQL 15 server of $DATA_DIR
 * (db/embedded-postgres.ts), started or reused. Either way the same `pg` driver, schema and migrations.
 * Migrations run at open, serialised by an advisory lock so several gateway processes can start together.
 * `close()` ends the pool, then stops the embedded server when this process owns it.
 */
import path from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { PROJECT_ROOT } from '../config/index.js';
import { ensureEmbeddedPostgres, type EmbeddedServer } from './embedded-postgres.js';
import * as schema from './schema.js';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** The rows of a `db.execute` result, whichever shape the driver gives (node-postgres: `{ rows }`). */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

export interface Database {
  db: Db;
  /** The same server's pool, for the few hot paths that speak node-postgres directly (binary reads). */
  pool: pg.Pool;
  /**
   * A second pool whose commits are asynchronous (`synchronous_commit = off`), for writes that only become
   * meaningful once a later synchronous commit references them (streamed blob chunks): they are then flushed
   * with it, and cost no WAL flush of their own.
   */
  writePool: pg.Pool;
  /** The connection string (the embedded server's socket when DATABASE_URL is unset). */
  url: string;
  kind: 'external' | 'embedded';
  embedded: EmbeddedServer | null;
  close(): Promise<void>;
}

const MIGRATIONS = path.join(PROJECT_ROOT, 'db', 'migrations');
const MIGRATION_LOCK_KEY = 7_264_201_501; // arbitrary, constant: serialises migrations across processes

/** A pool that never crashes the process on an idle client's error (the pool replaces it). */
export function createPool(url: string, opts: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, ...opts });
  pool.on('error', () => {
    /* an idle client lost its connection: the pool replaces it; queries report their own errors */
  });
  return pool;
}

export async function openDatabase(opts: { databaseUrl?: string; dataDir: string; poolSize?: number; embeddedUser?: string }): Promise<Database> {
  const embedded = opts.databaseUrl ? null : await ensureEmbeddedPostgres(opts.dataDir, { user: opts.embeddedUser });
  const url = opts.databaseUrl ?? embedded!.url;
  // Hot statements are prepared (db/prepared.ts) and keyed by primary keys: plan them once, not five times, per connection.
  const pool = createPool(url, { max: opts.poolSize ?? 20, options: '-c plan_cache_mode=force_generic_plan' });
  try {
    const client = await pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      try {
        await migrate(drizzle(client, { schema }), { migrationsFolder: MIGRATIONS });
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      }
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => {});
    await embedded?.stop();
    throw err;
  }
  const db = drizzle(pool, { schema }) as unknown as Db;
  const writePool = createPool(url, { max: Math.max(2, Math.ceil((opts.poolSize ?? 20) / 2)), options: '-c synchronous_commit=off' });
  let closed: Promise<void> | null = null;
  return {
    db,
    pool,
    writePool,
    url,
    kind: embedded ? 'embedded' : 'external',
    embedded,
    close: () =>
      (closed ??= (async () => {
        // A server that stopped answering leaves pool.end() waiting for its queries: bounded, then the
        // embedded server is stopped anyway.
        await Promise.race([Promise.all([pool.end(), writePool.end()]).catch(() => {}), new Promise((r) => setTimeout(r, 2_000).unref())]);
        await embedded?.stop();
      })()),
  };
}
