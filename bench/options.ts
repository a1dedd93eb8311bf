/**
 * Command line and environment of the ingress benchmark. Precedence: `--option value` (or `--option=value`)
 * over the environment variable over the default. The gateway's own variables (DATA_DIR, SMTP_HOST, ...) give
 * the defaults of the options that point at it, so the same environment drives `npm start` and `npm run bench`.
 */
import path from 'node:path';

export interface BenchOptions {
  /** Target size of one message in bytes (approximate; the actual size is reported). */
  size: number;
  sizeLabel: string;
  sessions: number;
  perConn: number;
  count: number;
  patients: number;
  /** Operator whose certificate and sender domain are used (`$DATA_DIR/pki/operators/<operator>.crt|.key`). */
  operator: string;
  dataDir: string;
  smtpHost: string;
  smtpPort: number;
  apiHost: string;
  apiPort: number;
  timeoutS: number;
  spawn: boolean;
  json: boolean;
}

interface OptDef {
  env: string;
  def: string;
  flag?: true;
  help: string;
}

const OPTS = {
  size: { env: 'BENCH_SIZE', def: '100k', help: 'approximate message size: 100k, 1m or a byte count (k = 10^3, m = 10^6)' },
  sessions: { env: 'BENCH_SESSIONS', def: '20', help: 'concurrent SMTP sessions' },
  'per-conn': { env: 'BENCH_PER_CONN', def: '50', help: 'messages per connection before reconnecting' },
  count: { env: 'BENCH_COUNT', def: '1000', help: 'total messages' },
  patients: { env: 'BENCH_PATIENTS', def: '50', help: 'distinct recipients (imported first, INS seeds 500000..)' },
  operator: { env: 'BENCH_OPERATOR', def: 'hopital-a.mssante.fr', help: 'operator certificate and sender domain' },
  'data-dir': { env: 'DATA_DIR', def: './data', help: "the gateway's DATA_DIR (PKI, admin token)" },
  'smtp-host': { env: 'SMTP_HOST', def: '127.0.0.1', help: 'SMTP ingress address' },
  'smtp-port': { env: 'SMTP_PORT', def: '2525', help: 'SMTP ingress port' },
  'api-host': { env: 'API_HOST', def: '127.0.0.1', help: 'operator API address' },
  'api-port': { env: 'API_PORT', def: '8080', help: 'operator API port' },
  'timeout-s': { env: 'BENCH_TIMEOUT_S', def: '600', help: 'overall bound in seconds (start-up, sending and draining)' },
  spawn: { env: 'BENCH_SPAWN', def: 'false', flag: true, help: 'start the gateway as a child process, measure its RSS, stop it' },
  json: { env: 'BENCH_JSON', def: 'false', flag: true, help: 'also print one JSON line with every figure' },
} as const satisfies Record<string, OptDef>;

type OptName = keyof typeof OPTS;

export function usage(): string {
  const lines = ['Usage: npm run bench -- [options]', ''];
  for (const [name, d] of Object.entries(OPTS) as [OptName, OptDef][]) {
    const left = d.flag ? `--${name}` : `--${name} <v>`;
    lines.push(`  ${left.padEnd(22)} ${d.help} (env ${d.env}, default ${d.def})`);
  }
  return lines.join('\n');
}

export class UsageError extends Error {}

/** "100k" -> 100000, "1m" -> 1000000, "250000" -> 250000. */
export function parseSize(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([km]?)b?$/i.exec(raw.trim());
  if (!m) throw new UsageError(`--size: expected 100k, 1m or a byte count, got "${raw}"`);
  const mult = { '': 1, k: 1_000, m: 1_000_000 }[m[2]!.toLowerCase() as '' | 'k' | 'm'];
  const n = Math.round(Number(m[1]) * mult);
  if (n < 1_000 || n > 100_000_000) throw new UsageError(`--size: must be between 1k and 100m, got "${raw}"`);
  return n;
}

function positiveInt(name: string, raw: string, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--${name}: expected an integer 1..${max}, got "${raw}"`);
  return n;
}

function bool(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on', ''].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new UsageError(`--${name}: expected true or false, got "${raw}"`);
}

/** Returns null when --help was asked. Throws UsageError on anything malformed. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions | null {
  const given = new Map<OptName, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') return null;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !(m[1]! in OPTS)) throw new UsageError(`unknown argument "${a}"\n\n${usage()}`);
    const name = m[1] as OptName;
    const def: OptDef = OPTS[name];
    if (m[2] !== undefined) given.set(name, m[2]);
    else if (def.flag) given.set(name, 'true');
    else {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      given.set(name, v);
    }
  }
  const get = (name: OptName): string => {
    const g = given.get(name);
    if (g !== undefined) return g;
    const e = env[OPTS[name].env];
    return e === undefined || e === '' ? OPTS[name].def : e;
  };
  const sizeLabel = get('size');
  const operator = get('operator');
  if (!/^[a-z0-9.-]+$/i.test(operator)) throw new UsageError(`--operator: not a domain name: "${operator}"`);
  return {
    size: parseSize(sizeLabel),
    sizeLabel,
    sessions: positiveInt('sessions', get('sessions'), 1_000),
    perConn: positiveInt('per-conn', get('per-conn'), 1_000_000),
    count: positiveInt('count', get('count'), 10_000_000),
    patients: positiveInt('patients', get('patients'), 100_000),
    operator,
    dataDir: path.resolve(get('data-dir')),
    smtpHost: get('smtp-host'),
    smtpPort: positiveInt('smtp-port', get('smtp-port'), 65_535),
    apiHost: get('api-host'),
    apiPort: positiveInt('api-port', get('api-port'), 65_535),
    timeoutS: positiveInt('timeout-s', get('timeout-s'), 86_400),
    spawn: bool('spawn', get('spawn')),
    json: bool('json', get('json')),
  };
}
