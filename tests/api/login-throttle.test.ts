// Login throttling and sessions end to end (access/patients.ts, access/login-throttle.ts, access/lifecycle.ts):
// - throttling per (client address, INS) with growing delays, the same for an unknown INS as for an existing
//   one (status, body, Retry-After), and no lock-out of the patient from another address;
// - the failure count is atomic: parallel guesses get no more than the free failures;
// - wrong one-time codes count too, and pending one-time codes per account are capped;
// - every profile state change ends the profile's sessions, and a session opens only for an active profile;
// - a password hash with the old scrypt cost is replaced at the next successful login.
import { scryptSync } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throttleKey } from '../../access/login-throttle.js';
import { makeTestIns } from '../../access/rules/ins.js';
import { apiClient, importPatientsCsv, loginPatient, readLoginCode, startTestGateway, type TestGateway } from '../support/harness.js';

let t: TestGateway;
let db: pg.Client;
const patient = (n: number) => ({
  ins: makeTestIns(n),
  email: `p${n}@example.org`,
  birthDate: '1975-03-04',
  provisionalCode: `PROV-${n}`,
  password: `Mot-de-passe-${n}-ok`,
});
const E = patient(9501); // throttling and the oracle
const P = patient(9502); // parallel guesses
const C = patient(9503); // wrong one-time codes
const M = patient(9504); // pending codes cap
const S = patient(9505); // sessions and state changes
const H = patient(9506); // old scrypt cost
const all = [E, P, C, M, S, H];

beforeAll(async () => {
  t = await startTestGateway({ env: { TRUST_PROXY: 'true' } });
  db = new pg.Client({ connectionString: t.databaseUrl });
  await db.connect();
  await importPatientsCsv(
    t,
    [
      'ins,family_name,given_names,birth_date,email,state,provisional_code',
      ...all.map((p) => `${p.ins},TEST-THR,X,${p.birthDate},${p.email},created,${p.provisionalCode}`),
    ].join('\n'),
  );
  for (const p of all) {
    const a = await apiClient(t.gw.apiPort!).call('POST', '/v1/patient/activate', {
      ins: p.ins,
      provisionalCode: p.provisionalCode,
      birthDate: p.birthDate,
      password: p.password,
    });
    expect(a.status).toBe(204);
  }
});
afterAll(async () => {
  await db?.end();
  await t?.close();
});

const post = (url: string, body: unknown, from: string, token?: string) =>
  fetch(`http://127.0.0.1:${t.gw.apiPort}${url}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': from, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
const login = (ins: string, password: string, from: string) => post('/v1/patient/login', { ins, password }, from);
const answer = async (r: Response) => {
  const { instance: _instance, ...body } = (await r.json()) as Record<string, unknown>;
  return { status: r.status, body, retryAfter: r.headers.get('retry-after') !== null };
};
const free = () => t.gw.config.limits.loginFreeFailures;

describe('throttling per client address and INS', () => {
  it('answers an unknown INS exactly like an existing one, throttling included', async () => {
    const unknown = makeTestIns(9599);
    for (let i = 0; i <= free(); i++) {
      const known = await answer(await login(E.ins, 'mauvais-mot-de-passe', '203.0.113.10'));
      const other = await answer(await login(unknown, 'mauvais-mot-de-passe', '203.0.113.11'));
      expect(other).toEqual(known);
      expect(known.status).toBe(i < free() ? 401 : 429);
    }
    const last = await answer(await login(unknown, 'mauvais-mot-de-passe', '203.0.113.11'));
    expect(last.status).toBe(429);
    expect(last.retryAfter).toBe(true);
    expect(last.body.code).toBe('API-PATIENT-THROTTLED');
  });

  it('does not shut the patient out from another address (no lock as a weapon)', async () => {
    expect((await login(E.ins, E.password, '203.0.113.12')).status).toBe(200);
  });

  it('makes the waits grow after each further failure', async () => {
    const key = throttleKey('203.0.113.10', E.ins);
    const retryAfter = async () => Number((await login(E.ins, E.password, '203.0.113.10')).headers.get('retry-after'));
    const first = await retryAfter();
    // the wait is over (moved back in time rather than slept): one more wrong guess is checked, then a longer wait
    await db.query(`UPDATE login_throttle SET last_failure_at = last_failure_at - interval '1 hour' WHERE key = $1`, [key]);
    expect((await login(E.ins, 'encore-mauvais', '203.0.113.10')).status).toBe(401);
    const second = await retryAfter();
    expect(first).toBeGreaterThan(0);
    expect(second).toBeGreaterThan(first);
  });

  it('counts parallel guesses atomically: no more than the free failures get checked', async () => {
    const burst = await Promise.all(Array.from({ length: 12 }, () => login(P.ins, 'mauvais-mot-de-passe', '203.0.113.20')));
    const statuses = burst.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(free());
    expect(statuses.filter((s) => s === 429)).toHaveLength(12 - free());
  });

  it('counts wrong one-time codes towards the same throttle', async () => {
    const from = '203.0.113.30';
    let wrongCodes = 0;
    while (wrongCodes < free()) {
      const l = await login(C.ins, C.password, from);
      expect(l.status).toBe(200);
      const { challengeId } = (await l.json()) as { challengeId: string };
      const code = await readLoginCode(t.dataDir, C.email);
      const wrong = code === '000000' ? '111111' : '000000';
      for (let i = 0; i < 2 && wrongCodes < free(); i++, wrongCodes++)
        expect((await post('/v1/patient/login/verify', { challengeId, code: wrong }, from)).status).toBe(401);
    }
    const r = await login(C.ins, C.password, from);
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).not.toBeNull();
  });

  it('caps the pending one-time codes of an account', async () => {
    const from = '203.0.113.40';
    for (let i = 0; i < t.gw.config.limits.loginMaxLiveChallenges; i++) expect((await login(M.ins, M.password, from)).status).toBe(200);
    const r = await login(M.ins, M.password, from);
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await r.json()) as { code: string }).code).toBe('API-PATIENT-CHALLENGES-PENDING');
  });
});

describe('sessions and profile states', () => {
  const admin = async () => apiClient(t.gw.apiPort!, (await fs.readFile(path.join(t.dataDir, 'admin.token'), 'utf8')).trim());

  it('ends the sessions of a profile whose state an operator changes', async () => {
    const token = await loginPatient(t, { ...S, provisionalCode: undefined });
    const me = apiClient(t.gw.apiPort!, token);
    expect((await me.json('GET', '/v1/me/messages')).status).toBe(200);
    expect((await (await admin()).json('POST', `/v1/admin/patients/${S.ins}/state`, { state: 'closed' })).status).toBe(200);
    expect((await me.json('GET', '/v1/me/messages')).status).toBe(401);
    expect((await (await admin()).json('POST', `/v1/admin/patients/${S.ins}/state`, { state: 'reopen' })).status).toBe(200);
    expect((await me.json('GET', '/v1/me/messages')).status).toBe(401); // revoked, not suspended
    const events = await db.query(`SELECT kind FROM activity_events e JOIN patients p ON p.id = e.patient_id WHERE p.ins = $1 ORDER BY e.id`, [S.ins]);
    expect(events.rows.map((r) => r.kind)).toEqual(expect.arrayContaining(['profile-state-changed']));
  });

  it('opens no session for a profile that is no longer active, even if the session was not revoked', async () => {
    const token = await loginPatient(t, { ...S, provisionalCode: undefined });
    const me = apiClient(t.gw.apiPort!, token);
    expect((await me.json('GET', '/v1/me/messages')).status).toBe(200);
    await db.query(`UPDATE patients SET state = 'closed' WHERE ins = $1`, [S.ins]); // behind the lifecycle's back
    expect((await me.json('GET', '/v1/me/messages')).status).toBe(401);
    await db.query(`UPDATE patients SET state = 'active' WHERE ins = $1`, [S.ins]);
  });
});

describe('password hash cost', () => {
  it('rehashes a password stored with the old scrypt cost at the next successful login', async () => {
    const salt = Buffer.alloc(16, 5);
    const old = `scrypt$32768$8$1$${salt.toString('base64')}$${scryptSync(H.password, salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }).toString('base64')}`;
    await db.query('UPDATE patients SET password_hash = $1 WHERE ins = $2', [old, H.ins]);
    await loginPatient(t, { ...H, provisionalCode: undefined });
    const stored = (await db.query<{ password_hash: string }>('SELECT password_hash FROM patients WHERE ins = $1', [H.ins])).rows[0]!.password_hash;
    expect(stored).toMatch(/^scrypt\$131072\$8\$1\$/);
    await loginPatient(t, { ...H, provisionalCode: undefined }); // the new hash verifies
  });
});
