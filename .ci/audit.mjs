/* global process, console, URL */
// `npm run audit`: `npm audit` over every dependency (the production ones and the tools CI runs), failing on
// any advisory of moderate severity or more that .ci/audit-accepted.json does not accept with a reason; the
// accepted ones and the low ones are printed, never hidden.
// When the registry's advisory service cannot be reached (some registry mirrors refuse its POST with 405), the
// audit says so in one line and exits 0: nothing was checked then, and MESGW_AUDIT_REQUIRED=1 makes it fail.
// `node .ci/audit.mjs REPORT.json` judges a report saved by `npm audit --json` elsewhere instead.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const FAILING = new Set(['moderate', 'high', 'critical']);
const accepted = JSON.parse(readFileSync(new URL('./audit-accepted.json', import.meta.url), 'utf8')).accepted;

let raw;
if (process.argv[2]) {
  raw = readFileSync(process.argv[2], 'utf8');
} else {
  try {
    raw = execFileSync('npm', ['audit', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 2 ** 20 });
  } catch (err) {
    raw = err.stdout ?? ''; // npm audit exits 1 when it finds advisories: the report is on stdout all the same
  }
}
let report;
try {
  report = JSON.parse(raw);
} catch {
  report = { error: { summary: 'no JSON report' } };
}
if (!report.vulnerabilities) {
  const why = report.statusCode ? `HTTP ${report.statusCode}` : report.error?.summary || report.message || 'unknown error';
  console.log(`npm audit: the registry's advisory service could not be reached (${why}): dependencies NOT audited`);
  process.exit(process.env.MESGW_AUDIT_REQUIRED === '1' ? 1 : 0);
}

const ghsa = (url) => /GHSA-[\w-]+/.exec(url ?? '')?.[0] ?? String(url);
const advisories = new Map();
for (const vuln of Object.values(report.vulnerabilities)) {
  for (const via of vuln.via) if (typeof via === 'object') advisories.set(`${via.name} ${ghsa(via.url)}`, via);
}
let failing = 0;
for (const via of advisories.values()) {
  const id = ghsa(via.url);
  const why = accepted.find((a) => a.package === via.name && (a.advisory === '*' || a.advisory === id));
  const line = `${via.severity} ${via.name} ${via.range} ${id}: ${via.title}`;
  if (why) console.log(`accepted  ${line}\n          reason: ${why.reason}`);
  else if (FAILING.has(via.severity)) {
    failing++;
    console.log(`FAILING   ${line}`);
  } else console.log(`low       ${line}`);
}
const counts = report.metadata?.vulnerabilities ?? {};
console.log(
  `npm audit: ${advisories.size} advisories (${Object.entries(counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}), ${failing} failing`,
);
process.exit(failing > 0 ? 1 : 0);
