/**
 * The job queue's Redis. REDIS_URL set → that server. Unset → a private `redis-server` child listening only
 * on a unix socket under $DATA_DIR (no TCP port), with an append-only file, stopped when we stop. Redis never
 * holds the only copy of anything (the outbox in PostgreSQL does), so losing it costs a re-enqueue, not mail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';

export interface RedisHandle {
  /** Options for every ioredis connection BullMQ opens. */
  connection: RedisOptions;
  describe: string;
  stop(): Promise<void>;
}

export class RedisMissingError extends Error {
  constructor() {
    super(
      'redis-server was not found on PATH. Install it (Debian/Ubuntu: `sudo apt-get install redis-server`; ' +
        'macOS: `brew install redis`) or set REDIS_URL to an existing Redis server.',
    );
    this.name = 'RedisMissingError';
  }
}

async function findRedisServer(explicit?: string): Promise<string> {
  if (explicit) {
    try {
      await fs.access(explicit, fs.constants.X_OK);
      return explicit;
    } catch {
      throw new RedisMissingError();
    }
  }
  const candidates = (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/bin', '/usr/sbin', '/usr/local/bin']);
  for (const dir of candidates) {
    const p = path.join(dir, 'redis-server');
    try {
      await fs.access(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  throw new RedisMissingError();
}

function optionsFromUrl(url: string): RedisOptions {
  const u = new URL(url);
  if (u.protocol === 'unix:' || u.protocol === 'redis+unix:') return { path: u.pathname };
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname && u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined,
    tls: u.protocol === 'rediss:' ? {} : undefined,
  };
}

async function ping(opts: RedisOptions, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    const c = new Redis({ ...opts, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.ping();
      c.disconnect();
      return;
    } catch (err) {
      lastErr = err;
      c.disconnect();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`Redis did not answer within ${timeoutMs} ms: ${(lastErr as Error)?.message ?? 'unknown error'}`);
}

/** A gateway killed with -9 leaves its redis-server child running on our data: stop it before starting ours. */
async function killStaleChild(pidFile: string): Promise<void> {
  const pid = Number.parseInt((await fs.readFile(pidFile, 'utf8').catch(() => '')).trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) return;
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes('redis-server')) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
      await new Promise((r) => setTimeout(r, 20));
    } catch {
      return;
    }
  }
}

export async function openRedis(opts: { redisUrl?: string; dataDir: string; binary?: string }): Promise<RedisHandle> {
  if (opts.redisUrl) {
    const connection = { ...optionsFromUrl(opts.redisUrl), maxRetriesPerRequest: null };
    await ping(connection, 10_000);
    return { connection, describe: 'external', stop: async () => {} };
  }
  const bin = await findRedisServer(opts.binary);
  const dir = path.join(opts.dataDir, 'redis');
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const socket = path.join(dir, 'redis.sock');
  const pidFile = path.join(dir, 'redis.pid');
  await killStaleChild(pidFile);
  await fs.rm(socket, { force: true }); // left by a killed child; the child would refuse to bind otherwise
  const child: ChildProcess = spawn(
    bin,
    ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--dir', dir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no', '--loglevel', 'warning', '--pidfile', pidFile],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const killOnExit = () => {
    if (!exited) child.kill('SIGTERM');
  };
  process.once('exit', killOnExit);
  const connection: RedisOptions = { path: socket, maxRetriesPerRequest: null };
  try {
    await ping(connection, 10_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    connection,
    describe: `private redis-server (pid ${child.pid}) on ${socket}`,
    stop: async () => {
      process.off('exit', killOnExit);
      if (exited) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exitPromise;
      clearTimeout(t);
    },
  };
}
