// The test set-up's check of what only Debian provides (tests/support/system-packages.ts): nothing runs when all
// is there; a missing package stops the run at once with the one command that installs every missing one.
import { afterEach, describe, expect, it } from 'vitest';
import { CHROMIUM, CLAMD, REDIS_SERVER, ensureSystemPackages, findExecutable, missingMessage, type SystemNeed } from '../support/system-packages.js';

const saved = process.env.MESGW_TEST_NO_INSTALL;
afterEach(() => {
  if (saved === undefined) delete process.env.MESGW_TEST_NO_INSTALL;
  else process.env.MESGW_TEST_NO_INSTALL = saved;
});

const missing = (what: string, packages: string[], instead?: string): SystemNeed => ({ what, packages, present: () => false, instead });

describe('system packages for the tests', () => {
  it('does nothing when every need is present', () => {
    const lines: string[] = [];
    const present: SystemNeed = { what: 'node', packages: ['nodejs'], present: () => findExecutable('node') !== null };
    expect(() => ensureSystemPackages([present], (l) => lines.push(l))).not.toThrow();
    expect(lines).toEqual([]);
  });

  it('stops at once, naming every missing need and one command for all their packages', () => {
    process.env.MESGW_TEST_NO_INSTALL = '1';
    const needs = [missing('a', ['pkg-a', 'pkg-shared'], 'or set A_URL'), missing('b', ['pkg-shared', 'pkg-b'])];
    const lines: string[] = [];
    expect(() => ensureSystemPackages(needs, (l) => lines.push(l))).toThrow(/need a, b, not found/);
    try {
      ensureSystemPackages(needs);
    } catch (err) {
      const message = (err as Error).message;
      expect(message.match(/apt-get install/g)).toHaveLength(1);
      expect(message).toContain('apt-get install -y --no-install-recommends pkg-a pkg-shared pkg-b\n');
      expect(message).toContain('(or set A_URL)');
      expect(message).toContain('MESGW_TEST_NO_INSTALL=1');
    }
    expect(lines).toEqual([]); // nothing was installed
  });

  it('prefixes sudo only for a user who is not root', () => {
    const needs = [missing('redis-server', ['redis-server'])];
    expect(missingMessage(needs, false, 'not root')).toContain('  sudo apt-get update && sudo apt-get install -y --no-install-recommends redis-server\n');
    expect(missingMessage(needs, true, '')).toContain('  apt-get update && apt-get install -y --no-install-recommends redis-server\n');
  });

  it('names the Debian packages of what the suites use', () => {
    expect(REDIS_SERVER.packages).toEqual(['redis-server']);
    expect(CLAMD.packages).toEqual(['clamav', 'clamav-daemon']);
    expect(CHROMIUM.packages).toEqual(['chromium']);
    expect(REDIS_SERVER.instead).toMatch(/TEST_REDIS_URL/);
  });
});
