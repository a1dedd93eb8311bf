// SIGTERM stops the gateway within its deadline even when its stores stop answering: PostgreSQL (data and
// queues) or Redis (queues) behind a proxy that is frozen while the gateway runs, a message having just been
// accepted. (The process's own deadline is 9 s; the test allows a little more for process start-up noise.)
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { apiClient, createTestDatabase, sendMail, waitFor } from '../support/harness.js';
import { freePort } from '../support/ports.js';
import { killGroup, startChildGateway, waitHealthy } from '../support/child-gateway.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function scenario(frozen: 'postgres' | 'redis'): Promise<void> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-stop-'));
  const db = new URL(await createTestDatabase());
  const redis = new URL(process.env.TEST_REDIS_URL!);
  const pgProxy = await startTcpProxy(db.hostname, Number(db.port));
  const redisProxy = await startTcpProxy(redis.hostname, Number(redis.port));
  cleanups.push(
    () => fs.rm(dataDir, { recursive: true, force: true }),
    () => pgProxy.close(),
    () => redisProxy.close(),
  );
  db.port = String(pgProxy.port);
  redis.port = String(redisProxy.port);
  const apiPort = await freePort();
  const smtpPort = await freePort();
  const child: ChildProcess = startChildGateway({
    DATA_DIR: dataDir,
    SMTP_PORT: String(smtpPort),
    API_PORT: String(apiPort),
    LOG_LEVEL: 'warn',
    DATABASE_URL: db.toString(),
    REDIS_URL: frozen === 'redis' ? redis.toString() : '',
  });
  cleanups.push(() => killGroup(child));
  await waitHealthy(apiPort, child);
  const token = (await fs.readFile(path.join(dataDir, 'admin.token'), 'utf8')).trim();
  const ins = makeTestIns(990_001);
  const csv = `ins,family_name,given_names,birth_date,email,state,provisional_code\n${ins},TEST-STOP,A,1970-01-01,a@example.org,created,\n`;
  expect((await apiClient(apiPort, token).call('POST', '/v1/admin/patients/import', csv, { 'content-type': 'text/csv' })).status).toBe(200);
  const sent = await sendMail({
    port: smtpPort,
    pki: path.join(dataDir, 'pki'),
    cert: 'hopital-a.mssante.fr',
    from: 'dr@hopital-a.mssante.fr',
    to: [`${ins}@patient.mssante.fr`],
  });
  expect(sent.ok).toBe(true);

  const proxy: TcpProxy = frozen === 'postgres' ? pgProxy : redisProxy;
  proxy.freeze();
  let code: number | null | undefined;
  child.once('exit', (c) => (code = c));
  process.kill(child.pid!, 'SIGTERM');
  await waitFor(async () => code !== undefined, 12_000, `the gateway to exit after SIGTERM with ${frozen} frozen`);
}

describe('bounded shutdown', () => {
  it('SIGTERM stops the gateway when PostgreSQL stops answering', async () => {
    await scenario('postgres');
  }, 120_000);

  it('SIGTERM stops the gateway when Redis stops answering', async () => {
    await scenario('redis');
  }, 120_000);
});
