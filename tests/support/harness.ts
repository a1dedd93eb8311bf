/**
 * Test harness: a whole gateway in-process on real PostgreSQL (a fresh database per gateway, or the embedded
 * server of its own DATA_DIR), its job queues in that PostgreSQL (the default) or on real Redis (a key prefix
 * per gateway), with ephemeral ports, plus an SMTP client over real mutual TLS
 * and an API client that logs in with the e-mailed code.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { startGateway, type GatewayHandle, createLogger } from '../../app/gateway.js';
import { loadConfig } from '../../config/index.js';

export async function createTestDatabase(): Promise<string> {
  const admin = process.env.TEST_DATABASE_URL;
  if (!admin) throw new Error('TEST_DATABASE_URL is not set (tests/support/global-setup.ts sets it)');
  const name = `t_${crypto.randomBytes(6).toString('hex')}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}

export interface TestGatewayOptions {
  embedded?: boolean;
  /** Where BullMQ keeps its jobs: the PostgreSQL backend (default, as in production defaults) or Redis. */
  queues?: 'postgres' | 'redis';
  dataDir?: string;
  databaseUrl?: string;
  redisPrefix?: string;
  env?: Record<string, string>;
  /** Where the gateway's log lines go (default stdout), e.g. a stream a test reads back. */
  logDestination?: NodeJS.WritableStream;
}

export interface TestGateway {
  gw: GatewayHandle;
  dataDir: string;
  databaseUrl: string | undefined;
  redisPrefix: string;
  pki: string;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startTestGateway(o: TestGatewayOptions = {}): Promise<TestGateway> {
  const dataDir = o.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-')));
  const databaseUrl = o.embedded ? undefined : (o.databaseUrl ?? (await createTestDatabase()));
  const redisPrefix = o.redisPrefix ?? `t${crypto.randomBytes(4).toString('hex')}`;
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    SMTP_PORT: '0',
    API_PORT: '0',
    REDIS_PREFIX: redisPrefix,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    REDIS_URL: o.queues === 'redis' ? (process.env.TEST_REDIS_URL ?? '') : '',
    ...o.env,
  };
  const config = loadConfig(env);
  const gw = await startGateway(config, { logger: createLogger(env.LOG_LEVEL!, o.logDestination) });
  return {
    gw,
    dataDir,
    databaseUrl,
    redisPrefix,
    pki: config.pkiDir,
    env,
    close: () => gw.close(),
  };
}

export interface SendOptions {
  port: number;
  pki: string;
  /** Client certificate: an operator domain, 'untrusted', 'expired', 'revoked', or null for none. */
  cert: 'hopital-a.mssante.fr' | 'cabinet-b.mssante.fr' | 'untrusted' | 'expired' | 'revoked' | null;
  from: string;
  to: string[];
  subject?: string;
  text?: string;
  attachments?: { filename: string; content: Buffer; contentType?: string }[];
  raw?: string | Buffer;
  headers?: Record<string, string>;
  replyTo?: string;
  messageId?: string;
}

export interface SendResult {
  ok: boolean;
  response: string;
  responseCode?: number;
  queueId?: string;
}

async function certFiles(pki: string, cert: SendOptions['cert']): Promise<{ cert?: Buffer; key?: Buffer }> {
  if (!cert) return {};
  const base =
    cert === 'untrusted'
      ? path.join(pki, 'untrusted', 'client')
      : cert === 'expired' || cert === 'revoked'
        ? path.join(pki, 'extra', cert)
        : path.join(pki, 'operators', cert);
  return { cert: await fs.readFile(`${base}.crt`), key: await fs.readFile(`${base}.key`) };
}

/** A message from hopital-a's laboratory to one patient of a test gateway (the common case of the tests). */
export function sendToPatient(t: TestGateway, ins: string, o: Partial<SendOptions> = {}): Promise<SendResult> {
  return sendMail({
    port: t.gw.smtpPort!,
    pki: t.pki,
    cert: 'hopital-a.mssante.fr',
    from: 'labo@hopital-a.mssante.fr',
    to: [`${ins}@patient.mssante.fr`],
    ...o,
  });
}

export async function sendMail(o: SendOptions): Promise<SendResult> {
  const { cert, key } = await certFiles(o.pki, o.cert);
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: o.port,
    secure: false,
    requireTLS: true,
    tls: { ca: await fs.readFile(path.join(o.pki, 'ca.crt')), cert, key, servername: 'localhost' },
    connectionTimeout: 20_000,
    greetingTimeout: 20_000,
    socketTimeout: 60_000,
  });
  try {
    const info = await transport.sendMail(
      o.raw !== undefined
        ? { envelope: { from: o.from, to: o.to }, raw: o.raw }
        : {
            from: o.from,
            to: o.to,
            subject: o.subject ?? 'Compte rendu de consultation',
            text: o.text ?? 'Bonjour, voici votre compte rendu.',
            attachments: o.attachments,
            headers: o.headers,
            replyTo: o.replyTo,
            messageId: o.messageId,
          },
    );
    const m = /^250 2\.0\.0 (\S+)/.exec(info.response);
    return { ok: true, response: info.response, queueId: m?.[1] };
  } catch (err) {
    const e = err as { response?: string; responseCode?: number; message: string };
    return { ok: false, response: e.response ?? e.message, responseCode: e.responseCode };
  } finally {
    transport.close();
  }
}

export interface ApiClient {
  base: string;
  call(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  json<T = unknown>(method: string, url: string, body?: unknown): Promise<{ status: number; body: T; type: string | null }>;
}

export function apiClient(port: number, token?: string): ApiClient {
  const base = `http://127.0.0.1:${port}`;
  const call = (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(base + url, {
      method,
      headers: {
        ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  return {
    base,
    call,
    json: async <T>(method: string, url: string, body?: unknown) => {
      const res = await call(method, url, body);
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : null) as T, type: res.headers.get('content-type') };
    },
  };
}

export async function importPatientsCsv(t: TestGateway, csv: string): Promise<void> {
  const token = (await fs.readFile(path.join(t.dataDir, 'admin.token'), 'utf8')).trim();
  const res = await apiClient(t.gw.apiPort!, token).call('POST', '/v1/admin/patients/import', csv, { 'content-type': 'text/csv' });
  if (res.status !== 200) throw new Error(`import failed: ${res.status} ${await res.text()}`);
}

/** The newest login code e-mailed to `email` (development notification folder). */
export async function readLoginCode(dataDir: string, email: string): Promise<string> {
  const dir = path.join(dataDir, 'notifications');
  const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.eml')).sort();
  for (const f of files.reverse()) {
    const text = await fs.readFile(path.join(dir, f), 'utf8');
    if (!text.includes(`To: ${email}`)) continue;
    const decoded = text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    const m = /code de connexion est : (\d{6})/.exec(decoded);
    if (m) return m[1]!;
  }
  throw new Error(`no login code e-mail for ${email}`);
}

/** The decoded text of every development e-mail to `email`, newest first. */
export async function readNotices(dataDir: string, email: string): Promise<string[]> {
  const dir = path.join(dataDir, 'notifications');
  const files = (await fs.readdir(dir).catch(() => [] as string[]))
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .reverse();
  const out: string[] = [];
  for (const f of files) {
    const text = await fs.readFile(path.join(dir, f), 'utf8');
    if (!text.includes(`To: ${email}`)) continue;
    out.push(text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))));
  }
  return out;
}

/** The newest requested provisional code e-mailed to `email`, or null (POST /v1/patient/provisional-code). */
export async function readProvisionalCode(dataDir: string, email: string): Promise<string | null> {
  for (const text of await readNotices(dataDir, email)) {
    const m = /code provisoire est : (\d{12})/.exec(text);
    if (m) return m[1]!;
  }
  return null;
}

/** Activates (when a provisional code is given) and logs a patient in; returns a session token. */
export async function loginPatient(
  t: TestGateway,
  p: { ins: string; email: string; birthDate: string; provisionalCode?: string; password: string },
): Promise<string> {
  const api = apiClient(t.gw.apiPort!);
  if (p.provisionalCode) {
    const a = await api.call('POST', '/v1/patient/activate', { ins: p.ins, provisionalCode: p.provisionalCode, birthDate: p.birthDate, password: p.password });
    if (a.status !== 204) throw new Error(`activation failed: ${a.status} ${await a.text()}`);
  }
  const l = await api.json<{ challengeId: string }>('POST', '/v1/patient/login', { ins: p.ins, password: p.password });
  if (l.status !== 200) throw new Error(`login failed: ${l.status} ${JSON.stringify(l.body)}`);
  const code = await readLoginCode(t.dataDir, p.email);
  const v = await api.json<{ token: string }>('POST', '/v1/patient/login/verify', { challengeId: l.body.challengeId, code });
  if (v.status !== 200) throw new Error(`verify failed: ${v.status} ${JSON.stringify(v.body)}`);
  return v.body.token;
}

export async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
