// The test set-up's PostgreSQL (tests/support/test-postgres.ts): a cluster whose run was killed before its
// teardown is stopped and removed by the next start; one whose owner still runs is left alone.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestPostgres, type TestPostgres } from '../support/test-postgres.js';
import { waitFor } from '../support/harness.js';
import { canConnect } from '../../db/embedded-postgres.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const children: ChildProcess[] = [];
const started: TestPostgres[] = [];
afterAll(async () => {
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM'); // stops its cluster
    await exited;
  }
  for (const p of started) p.stop();
});

/** A process owning a cluster: resolves the cluster's URL once it is up. */
function owner(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/support/test-postgres-child.ts'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const url = /postgres:\/\/\S+/.exec(out)?.[0];
      if (url) resolve({ child, url });
    });
    child.once('exit', (code) => reject(new Error(`owner exited (${code}) before its cluster was up`)));
  });
}

const answers = canConnect;

describe('test PostgreSQL clusters', () => {
  it('reclaims the cluster of a killed run at the next start, and leaves a live owner’s alone', async () => {
    const dead = await owner();
    const live = await owner();
    expect(await answers(dead.url)).toBe(true);
    const exited = new Promise((r) => dead.child.once('exit', r));
    dead.child.kill('SIGKILL'); // no teardown: its server keeps running
    await exited;
    expect(await answers(dead.url)).toBe(true);

    started.push(await startTestPostgres());
    await waitFor(async () => !(await answers(dead.url)), 10_000, 'the orphaned cluster to stop');
    expect(await answers(live.url)).toBe(true);
    expect(await answers(started[0]!.url)).toBe(true);
  }, 60_000);
});
