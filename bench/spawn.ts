/**
 * `--spawn`: the gateway as a child process (`node dist/app/main.js` after `npm run build`, as `npm start` does), its
 * readiness, its memory, and its stop (SIGTERM, then SIGKILL after a grace period).
 *
 * Memory is read from /proc/<pid>/status every 200 ms: VmRSS (resident now) and VmHWM (the kernel's own
 * high-water mark of resident memory, so a peak between two samples is not missed). The gateway's descendants
 * (a private redis-server when REDIS_URL is unset) are found through /proc/<pid>/task/<tid>/children and
 * reported separately. Linux only; elsewhere the figures are absent.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiAnswers } from './api.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KiB_PER_MiB = 1024;

export interface ProcMem {
  name: string;
  rssKiB: number;
  hwmKiB: number;
}

export function readProcMem(pid: number): ProcMem | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const field = (k: string) => {
    const m = new RegExp(`^${k}:\\s*(\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  const name = /^Name:\s*(.*)$/m.exec(text)?.[1]?.trim() ?? '?';
  return { name, rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
}

/** Every descendant pid of `pid` (children of all its threads, recursively). */
export function descendants(pid: number, depth = 0): number[] {
  if (depth > 8) return [];
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    let list = '';
    try {
      list = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const c of list.split(/\s+/).filter(Boolean).map(Number)) {
      if (!out.includes(c)) out.push(c, ...descendants(c, depth + 1));
    }
  }
  return out;
}

export interface MemoryReport {
  /** Peak resident memory of the gateway process itself (max of VmHWM and sampled VmRSS), MiB. */
  gatewayPeakRssMiB: number;
  /** Resident memory of the gateway when sending started (after start-up and patient import), MiB. */
  gatewayRssBeforeSendMiB: number | null;
  /** Peak of the summed resident memory of all descendants over the samples, MiB. */
  childrenPeakRssMiB: number;
  /** Per descendant (e.g. redis-server): its own peak (VmHWM), MiB. */
  children: { pid: number; name: string; peakRssMiB: number }[];
  samples: number;
}

class MemorySampler {
  private timer: NodeJS.Timeout | null = null;
  private gwPeakKiB = 0;
  private childSumPeakKiB = 0;
  private readonly childPeaks = new Map<number, { name: string; peakKiB: number }>();
  private samples = 0;
  rssBeforeSendKiB: number | null = null;

  constructor(private readonly pid: number) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), 200);
  }

  sample(): void {
    const m = readProcMem(this.pid);
    if (!m) return;
    this.samples++;
    this.gwPeakKiB = Math.max(this.gwPeakKiB, m.rssKiB, m.hwmKiB);
    let sum = 0;
    for (const c of descendants(this.pid)) {
      const cm = readProcMem(c);
      if (!cm) continue;
      sum += cm.rssKiB;
      const prev = this.childPeaks.get(c);
      this.childPeaks.set(c, { name: cm.name, peakKiB: Math.max(prev?.peakKiB ?? 0, cm.rssKiB, cm.hwmKiB) });
    }
    this.childSumPeakKiB = Math.max(this.childSumPeakKiB, sum);
  }

  markSendStart(): void {
    this.rssBeforeSendKiB = readProcMem(this.pid)?.rssKiB ?? null;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  childPids(): { pid: number; name: string }[] {
    return [...this.childPeaks].map(([pid, c]) => ({ pid, name: c.name }));
  }

  report(): MemoryReport {
    const mib = (k: number) => Math.round((k / KiB_PER_MiB) * 10) / 10;
    return {
      gatewayPeakRssMiB: mib(this.gwPeakKiB),
      gatewayRssBeforeSendMiB: this.rssBeforeSendKiB === null ? null : mib(this.rssBeforeSendKiB),
      childrenPeakRssMiB: mib(this.childSumPeakKiB),
      children: [...this.childPeaks].map(([pid, c]) => ({ pid, name: c.name, peakRssMiB: mib(c.peakKiB) })),
      samples: this.samples,
    };
  }
}

export interface SpawnedGateway {
  pid: number;
  logFile: string;
  markSendStart(): void;
  /** SIGTERM, wait up to `graceMs`, then SIGKILL (and SIGKILL to descendants left behind). Returns the memory report. */
  stop(graceMs?: number): Promise<MemoryReport>;
  /** Synchronous last resort for process exit paths: SIGKILL the gateway and the descendants seen. */
  killNow(): void;
}

function tcpAccepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1_000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

function tail(file: string, n = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

export async function spawnGateway(o: {
  dataDir: string;
  smtpHost: string;
  smtpPort: number;
  apiHost: string;
  apiPort: number;
  deadline: number;
}): Promise<SpawnedGateway> {
  if (await tcpAccepts(o.smtpHost, o.smtpPort)) {
    throw new Error(`--spawn: something already listens on ${o.smtpHost}:${o.smtpPort}; stop it or choose --smtp-port`);
  }
  if (await apiAnswers(o.apiHost, o.apiPort)) {
    throw new Error(`--spawn: something already listens on ${o.apiHost}:${o.apiPort}; stop it or choose --api-port`);
  }
  execFileSync('npm', ['run', '-s', 'build'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const logFile = path.join(os.tmpdir(), `mes-gateway-bench-${process.pid}.log`);
  const fd = fs.openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ['dist/app/main.js'], {
      cwd: REPO_ROOT,
      env: {
        MALLOC_MMAP_THRESHOLD_: '131072', // as `npm start` runs it (README, Memory)
        ...process.env,
        DATA_DIR: o.dataDir,
        SMTP_HOST: o.smtpHost,
        SMTP_PORT: String(o.smtpPort),
        API_HOST: o.apiHost,
        API_PORT: String(o.apiPort),
      },
      stdio: ['ignore', fd, fd],
    });
  } finally {
    fs.closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error('--spawn: the gateway process could not be started');
  let exitCode: number | string | null = null;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exitCode = code ?? signal ?? 'unknown';
      resolve();
    }),
  );
  const sampler = new MemorySampler(pid);
  sampler.start();

  const killNow = () => {
    sampler.stop();
    for (const c of sampler.childPids()) {
      if (readProcMem(c.pid)?.name !== c.name) continue;
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (exitCode === null) child.kill('SIGKILL');
  };

  const stop = async (graceMs = 40_000): Promise<MemoryReport> => {
    sampler.sample();
    sampler.stop();
    const report = sampler.report();
    if (exitCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    }
    // A gateway killed before it stopped its redis-server leaves it behind: only the pids seen as its children.
    for (const c of sampler.childPids()) {
      const still = readProcMem(c.pid);
      if (still && still.name === c.name) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    return report;
  };

  // Ready when the SMTP port accepts, the API answers and the admin token exists; bounded by the deadline
  // and by three minutes (a cold start creates the PKI and runs the migrations).
  const readyBy = Math.min(o.deadline, Date.now() + 180_000);
  const tokenFile = path.join(o.dataDir, 'admin.token');
  for (;;) {
    if (exitCode !== null) {
      sampler.stop();
      throw new Error(`--spawn: the gateway exited (${exitCode}) during start-up; log ${logFile}:\n${tail(logFile)}`);
    }
    if (Date.now() > readyBy) {
      await stop(5_000);
      throw new Error(`--spawn: the gateway was not ready in time; log ${logFile}:\n${tail(logFile)}`);
    }
    if (fs.existsSync(tokenFile) && (await tcpAccepts(o.smtpHost, o.smtpPort)) && (await apiAnswers(o.apiHost, o.apiPort))) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return { pid, logFile, markSendStart: () => sampler.markSendStart(), stop, killNow };
}
