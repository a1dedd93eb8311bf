// The reveal date of a hidden document (access/rules/reveal.ts): what an author's software may send, and when it
// means the document becomes visible.
import { describe, expect, it } from 'vitest';
import { revealDate } from '../../access/rules/reveal.js';

const NOW = new Date('2026-12-01T10:00:00Z');
const YEAR = 365 * 24 * 3600_000;
const at = (raw: string) => {
  const r = revealDate(raw, NOW, YEAR);
  return r.ok ? r.at.toISOString() : r.reason;
};

describe('revealDate', () => {
  it.each([
    ['a date-time in UTC', '2026-12-15T09:30:00Z', '2026-12-15T09:30:00.000Z'],
    ['with an offset', '2026-12-15T09:30:00+01:00', '2026-12-15T08:30:00.000Z'],
    ['without seconds', '2026-12-15T09:30Z', '2026-12-15T09:30:00.000Z'],
    ['with microseconds', '2026-12-15T09:30:00.123456Z', '2026-12-15T09:30:00.123Z'],
    ['a winter day: 08:00 in Paris is 07:00 UTC', '2027-01-15', '2027-01-15T07:00:00.000Z'],
    ['a summer day: 08:00 in Paris is 06:00 UTC', '2027-07-15', '2027-07-15T06:00:00.000Z'],
    ['the day summer time starts', '2027-03-28', '2027-03-28T06:00:00.000Z'],
    ['the day summer time ends', '2027-10-31', '2027-10-31T07:00:00.000Z'],
    ['spaces around', ' 2026-12-15T09:30:00Z ', '2026-12-15T09:30:00.000Z'],
    ['within the minute of clock difference', '2026-12-01T09:59:30Z', '2026-12-01T09:59:30.000Z'],
    ['no time zone: refused rather than guessed', '2026-12-15T09:30:00', 'invalid'],
    ['30 February', '2027-02-30', 'invalid'],
    ['month 13', '2027-13-01T08:00:00Z', 'invalid'],
    ['25 h', '2027-01-01T25:00:00Z', 'invalid'],
    ['words', 'demain', 'invalid'],
    ['empty', '', 'invalid'],
    ['an epoch number', '1796200000000', 'invalid'],
    ['a minute and more ago', '2026-12-01T09:58:00Z', 'past'],
    ['yesterday', '2026-11-30', 'past'],
    ['a year ahead, to the day', '2027-12-01T10:00:00Z', '2027-12-01T10:00:00.000Z'],
    ['more than a year ahead', '2027-12-02', 'too-far'],
    ['a typo in the year', '2062-01-15', 'too-far'],
  ])('%s', (_name, raw, expected) => {
    expect(at(raw)).toBe(expected);
  });
});
