// Renders the comparison kit's results (bench/compare-all.sh) as the README's tables: per set-up and run,
// Postfix's and the gateway's acceptance, their ratio, the gateway's end-to-end filing rate and its ratio to its
// acceptance, the p99 acceptance latency, and the fairness probes.
import fs from 'node:fs';
import path from 'node:path';

interface Line {
  run?: number;
  label: string;
  size_bytes: number;
  msgs_per_s: number;
  filed_per_s?: number;
  lat_ms_p99?: number;
  probe_ms?: (number | null)[];
  batch?: number;
  batch_ok?: number;
  batch_msgs_per_s?: number;
}

const dir = process.argv[2] ?? '.';
const setups = [
  ['pg', 'external PostgreSQL 15, queues in PostgreSQL'],
  ['redis', 'external PostgreSQL 15, queues on Redis'],
  ['embedded', 'embedded default (nothing set)'],
];
const read = (f: string): Line[] =>
  fs.existsSync(f)
    ? fs
        .readFileSync(f, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Line)
    : [];
const fmt = (x: number | undefined | null, d = 0) => (x === undefined || x === null ? '–' : Number(x).toFixed(d));
for (const size of [10246, 1048582]) {
  console.log(
    `\n| ${size < 100000 ? '10 KB' : '1 MB'} | run | Postfix accepted | gateway accepted | ratio | filed (end to end) | filed / accepted | p99 accept |`,
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [key, label] of setups) {
    const rows = read(path.join(dir, `${key}.jsonl`));
    for (const run of [...new Set(rows.filter((r) => r.run).map((r) => r.run))]) {
      const pf = rows.find((r) => r.run === run && r.label === 'postfix' && Math.abs(r.size_bytes - size) < 10);
      const gw = rows.find((r) => r.run === run && r.label === 'gateway' && Math.abs(r.size_bytes - size) < 10);
      if (!pf || !gw) continue;
      console.log(
        `| ${label} | ${run} | ${fmt(pf.msgs_per_s)} msg/s | ${fmt(gw.msgs_per_s)} msg/s | ${fmt(gw.msgs_per_s / pf.msgs_per_s, 2)} | ${fmt(gw.filed_per_s)} msg/s | ${fmt((gw.filed_per_s ?? 0) / gw.msgs_per_s, 2)} | ${fmt(gw.lat_ms_p99)} ms |`,
      );
    }
  }
}
console.log('\n| fairness | GP probes visible after their 250 (ms) | batch accepted |');
console.log('|---|---|---|');
for (const [key, label] of setups) {
  const f = read(path.join(dir, `${key}.jsonl`)).find((r) => r.label === 'fairness');
  if (f) console.log(`| ${label} | ${(f.probe_ms ?? []).join(', ')} | ${f.batch_ok}/${f.batch} at ${fmt(f.batch_msgs_per_s)} msg/s |`);
}
