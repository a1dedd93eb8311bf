/**
 * A gateway as a child process (`node --import tsx app/main.ts`), for tests that kill it or need it to own its
 * embedded database: started in its own process group so that kill -9 takes it and its children together.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** With TEST_CHILD_LOG_DIR set, each child's log (stdout) goes to a file there, for debugging a failure. */
export function startChildGateway(env: Record<string, string>, opts: { detached?: boolean } = {}): ChildProcess {
  const dir = process.env.TEST_CHILD_LOG_DIR;
  const out = dir ? fs.openSync(path.join(dir, `gateway-${Date.now()}-${Math.random().toString(36).slice(2, 6)}.log`), 'a') : 'ignore';
  return spawn(process.execPath, ['--import', 'tsx', 'app/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    detached: opts.detached ?? true,
    stdio: ['ignore', out, 'pipe'],
  });
}

/** Resolves when GET /health answers; fails early, with its stderr, if the child exits. */
export async function waitHealthy(apiPort: number, child: ChildProcess): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`gateway exited: ${stderr}`);
      try {
        return (await fetch(`http://127.0.0.1:${apiPort}/health`)).ok;
      } catch {
        return false;
      }
    },
    90_000,
    'the gateway to start',
  );
}

export async function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    return;
  }
  await exited;
}

export async function stopGracefully(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(child.pid!, 'SIGTERM');
  await exited;
}
