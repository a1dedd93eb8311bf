/**
 * Process settings, each read from one environment variable with a documented default.
 *
 * No variable set means: a private PostgreSQL 15 server on $DATA_DIR/pg (unix socket only) holding the data and
 * the job queues, a development PKI generated under $DATA_DIR/pki, notification e-mails written as .eml files under
 * $DATA_DIR/notifications. NODE_ENV=production refuses those development defaults for trust material
 * (config/rules/production.ts). The session cookie is Secure unless COOKIE_SECURE=false; /metrics and /docs are
 * served on the patient API only when API_EXPOSE names them. The README's configuration table is this list.
 */
import path from 'node:path';
import { parseRetrySchedule } from './retry.js';
import { resolveLimits, type Limits } from './limits.js';
import { proKeysOf, type ProKeysSetting } from './rules/pro-keys.js';

export interface SettingDef {
  readonly env: string;
  readonly default: string;
  readonly doc: string;
}

export const SETTINGS = {
  dataDir: { env: 'DATA_DIR', default: './data', doc: 'Where embedded state lives: the private PostgreSQL server (pg/), PKI, keys, notifications.' },
  smtpHost: { env: 'SMTP_HOST', default: '127.0.0.1', doc: 'SMTP ingress listen address.' },
  smtpPort: { env: 'SMTP_PORT', default: '2525', doc: 'SMTP ingress port (25 in production).' },
  smtpHostname: { env: 'SMTP_HOSTNAME', default: 'mx.patient.mssante.fr', doc: 'Name announced in the SMTP greeting.' },
  apiHost: { env: 'API_HOST', default: '127.0.0.1', doc: 'HTTP API listen address.' },
  apiPort: { env: 'API_PORT', default: '8080', doc: 'HTTP API port.' },
  proApiMtlsPort: {
    env: 'PRO_API_MTLS_PORT',
    default: '',
    doc: 'Port of the organisation API over mutual TLS (hospital systems and the insurer with their IGC-Santé organisation certificate, on API_HOST); empty: not served.',
  },
  insurerOrganisations: {
    env: 'INSURER_ORGANISATIONS',
    default: '',
    doc: "Structure ids ('3' + SIRET, as in the certificate OU) of the insurer's organisation certificates, comma-separated: they deposit as the insurer (historique des soins, vaccination certificates). FINESS-identified certificates are establishments without listing.",
  },
  trustProxy: {
    env: 'TRUST_PROXY',
    default: 'false',
    doc: 'Reverse proxies whose X-Forwarded-For gives the client address (rate limits and login throttling are per client address): false (use the peer address), true (trust every hop: only when nothing but the proxy reaches the API), a number of hops, or comma-separated proxy addresses/CIDRs.',
  },
  databaseUrl: {
    env: 'DATABASE_URL',
    default: '',
    doc: 'PostgreSQL URL; empty means a private PostgreSQL 15 server on $DATA_DIR/pg (from npm-shipped binaries, unix socket only).',
  },
  embeddedPgUser: {
    env: 'EMBEDDED_PG_USER',
    default: 'postgres',
    doc: 'System user the embedded PostgreSQL server runs as when the gateway runs as root (created with useradd when missing).',
  },
  redisUrl: {
    env: 'REDIS_URL',
    default: '',
    doc: 'Redis URL for the job queues; empty means the queues live in PostgreSQL (BullMQ PostgreSQL backend, schema bullmq).',
  },
  redisPrefix: { env: 'REDIS_PREFIX', default: 'mesgw', doc: 'Key prefix of every BullMQ queue on Redis (lets several deployments share one Redis).' },
  notifySmtpUrl: {
    env: 'NOTIFY_SMTP_URL',
    default: '',
    doc: 'SMTP URL for patient notification e-mails; empty writes .eml files under $DATA_DIR/notifications.',
  },
  notifyWindowSeconds: {
    env: 'NOTIFY_WINDOW_SECONDS',
    default: '900',
    doc: "Grouping window of notification e-mails (messages, documents, professionals' actions): at most one per patient per window.",
  },
  relayRoutes: { env: 'RELAY_ROUTES', default: '', doc: 'Static outbound routes `domain=host:port,...` (development, tests); other domains are routed by MX.' },
  inboundRetryScheduleMs: {
    env: 'INBOUND_RETRY_SCHEDULE_MS',
    default: '',
    doc: 'Delays between attempts of an inbound delivery, comma-separated ms (default: 1 s, 5 s, 30 s, 2, 5, 15, 30 min, 1 h, 2 h, then 4 h: 20 attempts over ~44 h, then a DSN).',
  },
  relayRetryScheduleMs: {
    env: 'RELAY_RETRY_SCHEDULE_MS',
    default: '',
    doc: 'Delays between outbound attempts, comma-separated ms (default: 5, 7, 8, 25, 75, 120 min then 4 h, over 48 h).',
  },
  relayMaxConnections: { env: 'RELAY_MAX_CONNECTIONS', default: '5', doc: 'Concurrent outbound sessions per destination, per process.' },
  relayCertFile: { env: 'RELAY_CERT_FILE', default: '', doc: 'Client certificate presented by the outbound relay (default $PKI_DIR/server.crt).' },
  relayKeyFile: { env: 'RELAY_KEY_FILE', default: '', doc: 'Its key (default $PKI_DIR/server.key).' },
  notifyFrom: {
    env: 'NOTIFY_FROM',
    default: 'Mon espace santé <ne-pas-repondre@monespacesante.example>',
    doc: 'From address of patient notification e-mails.',
  },
  patientDomain: { env: 'PATIENT_DOMAIN', default: 'patient.mssante.fr', doc: 'The mail domain served: <INS>@this domain.' },
  pkiDir: { env: 'PKI_DIR', default: '', doc: 'Folder of ca.crt, server.crt, server.key (default $DATA_DIR/pki; generated when absent).' },
  trustAnchors: { env: 'TRUST_ANCHORS', default: '', doc: 'PEM file of trusted CAs for peers (default $PKI_DIR/ca.crt; IGC-Santé chain in production).' },
  crlFile: {
    env: 'CRL_FILE',
    default: '',
    doc: 'Optional CRL file(s), comma-separated (PEM, or one DER CRL per file as CAs publish them), one CRL per CA of the trust anchors; revoked peer certificates are refused by the SMTP ingress and the outbound relay. Re-read every LIMIT_CRL_RELOAD_MS (new sessions use the new CRLs; open ones are kept); a file that does not parse keeps the CRLs in force.',
  },
  whitelistFile: {
    env: 'WHITELIST_FILE',
    default: '',
    doc: 'ANS ListeBlancheMSSante XML (default $PKI_DIR/whitelist.xml): the last good copy, re-read when it changes; `whitelist import` and downloads from WHITELIST_URL replace it atomically.',
  },
  whitelistUrl: {
    env: 'WHITELIST_URL',
    default: '',
    doc: 'HTTPS URL the ANS list is downloaded from every LIMIT_WHITELIST_DOWNLOAD_MS (the ANS publishes https://espacedeconfiance.mssante.fr/listeblanchemssante.xml); a copy that parses, is not empty and not older than the list in force replaces WHITELIST_FILE (keep it writable). Empty: the file only. http:// and credentials in the URL are refused.',
  },
  whitelistCaFile: {
    env: 'WHITELIST_CA_FILE',
    default: '',
    doc: "PEM CAs that alone are trusted for the WHITELIST_URL server (e.g. the IGC-Santé chain); empty: Node's public CA store.",
  },
  masterKeyFile: {
    env: 'MASTER_KEY_FILE',
    default: '',
    doc: 'File holding the key-encryption key (32 bytes, base64); default $DATA_DIR/keys/master.key, generated when absent. Keep it outside the database and its backups.',
  },
  adminTokenFile: { env: 'ADMIN_TOKEN_FILE', default: '', doc: 'File holding the operator API token (default $DATA_DIR/admin.token, generated when absent).' },
  proIssuer: {
    env: 'PRO_ISSUER',
    default: 'https://pro-auth.dev.mes-gateway.local',
    doc: "Issuer (iss) of professionals' bearer tokens (the professional identity provider).",
  },
  proAudience: { env: 'PRO_AUDIENCE', default: 'mes-gateway', doc: 'Audience (aud) those tokens must carry.' },
  proJwksFile: {
    env: 'PRO_JWKS_FILE',
    default: '',
    doc: 'JWKS file of the issuer (tests, offline set-ups), re-read every LIMIT_PRO_JWKS_REFRESH_MS and on an unknown kid; default, with PRO_JWKS_URL empty too: the development issuer under $PKI_DIR/oidc, created when absent.',
  },
  proJwksUrl: {
    env: 'PRO_JWKS_URL',
    default: '',
    doc: "Where the issuer's keys are fetched: an https:// JWKS URL, or `discovery` for the jwks_uri of $PRO_ISSUER/.well-known/openid-configuration (its issuer must be PRO_ISSUER). Cached, refetched every LIMIT_PRO_JWKS_REFRESH_MS and when a token names an unknown kid (at most once per LIMIT_PRO_JWKS_COOLDOWN_MS); a failed fetch keeps the keys in force. http://, credentials in the URL, and PRO_JWKS_FILE set as well are refused.",
  },
  proJwksCaFile: {
    env: 'PRO_JWKS_CA_FILE',
    default: '',
    doc: "PEM CAs that alone are trusted for the PRO_JWKS_URL and discovery server; empty: Node's public CA store.",
  },
  clamdAddress: {
    env: 'CLAMD_ADDRESS',
    default: '',
    doc: 'ClamAV daemon host:port; when set, every attachment and upload is scanned and nothing unscanned is filed (fail closed).',
  },
  logLevel: { env: 'LOG_LEVEL', default: 'info', doc: 'pino log level. Health data is never logged at info.' },
  roles: {
    env: 'ROLES',
    default: 'smtp,api,worker',
    doc: 'Which parts this process runs (comma-separated subset of smtp,api,worker); without api, API_HOST:API_PORT serves only /health, /ready and /metrics.',
  },
  cookieSecure: {
    env: 'COOKIE_SECURE',
    default: 'true',
    doc: 'Secure flag of the session cookie, and Strict-Transport-Security on API responses: true, or false only where the API is reached over plain http (development, tests).',
  },
  apiExpose: {
    env: 'API_EXPOSE',
    default: '',
    doc: 'Operator pages also served on the patient API listener: comma-separated subset of metrics,docs (Prometheus /metrics, OpenAPI /docs); empty serves neither (processes without the api role always serve /metrics on their status listener).',
  },
  nodeEnv: {
    env: 'NODE_ENV',
    default: 'development',
    doc: 'production refuses to start unless TRUST_ANCHORS, WHITELIST_FILE, PRO_JWKS_URL (or PRO_JWKS_FILE), PRO_ISSUER and MASTER_KEY_FILE (outside DATA_DIR, mode 0600 or stricter) are set: no development PKI, issuer or master key is ever generated or trusted. Logs are JSON lines, or readable (pino-pretty) outside production when stdout is a terminal.',
  },
} as const satisfies Record<string, SettingDef>;

export type Role = 'smtp' | 'api' | 'worker';
/** Operator pages that API_EXPOSE may add to the patient API listener. */
export type ApiExposed = 'metrics' | 'docs';

export interface Config {
  dataDir: string;
  smtp: { host: string; port: number; hostname: string };
  api: { host: string; port: number; expose: ReadonlySet<ApiExposed> };
  /** The organisation API over mutual TLS (null port: not served) and who counts as the insurer. */
  organisations: { mtlsPort: number | null; insurers: ReadonlySet<string> };
  databaseUrl: string | undefined;
  /** Fastify's `trustProxy` (TRUST_PROXY): which X-Forwarded-For hops are believed. */
  trustProxy: boolean | string[] | ((address: string, hop: number) => boolean);
  embeddedPgUser: string;
  redisUrl: string | undefined;
  redisPrefix: string;
  notifySmtpUrl: string | undefined;
  notifyFrom: string;
  notifyWindowSeconds: number;
  /** Waits between attempts of an inbound delivery (config/inbound.ts). */
  inboundRetrySchedule: number[];
  /** Outbound relay; `retrySchedule`: the waits between attempts (config/retry.ts). */
  relay: { routes: string; retrySchedule: number[]; maxConnections: number; certFile: string; keyFile: string };
  patientDomain: string;
  pkiDir: string;
  trustAnchorsFile: string;
  crlFiles: string[];
  whitelistFile: string;
  /** WHITELIST_URL (checked by the whitelist keeper: https only); undefined: the file only. */
  whitelistUrl: string | undefined;
  /** WHITELIST_CA_FILE; undefined: Node's CA store. */
  whitelistCaFile: string | undefined;
  masterKeyFile: string;
  adminTokenFile: string;
  logLevel: string;
  /**
   * The professional identity provider: `keys` says where its JWKS comes from (config/rules/pro-keys.ts),
   * `jwksCaFile` the CAs trusted for its server (undefined: Node's store); `usesDevIssuer` when neither
   * PRO_JWKS_FILE nor PRO_JWKS_URL is set.
   */
  pro: { issuer: string; audience: string; keys: ProKeysSetting; jwksCaFile: string | undefined; devIssuerDir: string; usesDevIssuer: boolean };
  clamd: { host: string; port: number } | null;
  roles: Set<Role>;
  cookieSecure: boolean;
  /** NODE_ENV=production: start-up refuses development trust material (config/rules/production.ts). */
  production: boolean;
  /** The environment variables of SETTINGS that were set (non-empty), i.e. configured explicitly. */
  explicit: ReadonlySet<string>;
  limits: Limits;
}

function read(env: NodeJS.ProcessEnv, key: keyof typeof SETTINGS): string {
  const def = SETTINGS[key];
  const v = env[def.env];
  return v === undefined || v === '' ? def.default : v;
}

function port(env: NodeJS.ProcessEnv, key: 'smtpPort' | 'apiPort' | 'proApiMtlsPort'): number {
  const raw = read(env, key);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${SETTINGS[key].env} must be a TCP port, got "${raw}"`);
  return n;
}

function parseHostPort(raw: string): { host: string; port: number } | null {
  if (!raw) return null;
  const m = /^(.+):(\d+)$/.exec(raw);
  if (!m) throw new Error(`CLAMD_ADDRESS must be host:port, got "${raw}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

function positive(env: NodeJS.ProcessEnv, key: 'notifyWindowSeconds' | 'relayMaxConnections'): number {
  const raw = read(env, key);
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${SETTINGS[key].env} must be a non-negative number, got "${raw}"`);
  return n;
}

function trustProxyOf(env: NodeJS.ProcessEnv): Config['trustProxy'] {
  const raw = read(env, 'trustProxy').trim();
  if (raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    return (_address: string, hop: number) => hop < hops; // hop 0 is the peer itself
  }
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0 || list.some((a) => !/^[0-9A-Fa-f.:]+(\/\d{1,3})?$/.test(a))) {
    throw new Error(`TRUST_PROXY must be false, true, a hop count or comma-separated addresses/CIDRs, got "${raw}"`);
  }
  return list;
}

function insurersOf(env: NodeJS.ProcessEnv): ReadonlySet<string> {
  const ids = read(env, 'insurerOrganisations')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const id of ids) if (!/^3\d{14}$/.test(id)) throw new Error(`INSURER_ORGANISATIONS: "${id}" is not '3' followed by a 14-digit SIRET`);
  return new Set(ids);
}

function proKeysFrom(env: NodeJS.ProcessEnv, pkiDir: string): ProKeysSetting {
  const file = read(env, 'proJwksFile');
  const choice = proKeysOf({
    file: file ? path.resolve(file) : '',
    url: read(env, 'proJwksUrl'),
    issuer: read(env, 'proIssuer'),
    developmentFile: path.join(pkiDir, 'oidc', 'jwks.json'),
  });
  if (choice.kind === 'refused') throw new Error(choice.reason);
  return choice;
}

/** Builds the whole configuration from the environment; throws a readable error on a malformed value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = path.resolve(read(env, 'dataDir'));
  const pkiDir = path.resolve(read(env, 'pkiDir') || path.join(dataDir, 'pki'));
  const roles = new Set<Role>();
  for (const r of read(env, 'roles')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (r !== 'smtp' && r !== 'api' && r !== 'worker') throw new Error(`ROLES: unknown role "${r}" (use smtp, api, worker)`);
    roles.add(r);
  }
  const apiHost = read(env, 'apiHost');
  const cookieRaw = read(env, 'cookieSecure');
  if (cookieRaw !== 'true' && cookieRaw !== 'false') throw new Error(`COOKIE_SECURE must be true or false, got "${cookieRaw}"`);
  const expose = new Set<ApiExposed>();
  for (const e of read(env, 'apiExpose')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (e !== 'metrics' && e !== 'docs') throw new Error(`API_EXPOSE: unknown page "${e}" (use metrics, docs)`);
    expose.add(e);
  }
  const explicit = new Set(
    Object.values(SETTINGS)
      .map((d) => d.env)
      .filter((name) => env[name] !== undefined && env[name] !== ''),
  );
  return {
    dataDir,
    smtp: { host: read(env, 'smtpHost'), port: port(env, 'smtpPort'), hostname: read(env, 'smtpHostname') },
    api: { host: apiHost, port: port(env, 'apiPort'), expose },
    organisations: { mtlsPort: read(env, 'proApiMtlsPort') === '' ? null : port(env, 'proApiMtlsPort'), insurers: insurersOf(env) },
    databaseUrl: read(env, 'databaseUrl') || undefined,
    trustProxy: trustProxyOf(env),
    embeddedPgUser: read(env, 'embeddedPgUser'),
    redisUrl: read(env, 'redisUrl') || undefined,
    redisPrefix: read(env, 'redisPrefix'),
    notifySmtpUrl: read(env, 'notifySmtpUrl') || undefined,
    notifyFrom: read(env, 'notifyFrom'),
    notifyWindowSeconds: positive(env, 'notifyWindowSeconds'),
    inboundRetrySchedule: parseRetrySchedule('inbound', read(env, 'inboundRetryScheduleMs')),
    relay: {
      routes: read(env, 'relayRoutes'),
      retrySchedule: parseRetrySchedule('relay', read(env, 'relayRetryScheduleMs')),
      maxConnections: positive(env, 'relayMaxConnections'),
      certFile: path.resolve(read(env, 'relayCertFile') || path.join(pkiDir, 'server.crt')),
      keyFile: path.resolve(read(env, 'relayKeyFile') || path.join(pkiDir, 'server.key')),
    },
    patientDomain: read(env, 'patientDomain').toLowerCase(),
    pkiDir,
    trustAnchorsFile: path.resolve(read(env, 'trustAnchors') || path.join(pkiDir, 'ca.crt')),
    crlFiles: read(env, 'crlFile')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((p) => path.resolve(p)),
    whitelistFile: path.resolve(read(env, 'whitelistFile') || path.join(pkiDir, 'whitelist.xml')),
    whitelistUrl: read(env, 'whitelistUrl').trim() || undefined,
    whitelistCaFile: read(env, 'whitelistCaFile') ? path.resolve(read(env, 'whitelistCaFile')) : undefined,
    masterKeyFile: path.resolve(read(env, 'masterKeyFile') || path.join(dataDir, 'keys', 'master.key')),
    adminTokenFile: path.resolve(read(env, 'adminTokenFile') || path.join(dataDir, 'admin.token')),
    logLevel: read(env, 'logLevel'),
    pro: {
      issuer: read(env, 'proIssuer'),
      audience: read(env, 'proAudience'),
      keys: proKeysFrom(env, pkiDir),
      jwksCaFile: read(env, 'proJwksCaFile') ? path.resolve(read(env, 'proJwksCaFile')) : undefined,
      devIssuerDir: path.join(pkiDir, 'oidc'),
      usesDevIssuer: !read(env, 'proJwksFile') && !read(env, 'proJwksUrl').trim(),
    },
    clamd: parseHostPort(read(env, 'clamdAddress')),
    roles,
    cookieSecure: cookieRaw === 'true',
    production: read(env, 'nodeEnv') === 'production',
    explicit,
    limits: resolveLimits(env),
  };
}
