// The patient listener's defaults: the session cookie is Secure and every answer carries Strict-Transport-Security
// unless COOKIE_SECURE=false says otherwise; /metrics and /docs are not served there unless API_EXPOSE names them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { loadConfig } from '../../config/index.js';
import { HSTS } from '../../api/server.js';
import { apiClient, importPatientsCsv, readLoginCode, startTestGateway, type TestGateway } from '../support/harness.js';

const P = { ins: makeTestIns(7401), email: 'listener@example.org', birthDate: '1975-05-05', provisionalCode: 'PROV-LIST-01', password: 'Mot-de-passe-List-01' };

/** Activates P (first call) and logs in; returns the Set-Cookie header of the verify answer. */
async function loginCookie(t: TestGateway, activate: boolean): Promise<string> {
  const api = apiClient(t.gw.apiPort!);
  if (activate)
    expect(
      (await api.call('POST', '/v1/patient/activate', { ins: P.ins, provisionalCode: P.provisionalCode, birthDate: P.birthDate, password: P.password })).status,
    ).toBe(204);
  const l = await api.json<{ challengeId: string }>('POST', '/v1/patient/login', { ins: P.ins, password: P.password });
  expect(l.status).toBe(200);
  const v = await api.call('POST', '/v1/patient/login/verify', { challengeId: l.body.challengeId, code: await readLoginCode(t.dataDir, P.email) });
  expect(v.status).toBe(200);
  return v.headers.get('set-cookie') ?? '';
}

const csv = `ins,family_name,given_names,birth_date,email,state,provisional_code\n${P.ins},TEST-LIST,L,${P.birthDate},${P.email},created,${P.provisionalCode}\n`;

describe('settings', () => {
  it('COOKIE_SECURE is true unless set to false, whatever the listen address; API_EXPOSE is empty by default', () => {
    expect(loadConfig({}).cookieSecure).toBe(true);
    expect(loadConfig({ API_HOST: '127.0.0.1' }).cookieSecure).toBe(true);
    expect(loadConfig({ COOKIE_SECURE: 'false' }).cookieSecure).toBe(false);
    expect(() => loadConfig({ COOKIE_SECURE: 'auto' })).toThrow(/COOKIE_SECURE/);
    expect([...loadConfig({}).api.expose]).toEqual([]);
    expect([...loadConfig({ API_EXPOSE: 'metrics, docs' }).api.expose]).toEqual(['metrics', 'docs']);
    expect(() => loadConfig({ API_EXPOSE: 'admin' })).toThrow(/API_EXPOSE/);
  });
});

describe('the patient listener on its defaults', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ env: { COOKIE_SECURE: '', API_EXPOSE: '' } }); // empty = the default
    await importPatientsCsv(t, csv);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('sets a Secure session cookie and sends HSTS on every answer', async () => {
    const cookie = await loginCookie(t, true);
    expect(cookie).toMatch(/mes_session=/);
    expect(cookie).toMatch(/;\s*Secure(;|$)/i);
    for (const url of ['/', '/health', '/v1/me/messages', '/nowhere']) {
      const r = await fetch(`http://127.0.0.1:${t.gw.apiPort}${url}`);
      expect(r.headers.get('strict-transport-security'), url).toBe(HSTS);
    }
    // Logout drops the cookie with the attributes it was set with (a browser matches them).
    const token = /mes_session=([^;]+)/.exec(cookie)![1]!;
    const out = await fetch(`http://127.0.0.1:${t.gw.apiPort}/v1/patient/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(out.status).toBe(204);
    const cleared = out.headers.get('set-cookie') ?? '';
    expect(cleared).toMatch(/mes_session=;/);
    expect(cleared).toMatch(/;\s*Secure(;|$)/i);
    expect(cleared).toMatch(/SameSite=Strict/i);
  });

  it('serves neither /metrics nor /docs (problem+json 404)', async () => {
    for (const url of ['/metrics', '/docs', '/docs/json', '/docs/static/index.html']) {
      const r = await apiClient(t.gw.apiPort!).json<{ code: string }>('GET', url);
      expect(r.status, url).toBe(404);
      expect(r.type).toMatch(/^application\/problem\+json/);
      expect(r.body.code).toBe('API-NOT-FOUND');
    }
  });
});

describe('the patient listener configured for plain-http development, with the operator pages', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ env: { COOKIE_SECURE: 'false', API_EXPOSE: 'metrics,docs' } });
    await importPatientsCsv(t, csv);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('sets the cookie without Secure and sends no HSTS', async () => {
    const cookie = await loginCookie(t, true);
    expect(cookie).toMatch(/mes_session=.*HttpOnly/i);
    expect(cookie).not.toMatch(/Secure/i);
    expect((await fetch(`http://127.0.0.1:${t.gw.apiPort}/`)).headers.get('strict-transport-security')).toBeNull();
  });

  it('serves /metrics and the OpenAPI document', async () => {
    const m = await fetch(`http://127.0.0.1:${t.gw.apiPort}/metrics`);
    expect(m.status).toBe(200);
    expect(await m.text()).toMatch(/^# HELP/m);
    const d = await apiClient(t.gw.apiPort!).json<{ openapi: string }>('GET', '/docs/json');
    expect(d.status).toBe(200);
    expect(d.body.openapi).toMatch(/^3\./);
  });
});
