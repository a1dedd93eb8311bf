/**
 * Opens the system of record and applies migrations.
 *
 * DATABASE_URL set → PostgreSQL through a `pg` pool. Unset → embedded PGlite in $DATA_DIR/pg, guarded by a
 * lock file of our own ($DATA_DIR/pg.lock, created with O_EXCL and holding our pid) because PGlite takes no
 * lock and two processes on one directory corrupt it. A second process fails with DatabaseLockedError; a lock
 * left by a dead process (kill -9) is taken over. Migrations run at open, serialised by an advisory lock on
 * PostgreSQL so that several gateway processes can start together.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import * as schema from './schema.js';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

export class DatabaseLockedError extends Error {
  constructor(
    readonly lockFile: string,
    readonly pid: number,
  ) {
    super(
      `The embedded database is in use by process ${pid} (lock ${lockFile}). ` +
        'Only one process may open PGlite: stop the other gateway, or run CLI commands while it runs (they go through its API).',
    );
    this.name = 'DatabaseLockedError';
  }
}

const MIGRATIONS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
const MIGRATION_LOCK_KEY = 7_264_201_501; // arbitrary, constant: serialises migrations across processes

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the PGlite lock file, or throws DatabaseLockedError if a live process holds it. */
export async function acquireLock(lockFile: string): Promise<() => Promise<void>> {
  await fs.mkdir(path.dirname(lockFile), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await fs.open(lockFile, 'wx', 0o600);
      await fh.writeFile(`${process.pid}\n`);
      await fh.sync();
      await fh.close();
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        await fs.rm(lockFile, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt((await fs.readFile(lockFile, 'utf8').catch(() => '')).trim(), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new DatabaseLockedError(lockFile, pid);
      }
      // Stale (its owner died) or unreadable (crash while writing it): take it over.
      await fs.rm(lockFile, { force: true });
    }
  }
  throw new Error(`Could not take the database lock ${lockFile}`);
}

/** Reads whether a live process holds the PGlite lock of a data dir (used by the CLI to route through the API). */
export async function lockHolder(lockFile: string): Promise<number | null> {
  const pid = Number.parseInt((await fs.readFile(lockFile, 'utf8').catch(() => '')).trim(), 10);
  return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : null;
}

export function pgliteLockFile(dataDir: string): string {
  return path.join(dataDir, 'pg.lock');
}

export async function openDatabase(opts: { databaseUrl?: string; dataDir: string; poolSize?: number }): Promise<Database> {
  if (opts.databaseUrl) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 20 });
    pool.on('error', () => {
      /* an idle client lost its connection: the pool replaces it; queries report their own errors */
    });
    const client = await pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      try {
        await migratePg(drizzlePg(client, { schema }), { migrationsFolder: MIGRATIONS });
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      }
    } finally {
      client.release();
    }
    const db = drizzlePg(pool, { schema }) as unknown as Db;
    return { db, kind: 'postgres', close: () => pool.end() };
  }

  const release = await acquireLock(pgliteLockFile(opts.dataDir));
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const dir = path.join(opts.dataDir, 'pg');
    await fs.mkdir(dir, { recursive: true });
    const client = await PGlite.create(dir);
    const pdb = drizzlePglite(client, { schema });
    await migratePglite(pdb, { migrationsFolder: MIGRATIONS });
    let closed = false;
    return {
      db: pdb as unknown as Db,
      kind: 'pglite',
      close: async () => {
        if (closed) return;
        closed = true;
        try {
          await client.close();
        } finally {
          await release();
        }
      },
    };
  } catch (err) {
    await release();
    throw err;
  }
}
