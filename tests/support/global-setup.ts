/**
 * Real services for the test suite. TEST_DATABASE_URL / TEST_REDIS_URL set → use them. Unset → start a
 * throw-away PostgreSQL cluster (initdb as the `postgres` user when we are root: initdb refuses root) and a
 * redis-server, both on loopback ports of their own, and remove them at the end. Missing binaries fail with
 * the command that installs them.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';


function findPgBin(): string {
  const candidates = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin', '/usr/local/pgsql/bin'];
  for (const c of candidates) if (fs.existsSync(path.join(c, 'initdb'))) return c;
  throw new Error('PostgreSQL server binaries not found: apt-get install postgresql (or set TEST_DATABASE_URL)');
}

const stops: (() => void)[] = [];

export async function setup(): Promise<void> {
  const isRoot = process.getuid?.() === 0;
  if (!process.env.TEST_DATABASE_URL) {
    const bin = findPgBin();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesgw-pg-'));
    fs.chmodSync(dir, 0o777);
    const port = await freePort();
    const asPg = (cmd: string, args: string[]) =>
      isRoot ? execFileSync('runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args], { stdio: 'pipe' }) : execFileSync(path.join(bin, cmd), args, { stdio: 'pipe' });
    asPg('initdb', ['-D', `${dir}/data`, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']);
    asPg('pg_ctl', [
      '-D', `${dir}/data`, '-l', `${dir}/log`, '-w', 'start',
      '-o', `-k ${dir} -c listen_addresses=127.0.0.1 -p ${port} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300`,
    ]);
    process.env.TEST_DATABASE_URL = `postgres://postgres@127.0.0.1:${port}/postgres`;
    stops.push(() => {
      try {
        asPg('pg_ctl', ['-D', `${dir}/data`, 'stop', '-m', 'immediate']);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
  if (!process.env.TEST_REDIS_URL) {
    const port = await freePort();
    try {
      execFileSync('redis-server', ['--version'], { stdio: 'pipe' });
    } catch {
      throw new Error('redis-server not found: apt-get install redis-server (or set TEST_REDIS_URL)');
    }
    const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
        s.on('error', () => resolve(false));
      });
      if (ok) break;
      if (Date.now() > deadline) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    process.env.TEST_REDIS_URL = `redis://127.0.0.1:${port}`;
    stops.push(() => child.kill('SIGKILL'));
  }
}

export async function teardown(): Promise<void> {
  for (const s of stops.reverse()) {
    try {
      s();
    } catch {
      /* best effort */
    }
  }
}
