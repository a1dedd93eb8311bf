/**
 * Listing cursors (the mailbox's messages of a folder, contacts, one thread; a patient's documents): the one home
 * of their encoding, and of the two SQL fragments every keyset listing uses. A cursor is the keyset position of the last item of a page, a (timestamp, id) pair, so the next
 * page is a range query on an ordered key (never OFFSET) and the id breaks ties between items of the same
 * instant (a delivery batch files several messages with one transaction time).
 *
 * Guarantees:
 * - Opaque to clients: base64url of a small JSON object; nothing in it is health data (a time and a row id).
 * - The timestamp keeps PostgreSQL's microseconds (an ISO-8601 UTC string, not a JS Date, which would cut to
 *   milliseconds and make the tie-breaker miss rows of the same millisecond).
 * - Bound to its list: a contacts cursor is not a messages cursor. `decodeCursor` answers null for anything
 *   malformed, too long, of another list or with a field of the wrong shape; it never throws.
 *
 * `encodeCursor`/`decodeCursor` are pure (no I/O, no clock); `keysetAt` and `afterPosition` only build SQL.
 */
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';

export type CursorList = 'messages' | 'contacts' | 'thread' | 'documents';

export interface KeysetPosition {
  /** ISO-8601 UTC timestamp, `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` (up to microseconds, as PostgreSQL keeps them). */
  at: string;
  /** The row id (a UUID), the tie-breaker. */
  id: string;
}

/** Longest cursor accepted (the API's query schema also caps it); an encoded one is about 120 characters. */
export const MAX_CURSOR_LENGTH = 200;

const LISTS: ReadonlySet<string> = new Set<CursorList>(['messages', 'contacts', 'thread', 'documents']);
const TIMESTAMP = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** A real instant PostgreSQL reads back as written: no 30 February nor 24:00 (JS would roll them over), no year 0. */
function validTimestamp(at: unknown): at is string {
  if (typeof at !== 'string') return false;
  const m = TIMESTAMP.exec(at);
  if (!m || Number(m[1]) < 1970) return false;
  const ms = Date.parse(at);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 19) === at.slice(0, 19);
}

const validPosition = (p: { at: unknown; id: unknown }): p is KeysetPosition => validTimestamp(p.at) && typeof p.id === 'string' && UUID.test(p.id);

/** The cursor continuing `list` after `pos`. Throws on a position no query could have produced (a bug). */
export function encodeCursor(list: CursorList, pos: KeysetPosition): string {
  if (!LISTS.has(list) || !validPosition(pos)) throw new Error('encodeCursor: not a keyset position');
  return Buffer.from(JSON.stringify({ l: list, t: pos.at, i: pos.id })).toString('base64url');
}

/** The position a cursor of `list` stands for, or null when it is not one (malformed, or of another list). */
export function decodeCursor(list: CursorList, cursor: unknown): KeysetPosition | null {
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) return null;
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return null;
  const { l, t, i } = c as Record<string, unknown>;
  if (l !== list) return null;
  const pos = { at: t, id: i };
  return validPosition(pos) ? pos : null;
}

/** A timestamp column as the cursor keeps it: UTC text with PostgreSQL's microseconds (a JS Date would cut them). */
export const keysetAt = (col: AnyColumn) => sql<string>`to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Rows strictly after `pos` in the listing order (at, id), descending or ascending: one row comparison. */
export const afterPosition = (at: AnyColumn, id: AnyColumn, pos: KeysetPosition, order: 'desc' | 'asc'): SQL =>
  order === 'desc' ? sql`(${at}, ${id}) < (${pos.at}::timestamptz, ${pos.id}::uuid)` : sql`(${at}, ${id}) > (${pos.at}::timestamptz, ${pos.id}::uuid)`;
