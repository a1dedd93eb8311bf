// The embedded default's PostgreSQL server: one per data directory whatever happens, reachable only through
// its unix socket, stopped by its owner, reused by guests (the CLI) and adopted after its owner's kill -9.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedPostgresError, ensureEmbeddedPostgres, livePostmaster } from '../../db/index.js';
import { waitFor } from '../support/harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dirs: string[] = [];
const children: ChildProcess[] = [];

async function tempDir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-epg-'));
  dirs.push(d);
  return d;
}

function child(dir: string, mode: 'stop' | 'hold'): { proc: ChildProcess; info: Promise<{ pid: number; owner: boolean }> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'tests/support/embedded-pg-child.ts', dir, mode], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(proc);
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const info = new Promise<{ pid: number; owner: boolean }>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!) as { pid: number; owner: boolean });
    });
    proc.once('exit', (code) => reject(new Error(`child exited ${code}: ${err}`)));
  });
  return { proc, info };
}

const exited = (p: ChildProcess) => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r)));

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) {
    const live = livePostmaster(path.join(d, 'pg'));
    if (live) process.kill(live.pid, 'SIGQUIT');
    await waitFor(async () => livePostmaster(path.join(d, 'pg')) === null, 10_000, 'the test server to stop');
    await fs.rm(d, { recursive: true, force: true });
  }
});

describe('embedded PostgreSQL', () => {
  it('listens on a private unix socket only, runs PostgreSQL 15, and is stopped by its owner', async () => {
    const dir = await tempDir();
    const server = await ensureEmbeddedPostgres(dir);
    expect(server.owner).toBe(true);
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    try {
      expect((await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v).toMatch(/^15\./);
      expect((await c.query<{ v: string }>("SELECT current_setting('listen_addresses') AS v")).rows[0]!.v).toBe('');
      expect((await c.query<{ v: string }>("SELECT current_setting('synchronous_commit') AS v")).rows[0]!.v).toBe('on');
      expect((await c.query<{ v: string }>("SELECT current_setting('fsync') AS v")).rows[0]!.v).toBe('on');
    } finally {
      await c.end();
    }
    expect((await fs.stat(server.socketDir)).mode & 0o077).toBe(0);
    expect((await fs.stat(path.join(dir, 'pg'))).mode & 0o077).toBe(0);
    await server.stop();
    expect(livePostmaster(path.join(dir, 'pg'))).toBeNull();
  });

  it('a guest reuses the running server and leaves it running', async () => {
    const dir = await tempDir();
    const server = await ensureEmbeddedPostgres(dir);
    const guest = child(dir, 'stop');
    const info = await guest.info;
    expect(info).toEqual({ pid: server.pid, owner: false });
    guest.proc.stdin!.end();
    await exited(guest.proc);
    expect(livePostmaster(path.join(dir, 'pg'))?.pid).toBe(server.pid);
    await server.stop();
  });

  it('a server orphaned by kill -9 of its owner is reused and adopted, never doubled', async () => {
    const dir = await tempDir();
    const first = child(dir, 'hold');
    const { pid, owner } = await first.info;
    expect(owner).toBe(true);
    first.proc.kill('SIGKILL');
    await exited(first.proc);
    expect(livePostmaster(path.join(dir, 'pg'))?.pid, 'the server outlives its owner').toBe(pid);
    const again = await ensureEmbeddedPostgres(dir);
    expect(again.pid).toBe(pid);
    expect(again.owner, 'adopted: its owner is gone').toBe(true);
    await again.stop();
    expect(livePostmaster(path.join(dir, 'pg'))).toBeNull();
  });

  it('processes starting together on a fresh directory end up on one server', async () => {
    const dir = await tempDir();
    const racers = [child(dir, 'hold'), child(dir, 'hold'), child(dir, 'hold')];
    const infos = await Promise.all(racers.map((r) => r.info));
    expect(new Set(infos.map((i) => i.pid)).size).toBe(1);
    expect(infos.filter((i) => i.owner)).toHaveLength(1);
    const pgProcesses = (await fs.readdir('/proc')).filter((p) => /^\d+$/.test(p));
    let postmasters = 0;
    for (const p of pgProcesses) {
      const cmd = await fs.readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '');
      if (cmd.includes('postgres') && cmd.includes(path.join(dir, 'pg'))) postmasters++;
    }
    expect(postmasters).toBe(1);
  });
});

describe('embedded PostgreSQL on a fresh machine', () => {
  it('as root, runs the server as a dedicated system user, creating it when missing; otherwise as the current user', async () => {
    const dir = await tempDir();
    const user = `mesgw${crypto.randomBytes(3).toString('hex')}`;
    const isRoot = process.getuid?.() === 0;
    if (isRoot) expect(() => execFileSync('id', ['-u', user], { stdio: 'pipe' }), 'a user that does not exist yet').toThrow();
    try {
      const server = await ensureEmbeddedPostgres(dir, { user });
      const owner = (await fs.stat(path.join('/proc', String(server.pid)))).uid;
      expect(owner).toBe(isRoot ? Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim()) : process.getuid!());
      expect((await fs.stat(path.join(dir, 'pg'))).uid).toBe(owner);
      if (isRoot) expect((await fs.stat(dir)).mode & 0o777, 'DATA_DIR traversable, not listable, by the server user').toBe(0o711);
      await server.stop();
    } finally {
      if (isRoot) execFileSync('userdel', [user], { stdio: 'pipe' });
    }
  });

  it('as root, names the parent directory the server user cannot enter, instead of failing in initdb', async () => {
    const base = await tempDir(); // mode 0700, owned by the test's user
    const err = await ensureEmbeddedPostgres(path.join(base, 'data')).catch((e: unknown) => e);
    if (process.getuid?.() === 0) {
      expect(err).toBeInstanceOf(EmbeddedPostgresError);
      expect((err as Error).message).toContain(`cannot enter ${base}`);
    } else {
      // not root: the server runs as this user, who can enter its own directories
      expect(err).toHaveProperty('pid');
      await (err as { stop(): Promise<void> }).stop();
    }
  });

  it('puts its socket in a short private directory when DATA_DIR is too deep for a unix socket path', async () => {
    const base = await tempDir();
    await fs.chmod(base, 0o755);
    const deep = path.join(base, 'a'.repeat(60), 'b'.repeat(60));
    const server = await ensureEmbeddedPostgres(deep);
    try {
      expect(server.socketDir.startsWith(os.tmpdir())).toBe(true);
      expect((await fs.stat(server.socketDir)).mode & 0o077).toBe(0);
      const c = new pg.Client({ connectionString: server.url });
      await c.connect();
      await c.end();
    } finally {
      await server.stop();
      dirs.push(deep);
    }
  });
});
