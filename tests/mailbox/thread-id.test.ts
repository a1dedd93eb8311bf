// A thread is found in SQL by its public id: the SQL expression must compute exactly what threadIdOf computes.
import fc from 'fast-check';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../db/index.js';
import { threadIdOf, threadIdSql } from '../../mailbox/read.js';
import { createTestDatabase } from '../support/harness.js';

let database: Database;
beforeAll(async () => {
  database = await openDatabase({ databaseUrl: await createTestDatabase(), dataDir: '/nonexistent' });
});
afterAll(async () => {
  await database?.close();
});

describe('thread ids', () => {
  it('are the same in PostgreSQL and in TypeScript, for any key', async () => {
    const keys = fc.sample(
      fc
        .oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 100 }), fc.constant('<abc@hopital-a.mssante.fr>'))
        .filter((k) => !k.includes('\u0000')),
      200,
    ); // PostgreSQL text holds no NUL
    const res = (await database.db.execute(sql`SELECT k, ${threadIdSql(sql`k`)} AS id FROM unnest(${sql.param(keys)}::text[]) AS k`)) as unknown as {
      rows: { k: string; id: string }[];
    };
    const rows = Array.isArray(res) ? (res as { k: string; id: string }[]) : res.rows;
    expect(rows).toHaveLength(keys.length);
    for (const r of rows) expect(r.id).toBe(threadIdOf(r.k));
  });
});
