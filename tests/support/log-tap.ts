/** Captures a process's JSON log lines (pino) in memory, so a test can look for an alert or a message. */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export class LogTap extends Writable {
  lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) this.lines.push(JSON.parse(l) as Record<string, unknown>);
    cb();
  }
  count(pred: (l: Record<string, unknown>) => boolean): number {
    return this.lines.filter(pred).length;
  }
  /** The lines that raised alert `name` (the `alert` field of the operator alerts). */
  alerts(name: string): Record<string, unknown>[] {
    return this.lines.filter((l) => l.alert === name);
  }
}

/** A logger at `info` writing into a fresh tap. */
export function logs(): { logger: Logger; lines: Record<string, unknown>[]; alerts: (name: string) => Record<string, unknown>[] } {
  const tap = new LogTap();
  return { logger: pino({ level: 'info' }, tap), lines: tap.lines, alerts: (name) => tap.alerts(name) };
}
