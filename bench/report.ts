/** Figures of one benchmark run: percentiles, the printed table and the JSON line. */
import type { MemoryReport } from './spawn.js';

export interface Figures {
  target: { smtp: string; api: string; spawned: boolean };
  size: { requested: string; messageBytes: number; attachmentBytes: number };
  sessions: number;
  perConn: number;
  count: number;
  patients: number;
  sent: number;
  accepted: number;
  refused: number;
  errorsByCode: Record<string, number>;
  firstErrors: string[];
  sendWallS: number;
  msgPerS: number;
  mbPerS: number;
  latencyMs: { p50: number; p99: number; max: number; mean: number } | null;
  deliveredAtSendEnd: number | null;
  delivered: number;
  failed: number;
  stillQueued: number;
  timeToVisibleS: number | null;
  drainMsgPerS: number | null;
  memory: MemoryReport | null;
  ok: boolean;
}

/** Nearest-rank percentile of an already sorted array. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

export function latencySummary(samples: Float64Array): Figures['latencyMs'] {
  if (samples.length === 0) return null;
  const s = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of s) sum += v;
  const r = (v: number) => Math.round(v * 10) / 10;
  return { p50: r(percentile(s, 0.5)), p99: r(percentile(s, 0.99)), max: r(s[s.length - 1]!), mean: r(sum / s.length) };
}

const fmt = (v: number | null | undefined, digits = 1) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(digits));

export function table(f: Figures): string {
  const rows: [string, string][] = [
    ['target', `smtp ${f.target.smtp}, api ${f.target.api}${f.target.spawned ? ' (spawned)' : ''}`],
    ['message size', `${f.size.messageBytes} bytes (requested ${f.size.requested}; PDF attachment ${f.size.attachmentBytes} bytes)`],
    ['sessions / per-conn / patients', `${f.sessions} / ${f.perConn} / ${f.patients}`],
    ['messages sent', String(f.sent)],
    ['messages accepted (250)', String(f.accepted)],
    ['messages refused', String(f.refused) + (f.refused > 0 ? `  by code: ${JSON.stringify(f.errorsByCode)}` : '')],
    ['sending phase wall time', `${fmt(f.sendWallS, 2)} s`],
    ['throughput', `${fmt(f.msgPerS)} msg/s, ${fmt(f.mbPerS, 2)} MB/s (10^6 bytes accepted)`],
    [
      'acceptance latency p50/p99/max',
      f.latencyMs ? `${fmt(f.latencyMs.p50)} / ${fmt(f.latencyMs.p99)} / ${fmt(f.latencyMs.max)} ms (mean ${fmt(f.latencyMs.mean)})` : 'n/a',
    ],
    ['delivered when sending ended', f.deliveredAtSendEnd === null ? 'n/a' : `${f.deliveredAtSendEnd} of ${f.accepted}`],
    [
      'time until all visible in mailboxes',
      f.timeToVisibleS === null
        ? `not reached (delivered ${f.delivered}, failed ${f.failed}, queued ${f.stillQueued})`
        : `${fmt(f.timeToVisibleS, 2)} s from the start of sending`,
    ],
    ['drain rate', f.drainMsgPerS === null ? 'n/a' : `${fmt(f.drainMsgPerS)} delivered msg/s`],
  ];
  if (f.memory) {
    const m = f.memory;
    rows.push(['gateway peak RSS', `${fmt(m.gatewayPeakRssMiB)} MiB (${fmt(m.gatewayRssBeforeSendMiB)} MiB when sending started; ${m.samples} samples)`]);
    rows.push([
      'children peak RSS',
      m.children.length === 0
        ? 'none'
        : `${fmt(m.childrenPeakRssMiB)} MiB: ${m.children.map((c) => `${c.name} (pid ${c.pid}) ${fmt(c.peakRssMiB)} MiB`).join(', ')}`,
    ]);
  }
  rows.push(['result', f.ok ? 'OK: every message accepted and delivered' : 'FAILED: not every message was accepted and delivered']);
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`);
  if (f.firstErrors.length > 0) lines.push('first distinct error replies:', ...f.firstErrors.map((e) => `  ${e}`));
  return lines.join('\n');
}
