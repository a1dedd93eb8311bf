// The merge behind « the professionals I know » (access/rules/known-professionals.ts): one entry per RPPS, the
// history's identity first, the latest sighting of either source, newest first, only well-formed RPPS, bounded.
import { describe, expect, it } from 'vitest';
import { mergeKnownProfessionals, type KnownProfessional } from '../../access/rules/known-professionals.js';

type Seen = Omit<KnownProfessional, 'source'>;
const seen = (rpps: string, displayName: string, lastSeenAt: string, more: Partial<Seen> = {}): Seen => ({
  rpps,
  displayName,
  profession: '10',
  organisation: null,
  finess: null,
  lastSeenAt,
  ...more,
});

describe('mergeKnownProfessionals', () => {
  it('keeps one entry per RPPS, the history identity winning, with the latest sighting of both sources', () => {
    const history = [
      seen('10000000001', 'Dr Alice (ancien nom)', '2025-01-01T10:00:00.000Z', { organisation: 'HOPITAL A' }),
      seen('10000000001', 'Dr Alice Martin', '2025-02-01T10:00:00.000Z', { organisation: 'HOPITAL A', finess: '750712184' }),
    ];
    const contacts = [seen('10000000001', 'MARTIN Alice (annuaire)', '2025-03-01T10:00:00.000Z', { profession: null })];
    expect(mergeKnownProfessionals(history, contacts, 10)).toEqual([
      {
        rpps: '10000000001',
        displayName: 'Dr Alice Martin',
        profession: '10',
        organisation: 'HOPITAL A',
        finess: '750712184',
        lastSeenAt: '2025-03-01T10:00:00.000Z',
        source: 'history',
      },
    ]);
  });

  it('keeps the history sighting when it is the later one', () => {
    const out = mergeKnownProfessionals([seen('10000000001', 'Dr A', '2025-05-01T00:00:00.000Z')], [seen('10000000001', 'A', '2025-01-01T00:00:00.000Z')], 10);
    expect(out.map((p) => [p.lastSeenAt, p.source])).toEqual([['2025-05-01T00:00:00.000Z', 'history']]);
  });

  it("lists a contact alone as 'contact', newest first, ties by RPPS", () => {
    const out = mergeKnownProfessionals(
      [seen('10000000003', 'Dr C', '2025-01-02T00:00:00.000Z'), seen('10000000002', 'Dr B', '2025-01-03T00:00:00.000Z')],
      [seen('10000000004', 'Dr D', '2025-01-03T00:00:00.000Z'), seen('10000000005', 'Dr E', '2025-01-01T00:00:00.000Z')],
      10,
    );
    expect(out.map((p) => `${p.rpps}:${p.source}`)).toEqual(['10000000002:history', '10000000004:contact', '10000000003:history', '10000000005:contact']);
  });

  it('drops entries whose RPPS is not 11 digits (nothing to block or choose by)', () => {
    const out = mergeKnownProfessionals(
      [seen('', 'Sans RPPS', '2025-01-01T00:00:00.000Z'), seen('1234', 'Court', '2025-01-01T00:00:00.000Z')],
      [seen('8100000000012', 'Identifiant national', '2025-01-01T00:00:00.000Z'), seen('1000000000a', 'Lettre', '2025-01-01T00:00:00.000Z')],
      10,
    );
    expect(out).toEqual([]);
  });

  it('returns at most `max` entries, the newest', () => {
    const many = Array.from({ length: 30 }, (_, i) => seen(String(10000000000 + i), `Dr ${i}`, new Date(Date.UTC(2025, 0, 1 + i)).toISOString()));
    const out = mergeKnownProfessionals(many, [], 5);
    expect(out.map((p) => p.displayName)).toEqual(['Dr 29', 'Dr 28', 'Dr 27', 'Dr 26', 'Dr 25']);
    expect(mergeKnownProfessionals(many, [], 0)).toEqual([]);
  });
});
