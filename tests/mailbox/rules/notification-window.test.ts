// Grouped notices without health data (mailbox/rules/notification-window.ts): when, what, and the fixed texts.
import { describe, expect, it } from 'vitest';
import {
  ACTIVITY_NOTICE_SUBJECT,
  newMessageNotice,
  noticeKinds,
  notificationDecision,
  notificationNotice,
  NOTICE_KINDS,
  NOTICE_SUBJECT,
  type NoticeKind,
  type NotificationFact,
} from '../../../mailbox/rules/index.js';

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
        'Bonjour,\r\n\r\nVous avez reçu un ou plusieurs nouveaux messages dans votre messagerie Mon espace santé.\r\n' +
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

const MESSAGE = 'Vous avez reçu un ou plusieurs nouveaux messages dans votre messagerie Mon espace santé.';
const DOCUMENT = 'Un ou plusieurs nouveaux documents ont été ajoutés à votre profil Mon espace santé.';
const ACTIONS = 'Des professionnels de santé ont réalisé des actions sur des documents de votre profil';

describe('noticeKinds', () => {
  const msg: NotificationFact = { source: 'mailbox', folder: 'inbox', kind: 'message' };
  const proDoc: NotificationFact = { source: 'document', authorKind: 'professional', originKind: 'upload', hiddenFromPatient: false, deleted: false };
  const read: NotificationFact = { source: 'activity', kind: 'document-read', actorKind: 'professional', onHiddenDocument: false };
  it.each<[string, NotificationFact[], NoticeKind[]]>([
    ['nothing', [], []],
    ['a message', [msg], ['new-message']],
    ['a failure notice in the inbox', [{ source: 'mailbox', folder: 'inbox', kind: 'notice' }], ['new-message']],
    ["the patient's own sent message", [{ source: 'mailbox', folder: 'sent', kind: 'message' }], []],
    ["a professional's upload", [proDoc], ['new-document']],
    ["the insurer's upload", [{ ...proDoc, authorKind: 'insurer' }], ['new-document']],
    ["the patient's own upload", [{ ...proDoc, authorKind: 'patient' }], []],
    ["a message's attachment (announced as the message)", [{ ...proDoc, originKind: 'message' }], []],
    ['a document hidden until its announcement consultation', [{ ...proDoc, hiddenFromPatient: true }], []],
    ['a document already deleted', [{ ...proDoc, deleted: true }], []],
    ['a read', [read], ['professional-action']],
    ...(['document-listed', 'document-masked', 'document-deleted', 'access-refused', 'emergency-access'] as const).map(
      (kind): [string, NotificationFact[], NoticeKind[]] => [
        `a professional's ${kind}`,
        [{ source: 'activity', kind, actorKind: 'professional', onHiddenDocument: false }],
        ['professional-action'],
      ],
    ),
    [
      'the event of an upload (announced as the document)',
      [{ source: 'activity', kind: 'document-added', actorKind: 'professional', onHiddenDocument: false }],
      [],
    ],
    [
      'the event of a received message (dated at delivery)',
      [{ source: 'activity', kind: 'message-received', actorKind: 'professional', onHiddenDocument: false }],
      ['new-message'],
    ],
    [
      'the event of a received message that may not be answered',
      [{ source: 'activity', kind: 'reply-forbidden-by-sender', actorKind: 'professional', onHiddenDocument: false }],
      ['new-message'],
    ],
    ['the event of an ended exchange', [{ source: 'activity', kind: 'exchange-ended', actorKind: 'professional', onHiddenDocument: false }], []],
    ["the event of the patient's sent message", [{ source: 'activity', kind: 'message-sent', actorKind: 'professional', onHiddenDocument: false }], []],
    ["the operator's profile update", [{ source: 'activity', kind: 'profile-updated', actorKind: 'system', onHiddenDocument: false }], []],
    ['a read by the system', [{ ...read, actorKind: 'system' }], []],
    ['a read of a document hidden from the patient', [{ ...read, onHiddenDocument: true }], []],
    ['message + document', [proDoc, msg], ['new-message', 'new-document']],
    ['message + action', [read, msg], ['new-message', 'professional-action']],
    ['document + action', [read, proDoc], ['new-document', 'professional-action']],
    ['all three, repeated, in any order', [read, proDoc, msg, read, msg, proDoc], ['new-message', 'new-document', 'professional-action']],
  ])('%s', (_label, facts, expected) => {
    expect(noticeKinds(facts)).toEqual(expected);
  });
});

describe('notificationNotice', () => {
  const subsets: NoticeKind[][] = [
    [],
    ['new-message'],
    ['new-document'],
    ['professional-action'],
    ['new-message', 'new-document'],
    ['new-message', 'professional-action'],
    ['new-document', 'professional-action'],
    [...NOTICE_KINDS],
  ];
  const sentence: Record<NoticeKind, string> = { 'new-message': MESSAGE, 'new-document': DOCUMENT, 'professional-action': `${ACTIONS}.` };
  it.each(subsets.filter((k) => k.length > 0))('one sentence per kind, in a fixed order: %j', (...kinds) => {
    for (const order of [kinds, [...kinds].reverse()]) {
      const n = notificationNotice('jeanne.martin@example.org', order);
      expect(n.text).toBe(
        [
          'Bonjour,',
          '',
          ...kinds.map((k) => sentence[k]),
          'Connectez-vous pour les consulter.',
          '',
          'Ceci est un message automatique, merci de ne pas y répondre.',
          '',
        ].join('\r\n'),
      );
      expect(n.subject).toBe(kinds.length === 1 && kinds[0] === 'new-message' ? NOTICE_SUBJECT : ACTIVITY_NOTICE_SUBJECT);
      for (const k of NOTICE_KINDS) expect(n.text.includes(sentence[k])).toBe(kinds.includes(k));
      expect(n.text).not.toMatch(/(^|[^\r])\n/);
      expect(n.text).not.toContain('@');
    }
  });

  it('says exactly what the professionals did, without naming anyone', () => {
    expect(notificationNotice('a@example.org', ['professional-action']).text).toContain(ACTIONS);
  });

  it.each<[string, NoticeKind[]]>([
    ['no kind', []],
    ['an unknown kind', ['new-message', 'nouveau' as NoticeKind]],
  ])('refuses %s', (_label, kinds) => {
    expect(() => notificationNotice('a@example.org', kinds)).toThrow(RangeError);
  });
});

describe('noticeKinds: a revealed document', () => {
  it('is announced as a new document once revealed, and not while still hidden', () => {
    expect(noticeKinds([{ source: 'activity', kind: 'document-revealed', actorKind: 'professional', onHiddenDocument: false }])).toEqual(['new-document']);
    expect(noticeKinds([{ source: 'activity', kind: 'document-revealed', actorKind: 'professional', onHiddenDocument: true }])).toEqual([]);
  });
});
