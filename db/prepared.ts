/**
 * Hot-path statements as named prepared statements: PostgreSQL parses and plans each distinct statement text
 * once per connection instead of at every call (planning the accept and delivery statements cost as much as
 * running them). The name is derived from the text, so every call site stays a plain Drizzle `sql` template;
 * the number of distinct texts is bounded by the shapes the callers build (chunk and attachment counts), and
 * past `MAX_NAMED` texts a statement simply runs unnamed. Results are node-postgres rows.
 */
import crypto from 'node:crypto';
import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type pg from 'pg';
import type { Db } from './connection.js';

const dialect = new PgDialect();
const names = new Map<string, string>();
const MAX_NAMED = 100; // each is kept by every connection of the pool, in this process and in PostgreSQL

function nameFor(text: string): string | undefined {
  let name = names.get(text);
  if (!name && names.size < MAX_NAMED) {
    name = `q${crypto.createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    names.set(text, name);
  }
  return name;
}

export function poolOf(db: Db): pg.Pool {
  return (db as unknown as { $client: pg.Pool }).$client;
}

/** Runs `query` as a prepared statement on the database's pool; returns its rows. */
export async function executePrepared<T>(db: Db, query: SQL): Promise<T[]> {
  const { sql: text, params } = dialect.sqlToQuery(query);
  const r = await poolOf(db).query({ name: nameFor(text), text, values: params });
  return r.rows as T[];
}

/** Runs a fixed SQL text as a prepared statement on `pool`. */
export async function queryPrepared<T>(pool: pg.Pool, text: string, values: unknown[]): Promise<T[]> {
  const r = await pool.query({ name: nameFor(text), text, values });
  return r.rows as T[];
}
