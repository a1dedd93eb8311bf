// The pure rules of keeping the whitelist and the CRLs current (certs/rules/).
import { describe, expect, it } from 'vitest';
import { checkWhitelistUrl, downloadDue, expiredCrls, isStale, judgeCandidate, redactUrl, sameCrlSet, whitelistSourceOf } from '../../certs/index.js';

const HOUR = 3600_000;
const NOW = Date.parse('2025-03-14T08:00:00Z');
const at = (iso: string) => new Date(iso);
const opts = { nowMs: NOW, futureSkewMs: HOUR };

describe('checkWhitelistUrl', () => {
  it('accepts https only, without credentials', () => {
    const ok = checkWhitelistUrl('https://espacedeconfiance.mssante.fr/listeblanchemssante.xml');
    expect(ok.ok && ok.url.hostname).toBe('espacedeconfiance.mssante.fr');
    expect(checkWhitelistUrl(' https://127.0.0.1:8443/l.xml ').ok).toBe(true);
    for (const bad of [
      'http://espacedeconfiance.mssante.fr/listeblanchemssante.xml',
      'http://127.0.0.1/l.xml',
      'ftp://x/l.xml',
      'file:///etc/passwd',
      'listeblanche.xml',
      '',
    ]) {
      expect(checkWhitelistUrl(bad).ok, bad).toBe(false);
    }
    const creds = checkWhitelistUrl('https://user:secret@mirror.example/l.xml');
    expect(creds.ok).toBe(false);
    expect(!creds.ok && creds.reason).toMatch(/credentials/);
    expect(!creds.ok && creds.reason).not.toContain('secret');
  });

  it('redactUrl keeps origin and path, never query, fragment or credentials', () => {
    expect(redactUrl('https://u:p@mirror.example:8443/a/l.xml?token=abc#frag')).toBe('https://mirror.example:8443/a/l.xml');
    expect(redactUrl('not a url')).toBe('(invalid URL)');
  });

  it('whitelistSourceOf: a scheme means a URL (https only), anything else a path', () => {
    expect(whitelistSourceOf('https://x.example/l.xml')).toMatchObject({ kind: 'url' });
    expect(whitelistSourceOf('./data/l.xml')).toEqual({ kind: 'file', path: './data/l.xml' });
    expect(whitelistSourceOf('C:listeblanche.xml')).toEqual({ kind: 'file', path: 'C:listeblanche.xml' });
    expect(whitelistSourceOf('http://x.example/l.xml')).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/https/) });
    expect(whitelistSourceOf('  ')).toMatchObject({ kind: 'refused' });
  });
});

describe('judgeCandidate', () => {
  const current = { generatedAt: at('2025-03-13T02:00:03Z') };

  it('takes a newer list, reports the same one, refuses an older one unless forced', () => {
    expect(judgeCandidate({ generatedAt: at('2025-03-14T02:00:03Z'), entries: 10 }, current, opts)).toEqual({ verdict: 'newer' });
    expect(judgeCandidate({ generatedAt: at('2025-03-13T02:00:03Z'), entries: 10 }, current, opts)).toMatchObject({ verdict: 'same' });
    const older = judgeCandidate({ generatedAt: at('2025-03-12T02:00:03Z'), entries: 10 }, current, opts);
    expect(older).toMatchObject({ verdict: 'refuse', reason: expect.stringMatching(/older than the list in force \(2025-03-13T02:00:03Z\)/) });
    expect(judgeCandidate({ generatedAt: at('2025-03-12T02:00:03Z'), entries: 10 }, current, { ...opts, allowOlder: true })).toEqual({ verdict: 'newer' });
  });

  it('refuses an empty, undated or future-dated list, even with nothing in force or forced', () => {
    for (const cur of [current, null]) {
      expect(judgeCandidate({ generatedAt: at('2025-03-14T02:00:00Z'), entries: 0 }, cur, { ...opts, allowOlder: true })).toMatchObject({
        verdict: 'refuse',
        reason: expect.stringMatching(/no usable entry/),
      });
      expect(judgeCandidate({ generatedAt: null, entries: 5 }, cur, { ...opts, allowOlder: true })).toMatchObject({
        verdict: 'refuse',
        reason: expect.stringMatching(/DateDeGeneration/),
      });
      expect(judgeCandidate({ generatedAt: new Date(NOW + 2 * HOUR), entries: 5 }, cur, opts)).toMatchObject({
        verdict: 'refuse',
        reason: expect.stringMatching(/future/),
      });
    }
    // Within the clock skew is fine.
    expect(judgeCandidate({ generatedAt: new Date(NOW + HOUR / 2), entries: 5 }, null, opts)).toEqual({ verdict: 'newer' });
  });

  it('with nothing in force, or an undated list in force, any valid list is newer', () => {
    expect(judgeCandidate({ generatedAt: at('2020-01-01T00:00:00Z'), entries: 1 }, null, opts)).toEqual({ verdict: 'newer' });
    expect(judgeCandidate({ generatedAt: at('2020-01-01T00:00:00Z'), entries: 1 }, { generatedAt: null }, opts)).toEqual({ verdict: 'newer' });
  });
});

describe('isStale and downloadDue', () => {
  it('isStale compares the generation date with the maximum age', () => {
    expect(isStale(new Date(NOW - 49 * HOUR), NOW, 48 * HOUR)).toBe(true);
    expect(isStale(new Date(NOW - 47 * HOUR), NOW, 48 * HOUR)).toBe(false);
    expect(isStale(null, NOW, 48 * HOUR)).toBe(false);
  });

  it('downloadDue: first time, a day after a success, and at every check after a failure', () => {
    expect(downloadDue({ lastSuccessMs: null, lastAttemptFailed: false }, NOW, 24 * HOUR)).toBe(true);
    expect(downloadDue({ lastSuccessMs: NOW - 23 * HOUR, lastAttemptFailed: false }, NOW, 24 * HOUR)).toBe(false);
    expect(downloadDue({ lastSuccessMs: NOW - 24 * HOUR, lastAttemptFailed: false }, NOW, 24 * HOUR)).toBe(true);
    expect(downloadDue({ lastSuccessMs: NOW - HOUR, lastAttemptFailed: true }, NOW, 24 * HOUR)).toBe(true);
  });
});

describe('CRL rules', () => {
  it('sameCrlSet ignores order, not content', () => {
    expect(sameCrlSet(['a', 'b'], ['b', 'a'])).toBe(true);
    expect(sameCrlSet(['a', 'b'], ['a', 'c'])).toBe(false);
    expect(sameCrlSet(['a'], ['a', 'a'])).toBe(false);
    expect(sameCrlSet(undefined, undefined)).toBe(true);
    expect(sameCrlSet(undefined, [])).toBe(false);
  });

  it('expiredCrls lists those past their nextUpdate only', () => {
    const crls = [
      { issuer: 'CN=A', nextUpdate: new Date(NOW - 1) },
      { issuer: 'CN=B', nextUpdate: new Date(NOW + HOUR) },
      { issuer: 'CN=C', nextUpdate: null },
    ];
    expect(expiredCrls(crls, NOW).map((c) => c.issuer)).toEqual(['CN=A']);
  });
});
