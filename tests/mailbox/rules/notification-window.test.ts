// Grouped new-message notices without health data (mailbox/rules/notification-window.ts).
import { describe, expect, it } from 'vitest';
import { newMessageNotice, notificationDecision, NOTICE_SUBJECT } from '../../../mailbox/rules/index.js';

const T0 = Date.parse('2026-03-01T09:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms);

describe('notificationDecision', () => {
  const W = 10_000;
  it.each<[string, { lastSentAt: Date | null; pending: boolean }, number, number, { sendNow: boolean; sendAt: Date | null }]>([
    ['never sent: now', { lastSentAt: null, pending: false }, 0, W, { sendNow: true, sendAt: null }],
    ['window elapsed exactly: now', { lastSentAt: at(0), pending: false }, W, W, { sendNow: true, sendAt: null }],
    ['window long elapsed: now', { lastSentAt: at(0), pending: false }, 5 * W, W, { sendNow: true, sendAt: null }],
    ['1 ms before the end: deferred to the end', { lastSentAt: at(0), pending: false }, W - 1, W, { sendNow: false, sendAt: at(W) }],
    ['just sent: deferred to the end', { lastSentAt: at(0), pending: false }, 1, W, { sendNow: false, sendAt: at(W) }],
    ['already pending: the same date', { lastSentAt: at(0), pending: true }, 3_000, W, { sendNow: false, sendAt: at(W) }],
    ['stale pending after the window: now', { lastSentAt: at(0), pending: true }, W + 5, W, { sendNow: true, sendAt: null }],
    ['lastSentAt in the future: at most one window', { lastSentAt: at(3_600_000), pending: false }, 0, W, { sendNow: false, sendAt: at(W) }],
    ['window 0: no grouping', { lastSentAt: at(0), pending: false }, 0, 0, { sendNow: true, sendAt: null }],
  ])('%s', (_label, state, nowMs, windowMs, expected) => {
    expect(notificationDecision(state, at(nowMs), windowMs)).toEqual(expected);
  });

  it.each<[string, () => unknown]>([
    ['invalid now', () => notificationDecision({ lastSentAt: null, pending: false }, new Date(Number.NaN), W)],
    ['now not a Date', () => notificationDecision({ lastSentAt: null, pending: false }, T0 as unknown as Date, W)],
    ['negative window', () => notificationDecision({ lastSentAt: null, pending: false }, at(0), -1)],
    ['NaN window', () => notificationDecision({ lastSentAt: null, pending: false }, at(0), Number.NaN)],
    ['infinite window', () => notificationDecision({ lastSentAt: null, pending: false }, at(0), Number.POSITIVE_INFINITY)],
    ['invalid lastSentAt', () => notificationDecision({ lastSentAt: new Date('nope'), pending: false }, at(0), W)],
  ])('throws a RangeError on %s', (_label, call) => {
    expect(call).toThrow(RangeError);
  });
});

/**
 * Drives the decision like the worker would: one call per message; a deferred notice is scheduled once and,
 * when due, sent (updating lastSentAt) before the next message is looked at.
 */
function simulate(times: number[], windowMs: number): number[] {
  let lastSentAt: Date | null = null;
  let scheduled: number | null = null;
  const sends: number[] = [];
  const fireDue = (upTo: number) => {
    if (scheduled !== null && scheduled <= upTo) {
      sends.push(scheduled);
      lastSentAt = at(scheduled);
      scheduled = null;
    }
  };
  for (const t of times) {
    fireDue(t);
    const d = notificationDecision({ lastSentAt, pending: scheduled !== null }, at(t), windowMs);
    if (d.sendNow) {
      expect(d.sendAt).toBeNull();
      expect(scheduled).toBeNull();
      sends.push(t);
      lastSentAt = at(t);
    } else {
      const sendAt = d.sendAt!.getTime() - T0;
      expect(sendAt).toBeGreaterThan(t);
      if (scheduled === null) scheduled = sendAt;
      else expect(sendAt).toBe(scheduled);
    }
  }
  fireDue(Number.POSITIVE_INFINITY);
  return sends;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('500 messages within a minute', () => {
  const MINUTE = 60_000;
  const random = lcg(20260301);
  const patterns: [string, number[]][] = [
    ['evenly spaced', Array.from({ length: 500 }, (_, i) => Math.floor((i * MINUTE) / 500))],
    ['random', Array.from({ length: 500 }, () => Math.floor(random() * MINUTE)).sort((a, b) => a - b)],
    ['one burst', Array.from({ length: 500 }, () => 1_234)],
    ['burst at start and end', [...Array.from({ length: 250 }, () => 0), ...Array.from({ length: 250 }, () => MINUTE - 1)]],
  ];
  const windows = [1_000, 5_000, 7_000, 10_000, 30_000, 45_000, 60_000, 120_000];

  for (const [name, times] of patterns) {
    it.each(windows)(`${name}, window %i ms: at most ceil(60s/window)+1 notices, every message covered`, (windowMs) => {
      expect(times).toHaveLength(500);
      const sends = simulate(times, windowMs);
      expect(sends.length).toBeGreaterThanOrEqual(1);
      expect(sends.length).toBeLessThanOrEqual(Math.ceil(MINUTE / windowMs) + 1);
      // Never two notices within one window.
      for (let i = 1; i < sends.length; i++) expect(sends[i]! - sends[i - 1]!).toBeGreaterThanOrEqual(windowMs);
      // Coalescing loses nothing: each message is followed, within one window, by a notice.
      for (const t of times) expect(sends.some((s) => s >= t && s <= t + windowMs)).toBe(true);
    });
  }

  it('a window longer than the minute gives exactly two notices for a spread-out stream', () => {
    const sends = simulate(patterns[0]![1], 120_000);
    expect(sends).toEqual([0, 120_000]);
  });

  it('a single burst gives one notice now and one at the end of the window', () => {
    expect(simulate(patterns[2]![1], 10_000)).toEqual([1_234, 11_234]);
  });
});

describe('newMessageNotice', () => {
  it('is fixed French text with no health data', () => {
    const n = newMessageNotice('jeanne.martin@example.org');
    expect(n).toEqual({
      to: 'jeanne.martin@example.org',
      subject: 'Nouveau message dans Mon espace santé',
      text:
        'Bonjour,\r\n\r\nVous avez reçu un ou plusieurs nouveaux messages dans votre messagerie Mon espace santé. ' +
        'Connectez-vous pour les consulter.\r\n\r\nCeci est un message automatique, merci de ne pas y répondre.\r\n',
    });
    expect(NOTICE_SUBJECT).toBe(n.subject);
  });

  it('is the same for every patient except the address, and uses CRLF only', () => {
    const a = newMessageNotice('a@example.org');
    const b = newMessageNotice('B@Example.ORG');
    expect(b.to).toBe('B@example.org');
    expect({ ...a, to: '' }).toEqual({ ...b, to: '' });
    expect(a.text).not.toMatch(/(^|[^\r])\n/);
    expect(a.text).not.toContain('@');
    expect(a.subject).not.toMatch(/[\r\n]/);
  });

  it.each(['', 'not-an-address', 'a@b.fr\r\nBcc: x@y.fr', 'Jeanne <a@b.fr>'])('refuses %j', (to) => {
    expect(() => newMessageNotice(to)).toThrow(RangeError);
  });
});
