// The embedded database's lock file: a second live process is refused with a clear message; a lock left by a
// dead process (kill -9) is taken over.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLock, DatabaseLockedError, openDatabase } from '../../db/index.js';

describe('PGlite lock file', () => {
  it('refuses a lock held by a live process, naming it', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-lock-'));
    const other = spawn('sleep', ['30']);
    try {
      await fs.writeFile(path.join(dir, 'pg.lock'), `${other.pid}\n`);
      const err = await openDatabase({ dataDir: dir }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseLockedError);
      expect((err as Error).message).toContain(`in use by process ${other.pid}`);
    } finally {
      other.kill('SIGKILL');
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('takes over a lock whose owner is dead, and releases it', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-lock-'));
    const dead = spawn('true');
    await new Promise((r) => dead.once('exit', r));
    const lock = path.join(dir, 'pg.lock');
    await fs.writeFile(lock, `${dead.pid}\n`);
    const release = await acquireLock(lock);
    expect((await fs.readFile(lock, 'utf8')).trim()).toBe(String(process.pid));
    await release();
    await expect(fs.access(lock)).rejects.toThrow();
    await fs.rm(dir, { recursive: true, force: true });
  });
});
