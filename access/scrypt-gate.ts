/**
 * A per-process cap on concurrent password hashing (scrypt, 128 MiB and one libuv thread for ~0.3 s each).
 *
 * Guarantees:
 * - At most `concurrency` (limits.scryptConcurrency, at least 1) scrypt computations run at once in this
 *   process, so a burst of logins never holds every thread of libuv's pool (file, DNS and zlib work go on) nor
 *   more than concurrency × 128 MiB.
 * - Interactive work (a patient's request) waits in FIFO order while fewer than `maxWaiting` are already
 *   waiting; beyond that it is refused at once with `ScryptBusy` (the API answers 503 problem+json with
 *   Retry-After) instead of piling up. Background work (a CSV import) always waits, and yields every freed slot
 *   to waiting interactive work first, so a large import cannot starve logins.
 * - A slot is released whatever the work does (resolve, reject or throw); nothing survives a crash (memory only).
 */
import type { Limits } from '../config/index.js';

export class ScryptBusy extends Error {
  constructor() {
    super('too many password checks waiting');
    this.name = 'ScryptBusy';
  }
}

export class WorkGate {
  private running = 0;
  private readonly interactive: (() => void)[] = [];
  private readonly background: (() => void)[] = [];

  constructor(
    private concurrency: number,
    private maxWaiting: number,
  ) {}

  configure(concurrency: number, maxWaiting: number): void {
    this.concurrency = Math.max(1, Math.floor(concurrency));
    this.maxWaiting = Math.max(0, Math.floor(maxWaiting));
  }

  /** How many run and wait now (for tests and metrics). */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.interactive.length + this.background.length };
  }

  async run<T>(work: () => Promise<T>, opts: { background?: boolean } = {}): Promise<T> {
    const queued = this.interactive.length + this.background.length;
    if (this.running < this.concurrency && queued === 0) {
      this.running++;
    } else {
      if (!opts.background && this.interactive.length >= this.maxWaiting) throw new ScryptBusy();
      // The releasing task hands its slot over: `running` stays counted.
      await new Promise<void>((resolve) => (opts.background ? this.background : this.interactive).push(resolve));
    }
    try {
      return await work();
    } finally {
      const next = this.interactive.shift() ?? this.background.shift();
      if (next) next();
      else this.running--;
    }
  }
}

const gate = new WorkGate(2, 32);

/** The process's scrypt gate, sized from `limits` (read at each call, so a test gateway's limits apply). */
export function scryptGate(limits: Pick<Limits, 'scryptConcurrency' | 'scryptMaxWaiting'>): WorkGate {
  gate.configure(limits.scryptConcurrency, limits.scryptMaxWaiting);
  return gate;
}
