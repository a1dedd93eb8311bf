/**
 * A real ClamAV daemon for tests, on a loopback port of its own, with a throw-away signature database.
 *
 * Debian ships no signatures and freshclam needs the internet, so the database is built here: the EICAR test
 * string is written to a file named after the signature and hashed into `db/eicar.hdb` (`sigtool --md5`, or
 * the same `<md5>:<size>:<name>` line written by hand when sigtool is absent). Nothing is ever downloaded.
 * clamd reports it as `Eicar-Test-Signature.UNOFFICIAL` (clamd appends `.UNOFFICIAL` to local signatures).
 *
 * Guarantees: `startClamd` resolves only once clamd answers PING with PONG (bounded by `startTimeoutMs`), or
 * rejects with clamd's own output; on rejection the process is killed and the temp dir removed. `stop()` is
 * idempotent, bounded (SIGTERM, then SIGKILL after 5 s) and removes the temp dir. A clamd left behind by a
 * worker that dies without running afterAll is killed on the worker's exit.
 * A missing clamd binary throws an Error that names the package to install (clamav-daemon).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';

/**
 * The standard EICAR anti-virus test file (68 bytes). Kept in two halves so that an anti-virus on a
 * developer's machine that looks for the string inside files does not quarantine this source file.
 */
export const EICAR = Buffer.from('X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-' + 'ANTIVIRUS-TEST-FILE!$H+H*', 'latin1');
/** The name under which the local database knows EICAR, as clamd reports it. */
export const EICAR_SIGNATURE = 'Eicar-Test-Signature.UNOFFICIAL';

export interface ClamdHandle {
  host: '127.0.0.1';
  port: number;
  /** clamd also listens on this unix socket. */
  socketPath: string;
  /** The temp dir (database, clamd.conf, log): removed by stop(). */
  dir: string;
  /** The clamd process id (e.g. to kill it abruptly in a test). */
  pid: number;
  stop(): Promise<void>;
}

export interface StartClamdOptions {
  /** clamd's StreamMaxLength (default 50M). */
  streamMaxLength?: string;
  /** Bound on the wait for PONG (default 30 s; clamd with a one-line database starts in about a second). */
  startTimeoutMs?: number;
  /** More whole-file MD5 signatures (reported as `<name>.UNOFFICIAL`), e.g. to check large streams arrive intact. */
  extraSignatures?: { name: string; data: Buffer }[];
}

const CLAMD_CANDIDATES = ['/usr/sbin/clamd', '/usr/bin/clamd', '/usr/local/sbin/clamd', '/usr/local/bin/clamd'];

function findBinary(name: string, candidates: string[]): string | null {
  for (const c of candidates) if (fs.existsSync(c)) return c;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

/** Writes db/eicar.hdb; sigtool names the signature after the file, hence the file's name. */
function writeSignatureDb(dir: string, extra: { name: string; data: Buffer }[]): void {
  const db = path.join(dir, 'db');
  fs.mkdirSync(db);
  const name = EICAR_SIGNATURE.replace(/\.UNOFFICIAL$/, '');
  const sample = path.join(dir, name);
  fs.writeFileSync(sample, EICAR);
  const md5 = crypto.createHash('md5').update(EICAR).digest('hex');
  const expected = `${md5}:${EICAR.length}:${name}`;
  let line = expected;
  const sigtool = findBinary('sigtool', ['/usr/bin/sigtool', '/usr/local/bin/sigtool']);
  if (sigtool) {
    line = execFileSync(sigtool, ['--md5', name], { cwd: dir, encoding: 'utf8', timeout: 10_000 }).trim();
    // Guards the fallback too: both paths must produce the same database.
    if (line !== expected) throw new Error(`sigtool --md5 gave "${line}", expected "${expected}"`);
  }
  fs.writeFileSync(path.join(db, 'eicar.hdb'), `${line}\n`);
  fs.rmSync(sample);
  if (extra.length > 0) {
    const lines = extra.map((e) => {
      if (!/^[A-Za-z0-9._-]+$/.test(e.name)) throw new Error(`bad signature name: ${e.name}`);
      return `${crypto.createHash('md5').update(e.data).digest('hex')}:${e.data.length}:${e.name}\n`;
    });
    fs.writeFileSync(path.join(db, 'extra.hdb'), lines.join(''));
  }
}

/** A raw PING, independent of the client under test. */
function rawPing(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let reply = '';
    const s = net.connect(port, '127.0.0.1', () => s.write('zPING\0'));
    const t = setTimeout(() => (s.destroy(), resolve(false)), timeoutMs);
    s.on('data', (d) => {
      reply += d.toString('latin1');
      if (reply.includes('\0')) {
        clearTimeout(t);
        s.destroy();
        resolve(reply.startsWith('PONG'));
      }
    });
    s.on('error', () => (clearTimeout(t), resolve(false)));
    s.on('close', () => (clearTimeout(t), resolve(false)));
  });
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => (clearTimeout(t), resolve(true)));
  });
}

export async function startClamd(options: StartClamdOptions = {}): Promise<ClamdHandle> {
  const clamd = findBinary('clamd', CLAMD_CANDIDATES);
  if (!clamd) throw new Error('clamd not found: apt-get install -y clamav clamav-daemon');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesgw-clamd-'));
  let child: ChildProcess | null = null;
  const killOnExit = (): void => {
    child?.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    writeSignatureDb(dir, options.extraSignatures ?? []);
    fs.mkdirSync(path.join(dir, 'tmp'));
    const port = await freePort();
    const conf = [
      `DatabaseDirectory ${path.join(dir, 'db')}`,
      `TCPSocket ${port}`,
      'TCPAddr 127.0.0.1',
      `LocalSocket ${path.join(dir, 'clamd.sock')}`,
      'Foreground yes',
      `LogFile ${path.join(dir, 'clamd.log')}`,
      'LogVerbose no',
      `StreamMaxLength ${options.streamMaxLength ?? '50M'}`,
      `TemporaryDirectory ${path.join(dir, 'tmp')}`,
      `PidFile ${path.join(dir, 'clamd.pid')}`,
      // The system database reload check is useless here and only adds wake-ups.
      'SelfCheck 3600',
      ...(process.getuid?.() === 0 ? ['User root'] : []),
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'clamd.conf'), `${conf}\n`);

    // Output to a file, not a pipe: an unread pipe would fill up and block clamd.
    const out = fs.openSync(path.join(dir, 'clamd.out'), 'w');
    try {
      child = spawn(clamd, ['-c', path.join(dir, 'clamd.conf')], { stdio: ['ignore', out, out] });
    } finally {
      fs.closeSync(out);
    }
    const proc = child;
    process.once('exit', killOnExit);
    let exited = false;
    proc.once('exit', () => (exited = true));
    proc.once('error', () => (exited = true));

    const timeout = options.startTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeout;
    for (;;) {
      if (exited) throw new Error(`clamd exited during start-up:\n${tail(dir)}`);
      if (await rawPing(port, 1000)) break;
      if (Date.now() > deadline) throw new Error(`clamd did not answer PING within ${timeout} ms:\n${tail(dir)}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    let stopped: Promise<void> | null = null;
    return {
      host: '127.0.0.1',
      port,
      socketPath: path.join(dir, 'clamd.sock'),
      dir,
      pid: proc.pid ?? -1,
      stop() {
        stopped ??= (async () => {
          proc.kill('SIGTERM');
          if (!(await waitExit(proc, 5000))) {
            proc.kill('SIGKILL');
            await waitExit(proc, 5000);
          }
          process.off('exit', killOnExit);
          fs.rmSync(dir, { recursive: true, force: true });
        })();
        return stopped;
      },
    };
  } catch (err) {
    if (child) {
      child.kill('SIGKILL');
      await waitExit(child, 5000);
    }
    process.off('exit', killOnExit);
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function tail(dir: string): string {
  const read = (f: string): string => {
    try {
      return fs.readFileSync(path.join(dir, f), 'utf8');
    } catch {
      return '';
    }
  };
  return `${read('clamd.out')}${read('clamd.log')}`.split('\n').slice(-20).join('\n');
}
