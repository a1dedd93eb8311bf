// config/retry.ts: both retry schedules as data, bounded by SPEC's 48 h, read by one parser that names the
// variable of the schedule it reads.
import { loadConfig } from '../../config/index.js';
import { describe, expect, it } from 'vitest';
import { parseRetrySchedule, RETRY_SCHEDULES, scheduleSpan, type RetryScheduleName } from '../../config/retry.js';

const H = 3_600_000;

describe('RETRY_SCHEDULES', () => {
  it('inbound: 20 attempts, quick at first, its DSN well within 48 h', () => {
    const s = RETRY_SCHEDULES.inbound.delaysMs;
    expect(s.length).toBe(19);
    expect(s.slice(0, 3)).toEqual([1_000, 5_000, 30_000]);
    expect(scheduleSpan(s)).toBeGreaterThan(40 * H);
    expect(scheduleSpan(s)).toBeLessThan(48 * H);
  });

  it('relay: at least 48 h before the patient is told', () => {
    expect(scheduleSpan(RETRY_SCHEDULES.relay.delaysMs)).toBeGreaterThanOrEqual(48 * H);
  });

  it.each(Object.keys(RETRY_SCHEDULES) as RetryScheduleName[])('%s is frozen, never shrinks to nothing, and says why', (name) => {
    const s = RETRY_SCHEDULES[name];
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.delaysMs)).toBe(true);
    expect(s.delaysMs.every((d) => Number.isSafeInteger(d) && d > 0)).toBe(true);
    expect(s.delaysMs).toEqual([...s.delaysMs].sort((a, b) => a - b));
    expect(s.why.length).toBeGreaterThan(40);
  });
});

describe('parseRetrySchedule', () => {
  it.each(Object.keys(RETRY_SCHEDULES) as RetryScheduleName[])('%s: unset or blank is a copy of the default; an override is read as given', (name) => {
    const { delaysMs } = RETRY_SCHEDULES[name];
    expect(parseRetrySchedule(name, undefined)).toEqual([...delaysMs]);
    expect(parseRetrySchedule(name, ' ')).toEqual([...delaysMs]);
    expect(parseRetrySchedule(name, undefined)).not.toBe(delaysMs);
    expect(parseRetrySchedule(name, '300, 0,7')).toEqual([300, 0, 7]);
  });

  it('names the variable of the schedule it reads, and the bad entry', () => {
    expect(() => parseRetrySchedule('inbound', '1,x')).toThrow(/^INBOUND_RETRY_SCHEDULE_MS: entry #2 "x"/);
    expect(() => parseRetrySchedule('relay', '1,,2')).toThrow(/^RELAY_RETRY_SCHEDULE_MS: entry #2 ""/);
    expect(() => parseRetrySchedule('relay', '9007199254740993')).toThrow(/not a non-negative integer/);
  });

  it('is the parser behind both settings', () => {
    const c = loadConfig({ INBOUND_RETRY_SCHEDULE_MS: '5,6', RELAY_RETRY_SCHEDULE_MS: '7,8,9' });
    expect([c.inboundRetrySchedule, c.relay.retrySchedule]).toEqual([parseRetrySchedule('inbound', '5,6'), parseRetrySchedule('relay', '7,8,9')]);
    expect(loadConfig({}).relay.retrySchedule).toEqual(parseRetrySchedule('relay', undefined));
    expect(() => loadConfig({ INBOUND_RETRY_SCHEDULE_MS: '-1' })).toThrow(/^INBOUND_RETRY_SCHEDULE_MS/);
    expect(() => loadConfig({ RELAY_RETRY_SCHEDULE_MS: '-1' })).toThrow(/^RELAY_RETRY_SCHEDULE_MS/);
  });
});
