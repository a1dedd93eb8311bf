// One statement of data-modifying CTEs (db/cte.ts): the names are written by the helper, in order, with the
// parameters kept in place; a name given twice or not a plain identifier is refused before any SQL is built.
import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { cteStatement, CteNameClash, type Cte } from '../../db/index.js';
import { inlineBlobCtes } from '../../vault/index.js';

const render = (q: ReturnType<typeof cteStatement>) => new PgDialect().sqlToQuery(q);

describe('cteStatement', () => {
  it('writes each CTE as "name AS (body)", in order, then the final query, parameters in place', () => {
    const q = render(
      cteStatement(
        [
          ['doc', sql`INSERT INTO documents (id) VALUES (${'d1'}) RETURNING id`],
          ['ae', sql`INSERT INTO activity_events (document_id) SELECT id FROM doc WHERE ${'x'} = ${'x'}`],
        ],
        sql`SELECT count(*) FROM doc`,
      ),
    );
    expect(q.sql).toBe(
      'WITH doc AS (INSERT INTO documents (id) VALUES ($1) RETURNING id), ae AS (INSERT INTO activity_events (document_id) SELECT id FROM doc WHERE $2 = $3) SELECT count(*) FROM doc',
    );
    expect(q.params).toEqual(['d1', 'x', 'x']);
  });

  it('refuses two parts that chose the same name, whoever gave them', () => {
    const fileDocumentOwn: Cte[] = [['doc', sql`SELECT 1`]];
    const callersExtra: Cte[] = [
      ['ae', sql`SELECT 2`],
      ['doc', sql`SELECT 3`],
    ];
    expect(() => cteStatement([...fileDocumentOwn, ...callersExtra], sql`SELECT 1`)).toThrow(CteNameClash);
    expect(() => cteStatement([...fileDocumentOwn, ...callersExtra], sql`SELECT 1`)).toThrow('"doc"');
  });

  it('refuses a clash with the CTEs of an inline blob', () => {
    const blob = inlineBlobCtes(
      {
        blob: { id: '00000000-0000-4000-8000-000000000000', purpose: 'p', wrappedKey: Buffer.alloc(1), keyId: 'k', size: 1, sha256: 'h' },
        chunks: [Buffer.alloc(1)],
      },
      'u',
    );
    expect(blob.map(([name]) => name)).toEqual(['ub', 'uc']);
    expect(() => cteStatement([...blob, ['ub', sql`SELECT 1`]], sql`SELECT 1`)).toThrow(CteNameClash);
  });

  it.each(['', 'Doc', '1a', 'a-b', 'a b', 'x); DROP TABLE patients; --', 'a'.repeat(64)])('refuses the name %j', (name) => {
    expect(() => cteStatement([[name, sql`SELECT 1`]], sql`SELECT 1`)).toThrow(RangeError);
  });

  it('accepts the prefixed names of batched statements', () => {
    expect(() =>
      cteStatement(
        [
          ['m0_ok', sql`SELECT 1`],
          ['x12_d3', sql`SELECT 1`],
          ['_a', sql`SELECT 1`],
        ],
        sql`SELECT 1`,
      ),
    ).not.toThrow();
  });

  it('needs at least one CTE', () => {
    expect(() => cteStatement([], sql`SELECT 1`)).toThrow(RangeError);
  });
});
