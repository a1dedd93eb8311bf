// When a document hidden from the patient (SPEC §5: until the announcement consultation) becomes visible by
// itself: the date its author chose, as a pure function of what the author sent and the current time.
//
// Decisions:
// - An ISO 8601 date-time with its offset (`2027-01-15T09:00:00+01:00`, or `Z`), or a plain date
//   (`2027-01-15`), which means that day at 08:00 Paris time, when a patient is likely to read the notice rather
//   than at midnight. Anything else is 'invalid', never guessed.
// - Not in the past beyond a minute of clock difference ('past'): a date already gone is a mistake of the
//   sender's software, and revealing at once would skip the consultation it was meant to wait for.
// - At most `maxAheadMs` ahead ('too-far', LIMIT_MAX_REVEAL_DELAY_MS): a document must not stay hidden for years
//   by a typo in the year.

export type RevealDateRefusal = 'invalid' | 'past' | 'too-far';

export type RevealDate = { ok: true; at: Date } | { ok: false; reason: RevealDateRefusal };

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const CLOCK_SKEW_MS = 60_000;

const PARIS_HOUR = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', hourCycle: 'h23' });

/** 08:00 in Paris on that calendar day (the offset read from the time-zone database: +1 h in winter, +2 h in summer). */
function eightInParis(y: number, m: number, d: number): Date {
  const guess = new Date(Date.UTC(y, m - 1, d, 8));
  const offsetHours = Number(PARIS_HOUR.format(guess)) - 8;
  return new Date(guess.getTime() - offsetHours * 3600_000);
}

/** A real calendar day (no 30 February: JS would roll it over). */
const realDay = (y: number, m: number, d: number) => m >= 1 && m <= 12 && new Date(Date.UTC(y, m - 1, d)).getUTCDate() === d;

/** The reveal date the author asked for, checked against `now`. */
export function revealDate(raw: string, now: Date, maxAheadMs: number): RevealDate {
  const text = raw.trim();
  let at: Date | null = null;
  const full = DATE_TIME.exec(text);
  const day = DATE_ONLY.exec(text);
  if (full) {
    const [, y, mo, d, h, mi] = full.map(Number) as number[];
    const t = Date.parse(text);
    if (!Number.isNaN(t) && realDay(y!, mo!, d!) && h! <= 23 && mi! <= 59) at = new Date(t);
  } else if (day) {
    const [y, m, d] = [Number(day[1]), Number(day[2]), Number(day[3])];
    if (realDay(y, m, d)) at = eightInParis(y, m, d);
  }
  if (!at) return { ok: false, reason: 'invalid' };
  if (at.getTime() < now.getTime() - CLOCK_SKEW_MS) return { ok: false, reason: 'past' };
  if (at.getTime() > now.getTime() + maxAheadMs) return { ok: false, reason: 'too-far' };
  return { ok: true, at };
}
