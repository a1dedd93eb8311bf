// Threads by Message-ID / In-Reply-To / References (mailbox/rules/threading.ts).
import { describe, expect, it } from 'vitest';
import { MAX_REFERENCES, MAX_THREAD_LOOKUPS, normalizeMessageId, parseMessageIdList, referencesFor, threadKeyFor } from '../../../mailbox/rules/index.js';

describe('normalizeMessageId', () => {
  it.each<[string | null | undefined, string | null]>([
    ['<abc@host>', '<abc@host>'],
    ['abc@host', '<abc@host>'],
    ['  <abc@host>\r\n', '<abc@host>'],
    ['<ABC.123$x@Host.FR>', '<ABC.123$x@Host.FR>'],
    ['<>', null],
    ['', null],
    ['   ', null],
    [null, null],
    [undefined, null],
    ['<a b@host>', null],
    ['<a@host> <b@host>', null],
    ['<a\t@host>', null],
    ['<a@host', null],
    ['a@host>', null],
    ['<<a@host>>', null],
    ['<a\u0000@host>', null],
    [`<${'a'.repeat(996)}>`, `<${'a'.repeat(996)}>`],
    [`<${'a'.repeat(997)}>`, null],
  ])('%j → %j', (raw, expected) => {
    expect(normalizeMessageId(raw)).toBe(expected);
  });
});

describe('parseMessageIdList', () => {
  it.each<[string | null, string[]]>([
    ['<a@h> <b@h>', ['<a@h>', '<b@h>']],
    ['<a@h>\r\n\t<b@h>', ['<a@h>', '<b@h>']],
    ['a@h b@h', ['<a@h>', '<b@h>']],
    ['Your message of Monday <a@h>', ['<a@h>']],
    ['<a@h> (comment) <>', ['<a@h>']],
    ['', []],
    [null, []],
  ])('%j → %j', (raw, expected) => {
    expect(parseMessageIdList(raw)).toEqual(expected);
  });
});

describe('threadKeyFor', () => {
  // Known messages of ONE patient's mailbox: message id → thread key.
  const mailbox = new Map<string, string>([
    ['<root@hop>', 'T-root'],
    ['<r1@hop>', 'T-root'],
    ['<other@lab>', 'T-other'],
  ]);
  const known = (id: string) => mailbox.get(id) ?? null;

  it.each<[string, { messageId: string | null; inReplyTo: string | null; references: string[] }, string]>([
    ['In-Reply-To known', { messageId: '<new@p>', inReplyTo: '<r1@hop>', references: [] }, 'T-root'],
    ['In-Reply-To without brackets', { messageId: '<new@p>', inReplyTo: 'r1@hop', references: [] }, 'T-root'],
    ['In-Reply-To first, before References', { messageId: '<new@p>', inReplyTo: '<other@lab>', references: ['<root@hop>'] }, 'T-other'],
    ['In-Reply-To unknown: References', { messageId: '<new@p>', inReplyTo: '<gone@x>', references: ['<root@hop>', '<gone@x>'] }, 'T-root'],
    ['References from last to first', { messageId: '<new@p>', inReplyTo: null, references: ['<root@hop>', '<other@lab>', '<gone@x>'] }, 'T-other'],
    ['References given as one string', { messageId: '<new@p>', inReplyTo: null, references: ['<root@hop> <other@lab>'] }, 'T-other'],
    ['In-Reply-To with several ids', { messageId: '<new@p>', inReplyTo: '<gone@x> <r1@hop>', references: [] }, 'T-root'],
    ['nothing known: own Message-ID', { messageId: '<new@p>', inReplyTo: '<gone@x>', references: ['<gone2@x>'] }, '<new@p>'],
    ['own Message-ID normalised', { messageId: 'new@p', inReplyTo: null, references: [] }, '<new@p>'],
    ['no Message-ID: fallback', { messageId: null, inReplyTo: null, references: [] }, 'delivery-42'],
    ['invalid Message-ID: fallback', { messageId: '<a b>', inReplyTo: null, references: [] }, 'delivery-42'],
    ['no Message-ID but known parent', { messageId: null, inReplyTo: '<root@hop>', references: [] }, 'T-root'],
    ['garbage references ignored', { messageId: '<new@p>', inReplyTo: '   ', references: ['', '<>', '<x y>'] }, '<new@p>'],
  ])('%s', (_label, msg, expected) => {
    expect(threadKeyFor(msg, known, 'delivery-42')).toBe(expected);
  });

  it('does not count a message citing itself as its own ancestor', () => {
    const self = new Map([['<loop@x>', 'T-loop']]);
    const calls: string[] = [];
    const k = threadKeyFor({ messageId: '<loop@x>', inReplyTo: '<loop@x>', references: ['<loop@x>'] }, (id) => (calls.push(id), self.get(id) ?? null), 'fb');
    expect(k).toBe('<loop@x>');
    expect(calls).toEqual([]);
  });

  it('looks each id up once, nearest first, and at most MAX_THREAD_LOOKUPS times', () => {
    const refs = Array.from({ length: 1000 }, (_, i) => `<m${i}@x>`);
    const calls: string[] = [];
    const k = threadKeyFor({ messageId: '<new@p>', inReplyTo: '<m999@x>', references: refs }, (id) => (calls.push(id), null), 'fb');
    expect(k).toBe('<new@p>');
    expect(calls).toHaveLength(MAX_THREAD_LOOKUPS);
    expect(calls[0]).toBe('<m999@x>');
    expect(calls[1]).toBe('<m998@x>');
    expect(new Set(calls).size).toBe(calls.length);
  });

  it('ignores an empty thread key from the lookup', () => {
    expect(threadKeyFor({ messageId: '<n@p>', inReplyTo: '<a@x>', references: [] }, () => '', 'fb')).toBe('<n@p>');
  });
});

describe('referencesFor', () => {
  it.each<[string, { messageId: string | null; references: string[]; inReplyTo?: string | null }, { inReplyTo: string | null; references: string[] }]>([
    ['first reply', { messageId: '<p@h>', references: [] }, { inReplyTo: '<p@h>', references: ['<p@h>'] }],
    [
      'parent references then parent id',
      { messageId: '<p@h>', references: ['<a@h>', '<b@h>'] },
      { inReplyTo: '<p@h>', references: ['<a@h>', '<b@h>', '<p@h>'] },
    ],
    ['ids normalised', { messageId: 'p@h', references: ['a@h', '  <b@h> '] }, { inReplyTo: '<p@h>', references: ['<a@h>', '<b@h>', '<p@h>'] }],
    [
      'no References: the single In-Reply-To',
      { messageId: '<p@h>', references: [], inReplyTo: '<a@h>' },
      { inReplyTo: '<p@h>', references: ['<a@h>', '<p@h>'] },
    ],
    [
      'no References, several In-Reply-To: not used',
      { messageId: '<p@h>', references: [], inReplyTo: '<a@h> <b@h>' },
      { inReplyTo: '<p@h>', references: ['<p@h>'] },
    ],
    [
      'References win over In-Reply-To',
      { messageId: '<p@h>', references: ['<r@h>'], inReplyTo: '<a@h>' },
      { inReplyTo: '<p@h>', references: ['<r@h>', '<p@h>'] },
    ],
    ['parent without Message-ID', { messageId: null, references: ['<a@h>'] }, { inReplyTo: null, references: ['<a@h>'] }],
    ['nothing', { messageId: null, references: [] }, { inReplyTo: null, references: [] }],
    [
      'duplicates dropped, parent last',
      { messageId: '<p@h>', references: ['<a@h>', '<p@h>', '<a@h>', '<b@h>'] },
      { inReplyTo: '<p@h>', references: ['<a@h>', '<b@h>', '<p@h>'] },
    ],
    ['garbage dropped', { messageId: '<p@h>', references: ['<>', '<a b>', '', '<c@h>'] }, { inReplyTo: '<p@h>', references: ['<c@h>', '<p@h>'] }],
  ])('%s', (_label, parent, expected) => {
    expect(referencesFor(parent)).toEqual(expected);
  });

  it('keeps the last 20 ids, the parent last', () => {
    const refs = Array.from({ length: 30 }, (_, i) => `<m${i}@x>`);
    const r = referencesFor({ messageId: '<p@x>', references: refs });
    expect(r.references).toHaveLength(MAX_REFERENCES);
    expect(r.references[0]).toBe('<m11@x>');
    expect(r.references.at(-2)).toBe('<m29@x>');
    expect(r.references.at(-1)).toBe('<p@x>');
  });

  it('builds a chain a second reply can extend', () => {
    const first = referencesFor({ messageId: '<root@h>', references: [] });
    const second = referencesFor({ messageId: '<reply1@p>', references: first.references });
    expect(second).toEqual({ inReplyTo: '<reply1@p>', references: ['<root@h>', '<reply1@p>'] });
  });
});
