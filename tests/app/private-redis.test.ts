// The private redis-server child of the zero-setup default: unix socket only, stopped with us, a stale child
// of a killed gateway replaced, and a clear message when the binary is missing.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { openRedis, RedisMissingError } from '../../app/redis.js';

describe('private redis-server', () => {
  it('serves on a unix socket under the data dir and stops on close', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-redis-'));
    const h = await openRedis({ dataDir: dir });
    try {
      const c = new Redis({ ...h.connection, maxRetriesPerRequest: 1 });
      expect(await c.ping()).toBe('PONG');
      expect(await c.config('GET', 'port')).toEqual(['port', '0']); // no TCP listener
      c.disconnect();
      const pid = Number((await fs.readFile(path.join(dir, 'redis', 'redis.pid'), 'utf8')).trim());
      await h.stop();
      expect(() => process.kill(pid, 0)).toThrow();
    } finally {
      await h.stop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('replaces a child left running by a killed gateway', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-redis-'));
    const first = await openRedis({ dataDir: dir });
    const stalePid = Number((await fs.readFile(path.join(dir, 'redis', 'redis.pid'), 'utf8')).trim());
    const second = await openRedis({ dataDir: dir }); // as after a kill -9 of the parent
    try {
      await new Promise((r) => setTimeout(r, 100));
      expect(() => process.kill(stalePid, 0)).toThrow();
      const c = new Redis({ ...second.connection, maxRetriesPerRequest: 1 });
      expect(await c.ping()).toBe('PONG');
      c.disconnect();
    } finally {
      await second.stop();
      await first.stop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('says how to install redis-server when it is missing', async () => {
    const err = await openRedis({ dataDir: os.tmpdir(), binary: '/nonexistent/redis-server' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisMissingError);
    expect((err as Error).message).toMatch(/apt-get install redis-server/);
    expect((err as Error).message).toMatch(/REDIS_URL/);
  });
});
