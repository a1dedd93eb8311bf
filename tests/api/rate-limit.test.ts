// HTTP rate limits (api/rate-limit.ts) on real gateways sharing real PostgreSQL: per client address and for all
// addresses on the patient authentication routes, per bearer token on the professional API, counted in the
// database (so across processes), 429 problem+json with Retry-After; TRUST_PROXY decides whether
// X-Forwarded-For names the client; a burst beyond the scrypt gate gets 503 problem+json with Retry-After.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';

let perIp: TestGateway; // TRUST_PROXY=true, 3 per address per minute, 2 per professional token
let perIp2: TestGateway; // a second process on the same database
let global: TestGateway; // TRUST_PROXY=true, 3 per minute for all addresses together
let direct: TestGateway; // TRUST_PROXY off (the default), 2 per address
const UNKNOWN = makeTestIns(9601);

beforeAll(async () => {
  const env = {
    TRUST_PROXY: 'true',
    LIMIT_PATIENT_AUTH_PER_IP_PER_MINUTE: '3',
    LIMIT_PRO_API_PER_TOKEN_PER_MINUTE: '2',
    LIMIT_SCRYPT_CONCURRENCY: '1',
    LIMIT_SCRYPT_MAX_WAITING: '0',
  };
  perIp = await startTestGateway({ env });
  perIp2 = await startTestGateway({ env, databaseUrl: perIp.databaseUrl });
  global = await startTestGateway({ env: { TRUST_PROXY: 'true', LIMIT_PATIENT_AUTH_PER_IP_PER_MINUTE: '100', LIMIT_PATIENT_AUTH_GLOBAL_PER_MINUTE: '3' } });
  direct = await startTestGateway({ env: { LIMIT_PATIENT_AUTH_PER_IP_PER_MINUTE: '2' } });
});
afterAll(async () => {
  await Promise.all([perIp2?.close(), global?.close(), direct?.close()]);
  await perIp?.close();
});

const post = (t: TestGateway, url: string, body: unknown, from?: string, headers: Record<string, string> = {}) =>
  fetch(`http://127.0.0.1:${t.gw.apiPort}${url}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(from ? { 'x-forwarded-for': from } : {}), ...headers },
    body: JSON.stringify(body),
  });
const login = (t: TestGateway, from?: string, ins = UNKNOWN) => post(t, '/v1/patient/login', { ins, password: 'pas-le-bon-mot' }, from);

async function expectRateLimited(res: Response): Promise<void> {
  expect(res.status).toBe(429);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(60);
  const body = (await res.json()) as { code: string; status: number; detail: string };
  expect(body.code).toBe('API-RATE-01');
  expect(body.status).toBe(429);
  expect(body.detail).toMatch(/Trop de demandes/);
}

describe('patient authentication routes', () => {
  it('are limited per client address, the four routes together, with 429 problem+json and Retry-After', async () => {
    for (let i = 0; i < 3; i++) expect((await login(perIp, '203.0.113.1', makeTestIns(9610 + i))).status).toBe(401);
    await expectRateLimited(await login(perIp, '203.0.113.1'));
    await expectRateLimited(
      await post(
        perIp,
        '/v1/patient/activate',
        { ins: UNKNOWN, provisionalCode: 'X', birthDate: '1970-01-01', password: 'Un-mot-de-passe-ok-4' },
        '203.0.113.1',
      ),
    );
    await expectRateLimited(
      await post(perIp, '/v1/patient/login/verify', { challengeId: '00000000-0000-4000-8000-000000000000', code: '123456' }, '203.0.113.1'),
    );
    // another address is counted on its own
    expect((await login(perIp, '203.0.113.2')).status).toBe(401);
  });

  it('are counted in the database, across every process sharing it', async () => {
    expect((await login(perIp, '203.0.113.3', makeTestIns(9620))).status).toBe(401);
    expect((await login(perIp2, '203.0.113.3', makeTestIns(9621))).status).toBe(401);
    expect((await login(perIp, '203.0.113.3', makeTestIns(9622))).status).toBe(401);
    await expectRateLimited(await login(perIp2, '203.0.113.3'));
  });

  it('are limited for all addresses together', async () => {
    for (const [i, from] of ['198.51.100.1', '198.51.100.2', '198.51.100.3'].entries())
      expect((await login(global, from, makeTestIns(9630 + i))).status).toBe(401);
    await expectRateLimited(await login(global, '198.51.100.4'));
  });

  it('ignore X-Forwarded-For unless TRUST_PROXY is set', async () => {
    expect((await login(direct, '192.0.2.1', makeTestIns(9640))).status).toBe(401);
    expect((await login(direct, '192.0.2.2', makeTestIns(9641))).status).toBe(401);
    await expectRateLimited(await login(direct, '192.0.2.3'));
  });

  it('do not limit the session and logout routes', async () => {
    for (let i = 0; i < 4; i++) expect((await post(direct, '/v1/patient/logout', {}, undefined)).status).toBe(204);
  });
});

describe('professional API', () => {
  it('is limited per bearer token, before the token is even verified', async () => {
    const get = (token: string) =>
      fetch(`http://127.0.0.1:${perIp.gw.apiPort}/v1/patients/${UNKNOWN}/documents`, { headers: { authorization: `Bearer ${token}` } });
    expect((await get('token-a')).status).toBe(401);
    expect((await get('token-a')).status).toBe(401);
    await expectRateLimited(await get('token-a'));
    expect((await get('token-b')).status).toBe(401);
  });
});

describe('password hashing', () => {
  it('answers 503 problem+json with Retry-After when a burst exceeds the scrypt gate, instead of queueing it', async () => {
    // One hash at a time and none waiting (this gateway's limits): parallel logins from distinct addresses overlap.
    const burst = await Promise.all(Array.from({ length: 6 }, (_, i) => login(perIp, `203.0.113.${50 + i}`, makeTestIns(9650 + i))));
    const statuses = burst.map((r) => r.status);
    expect(statuses.every((s) => s === 401 || s === 503)).toBe(true);
    expect(statuses).toContain(401);
    const busy = burst.find((r) => r.status === 503)!;
    expect(busy).toBeDefined();
    expect(busy.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Number(busy.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await busy.json()) as { code: string }).code).toBe('API-PATIENT-BUSY');
  });
});
