// Listing cursors (db/keyset.ts): a round trip keeps the position to the microsecond,
// a cursor is bound to its list, and anything else decodes to null without throwing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, MAX_CURSOR_LENGTH, type CursorList, type KeysetPosition } from '../../db/index.js';

const LISTS: CursorList[] = ['messages', 'contacts', 'thread', 'documents'];
const list = fc.constantFrom(...LISTS);
/** What PostgreSQL's to_char(… 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') gives: always six fractional digits. */
const at = fc
  .tuple(fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), fc.integer({ min: 0, max: 999 }))
  .map(([d, us]) => `${d.toISOString().slice(0, 23)}${String(us).padStart(3, '0')}Z`);
const position = fc.record({ at, id: fc.uuid() });
const ID = '0b7f5a7e-3c1d-4e2f-9a8b-7c6d5e4f3a2b';
const forged = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('encodeCursor / decodeCursor', () => {
  it('gives back the exact position, microseconds included, for its own list', () => {
    fc.assert(
      fc.property(list, position, (l, pos) => {
        const c = encodeCursor(l, pos);
        expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(c.length).toBeLessThanOrEqual(MAX_CURSOR_LENGTH);
        expect(decodeCursor(l, c)).toEqual(pos);
      }),
    );
  });

  it('keeps positions that differ only by microseconds apart', () => {
    const a = encodeCursor('messages', { at: '2025-03-01T10:00:00.123456Z', id: ID });
    const b = encodeCursor('messages', { at: '2025-03-01T10:00:00.123000Z', id: ID });
    expect(a).not.toBe(b);
    expect(decodeCursor('messages', a)!.at).toBe('2025-03-01T10:00:00.123456Z');
  });

  it('refuses the cursor of another list', () => {
    fc.assert(
      fc.property(list, list, position, (made, used, pos) => {
        fc.pre(made !== used);
        expect(decodeCursor(used, encodeCursor(made, pos))).toBeNull();
      }),
    );
  });

  it.each<[string, unknown]>([
    ['empty', ''],
    ['not base64url', 'pas un curseur!'],
    ['not JSON', Buffer.from('{t:').toString('base64url')],
    ['a JSON array', forged(['contacts', '2025-03-01T10:00:00Z', ID])],
    ['JSON null', forged(null)],
    ['without its list', forged({ t: '2025-03-01T10:00:00Z', i: ID })],
    ['an id that is not a UUID', forged({ l: 'contacts', t: '2025-03-01T10:00:00Z', i: "x' OR '1'='1" })],
    ['an upper-case id', forged({ l: 'contacts', t: '2025-03-01T10:00:00Z', i: ID.toUpperCase() })],
    ['a number as time', forged({ l: 'contacts', t: 1740823200000, i: ID })],
    ['a time with an offset', forged({ l: 'contacts', t: '2025-03-01T10:00:00+01:00', i: ID })],
    ['a date only', forged({ l: 'contacts', t: '2025-03-01', i: ID })],
    ['30 February', forged({ l: 'contacts', t: '2025-02-30T10:00:00Z', i: ID })],
    ['24:00', forged({ l: 'contacts', t: '2025-03-01T24:00:00Z', i: ID })],
    ['year 0', forged({ l: 'contacts', t: '0000-01-01T00:00:00Z', i: ID })],
    ['nanoseconds', forged({ l: 'contacts', t: '2025-03-01T10:00:00.123456789Z', i: ID })],
    ['too long', 'A'.repeat(MAX_CURSOR_LENGTH + 1)],
    ['not a string', 42],
    ['undefined', undefined],
  ])('decodes %s to null', (_what, cursor) => {
    expect(decodeCursor('contacts', cursor)).toBeNull();
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(
        list,
        fc.oneof(
          fc.string(),
          fc.base64String(),
          fc.json().map((j) => Buffer.from(j).toString('base64url')),
        ),
        (l, s) => {
          const pos = decodeCursor(l, s);
          if (pos !== null) expect(encodeCursor(l, pos)).toBeTypeOf('string');
        },
      ),
    );
  });

  it('refuses to encode a position no query produces', () => {
    expect(() => encodeCursor('contacts', { at: 'hier', id: ID } as KeysetPosition)).toThrow();
    expect(() => encodeCursor('contacts', { at: '2025-03-01T10:00:00Z', id: 'x' })).toThrow();
    expect(() => encodeCursor('autre' as CursorList, { at: '2025-03-01T10:00:00Z', id: ID })).toThrow();
  });
});
