/**
 * One SQL statement made of data-modifying CTEs (`WITH a AS (...), b AS (...) SELECT ...`), composed from parts
 * that different callers give: the one home of their naming.
 *
 * Guarantees:
 * - Every CTE is a `[name, body]` pair and its name is written by this module only, so a caller's part cannot
 *   shadow another's: a name given twice, or a name that is not a plain lower-case SQL identifier, throws
 *   `CteNameClash` / `RangeError` before anything reaches the database (a clash used to be a silent rename
 *   rule in a comment: "must not be named o, ob, sc, rb or rc").
 * - Pure: no I/O; the statement is only built, the caller runs it. The same parts always build the same
 *   text, so prepared-statement caches (db/prepared.ts) keep keying on it.
 */
import { sql, type SQL } from 'drizzle-orm';

/** One CTE: its name (referenced by later CTEs and the final SELECT) and its body (without the parentheses). */
export type Cte = readonly [name: string, body: SQL];

/** Two parts of one statement chose the same CTE name. */
export class CteNameClash extends Error {
  constructor(readonly cteName: string) {
    super(`CTE name "${cteName}" is used twice in one statement`);
    this.name = 'CteNameClash';
  }
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** The names of `ctes`, in order; throws on a malformed or repeated one. */
export function cteNames(ctes: readonly Cte[]): string[] {
  const seen = new Set<string>();
  for (const [name] of ctes) {
    if (!IDENTIFIER.test(name)) throw new RangeError(`CTE name "${name}" is not a lower-case SQL identifier`);
    if (seen.has(name)) throw new CteNameClash(name);
    seen.add(name);
  }
  return [...seen];
}

/** `WITH <name> AS (<body>), ... <final>`: the CTEs in order, then the statement's final query. */
export function cteStatement(ctes: readonly Cte[], final: SQL): SQL {
  if (ctes.length === 0) throw new RangeError('a CTE statement needs at least one CTE');
  cteNames(ctes);
  return sql`WITH ${sql.join(
    ctes.map(([name, body]) => sql`${sql.raw(name)} AS (${body})`),
    sql`, `,
  )} ${final}`;
}
