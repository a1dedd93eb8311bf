// The patient API end to end: activation, two-factor login, throttling, sessions, isolation between
// patients, pagination, problem+json errors and the OpenAPI document.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { apiClient, importPatientsCsv, loginPatient, readLoginCode, sendMail, startTestGateway, waitFor, type TestGateway } from '../support/harness.js';

let t: TestGateway;
const A = { ins: makeTestIns(201), email: 'anna@example.org', birthDate: '1982-04-05', provisionalCode: 'PROV-ANNA-01', password: 'Tres-bon-mot-de-passe-1' };
const B = { ins: makeTestIns(202), email: 'basile@example.org', birthDate: '1979-11-12', provisionalCode: 'PROV-BASILE-1', password: 'Autre-mot-de-passe-22' };
const L = { ins: makeTestIns(203), email: 'lea@example.org', birthDate: '1990-01-01', provisionalCode: 'PROV-LEA-0001', password: 'Mot-de-passe-de-Lea-3' };
const O = makeTestIns(204);

beforeAll(async () => {
  // Ten free failures: the code tests below spend five on Anna, who logs in again later.
  t = await startTestGateway({ env: { LIMIT_API_PAGE_SIZE: '2', LIMIT_LOGIN_FREE_FAILURES: '10', API_EXPOSE: 'docs' } });
  await importPatientsCsv(
    t,
    [
      'ins,family_name,given_names,birth_date,email,state,provisional_code',
      `${A.ins},TEST-A,Anna,${A.birthDate},${A.email},pending,${A.provisionalCode}`,
      `${B.ins},TEST-B,Basile,${B.birthDate},${B.email},created,${B.provisionalCode}`,
      `${L.ins},TEST-L,Lea,${L.birthDate},${L.email},created,${L.provisionalCode}`,
      `${O},TEST-O,Oscar,1950-01-01,oscar@example.org,opposed,PROV-OSCAR-1`,
    ].join('\n'),
  );
});
afterAll(async () => {
  await t?.close();
});

const anon = () => apiClient(t.gw.apiPort!);

describe('activation', () => {
  it('refuses a wrong provisional code or birth date with problem+json, then activates', async () => {
    const bad = await anon().json<{ code: string; detail: string }>('POST', '/v1/patient/activate', { ...A, provisionalCode: 'WRONG-CODE' });
    expect(bad.status).toBe(400);
    expect(bad.type).toMatch(/^application\/problem\+json/);
    expect(bad.body.code).toBe('API-PATIENT-ACTIVATION-REFUSED');
    const badBirth = await anon().json('POST', '/v1/patient/activate', { ...A, birthDate: '1982-04-06' });
    expect(badBirth.status).toBe(400);
    const weak = await anon().json<{ detail: string }>('POST', '/v1/patient/activate', { ...A, password: 'court' });
    expect(weak.status).toBe(400);
    expect(weak.body.detail).toMatch(/au moins 12 caractères/);
    const ok = await anon().call('POST', '/v1/patient/activate', A);
    expect(ok.status).toBe(204);
    const again = await anon().json('POST', '/v1/patient/activate', A);
    expect(again.status).toBe(400); // the code is consumed and the profile is active
  });

  it('refuses an opposed profile', async () => {
    const r = await anon().json('POST', '/v1/patient/activate', {
      ins: O,
      provisionalCode: 'PROV-OSCAR-1',
      birthDate: '1950-01-01',
      password: 'Un-mot-de-passe-ok-4',
    });
    expect(r.status).toBe(400);
  });

  it('validates the request body', async () => {
    const r = await anon().json<{ code: string }>('POST', '/v1/patient/activate', { ins: 'x' });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('API-VALIDATION');
  });
});

describe('login', () => {
  it('answers a wrong password and an unknown INS alike', async () => {
    const wrong = await anon().json<{ detail: string; code: string }>('POST', '/v1/patient/login', { ins: A.ins, password: 'pas-le-bon-mot' });
    const unknown = await anon().json<{ detail: string; code: string }>('POST', '/v1/patient/login', { ins: makeTestIns(9999), password: 'pas-le-bon-mot' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(unknown.body.detail).toBe(wrong.body.detail);
    expect(unknown.body.code).toBe(wrong.body.code);
  });

  it('needs the e-mailed code; a wrong code is refused and the code is single-use', async () => {
    const l = await anon().json<{ challengeId: string }>('POST', '/v1/patient/login', { ins: A.ins, password: A.password });
    expect(l.status).toBe(200);
    expect(Object.keys(l.body)).toEqual(['challengeId']);
    const code = await readLoginCode(t.dataDir, A.email);
    const wrongCode = code === '000000' ? '111111' : '000000';
    expect((await anon().json('POST', '/v1/patient/login/verify', { challengeId: l.body.challengeId, code: wrongCode })).status).toBe(401);
    const v = await anon().call('POST', '/v1/patient/login/verify', { challengeId: l.body.challengeId, code });
    expect(v.status).toBe(200);
    expect(v.headers.get('set-cookie')).toMatch(/mes_session=.*HttpOnly.*SameSite=Strict/i);
    expect((await anon().json('POST', '/v1/patient/login/verify', { challengeId: l.body.challengeId, code })).status).toBe(401);
  });

  it('stops accepting a challenge after too many wrong codes, even the right one', async () => {
    const l = await anon().json<{ challengeId: string }>('POST', '/v1/patient/login', { ins: A.ins, password: A.password });
    const code = await readLoginCode(t.dataDir, A.email);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < t.gw.config.limits.loginCodeMaxAttempts; i++) {
      await anon().call('POST', '/v1/patient/login/verify', { challengeId: l.body.challengeId, code: wrong });
    }
    expect((await anon().json('POST', '/v1/patient/login/verify', { challengeId: l.body.challengeId, code })).status).toBe(401);
  });

  it('throttles a client after repeated wrong passwords for one INS', async () => {
    await loginPatient(t, L); // activates Léa
    for (let i = 0; i < t.gw.config.limits.loginFreeFailures; i++) {
      expect((await anon().json('POST', '/v1/patient/login', { ins: L.ins, password: 'mauvais-mot-de-passe' })).status).toBe(401);
    }
    const res = await anon().call('POST', '/v1/patient/login', { ins: L.ins, password: L.password });
    expect(res.status).toBe(429);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/Trop de tentatives/);
  });
});

describe('mailbox API', () => {
  it('requires a session', async () => {
    const r = await anon().json<{ status: number; code: string }>('GET', '/v1/me/messages');
    expect(r.status).toBe(401);
    expect(r.type).toMatch(/^application\/problem\+json/);
    expect(r.body.code).toBe('API-AUTH-01');
  });

  it('pages newest first, isolates patients, and ends sessions at logout', async () => {
    const send = (ins: string, subject: string) =>
      sendMail({
        port: t.gw.smtpPort!,
        pki: t.pki,
        cert: 'cabinet-b.mssante.fr',
        from: 'dr.b@cabinet-b.mssante.fr',
        to: [`${ins}@patient.mssante.fr`],
        subject,
      });
    for (let i = 1; i <= 5; i++) expect((await send(B.ins, `message ${i}`)).ok).toBe(true);
    expect((await send(A.ins, 'pour Anna')).ok).toBe(true);

    const tokenB = await loginPatient(t, B);
    const apiB = apiClient(t.gw.apiPort!, tokenB);
    await waitFor(
      async () => {
        const s = await apiClient(t.gw.apiPort!, (await import('node:fs')).readFileSync(`${t.dataDir}/admin.token`, 'utf8').trim()).json<{ queued: number }>(
          'GET',
          '/v1/admin/deliveries/stats',
        );
        return s.body.queued === 0;
      },
      30_000,
      'deliveries',
    );
    const subjects: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { status: number; body: { items: { id: string; subject: string; from: { displayName: string } }[]; next: string | null } } = await apiB.json(
        'GET',
        `/v1/me/messages${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      subjects.push(...page.body.items.map((i) => i.subject));
      for (const i of page.body.items) expect(JSON.stringify(i)).not.toContain('@'); // no raw professional address
      cursor = page.body.next;
      pages++;
    } while (cursor && pages < 10);
    expect(subjects).toEqual(['message 5', 'message 4', 'message 3', 'message 2', 'message 1']);
    expect(pages).toBe(3);

    const tokenA = await loginPatient(t, { ...A, provisionalCode: undefined });
    const apiA = apiClient(t.gw.apiPort!, tokenA);
    const listA = await apiA.json<{ items: { id: string }[] }>('GET', '/v1/me/messages');
    expect(listA.body.items).toHaveLength(1);
    const listB = await apiB.json<{ items: { id: string }[] }>('GET', '/v1/me/messages');
    expect((await apiB.json('GET', `/v1/me/messages/${listA.body.items[0]!.id}`)).status).toBe(404);
    expect((await apiA.json('GET', `/v1/me/messages/${listB.body.items[0]!.id}`)).status).toBe(404);

    expect((await apiB.json('GET', '/v1/me/messages?cursor=not-a-cursor')).status).toBe(400);
    expect((await apiB.call('POST', '/v1/patient/logout')).status).toBe(204);
    expect((await apiB.json('GET', '/v1/me/messages')).status).toBe(401);
  });
});

describe('operator API and OpenAPI', () => {
  it('refuses the operator API without its token', async () => {
    const r = await anon().json('GET', '/v1/admin/deliveries/stats');
    expect(r.status).toBe(401);
  });

  it('reports CSV errors by line and imports nothing', async () => {
    const token = (await import('node:fs')).readFileSync(`${t.dataDir}/admin.token`, 'utf8').trim();
    const res = await apiClient(t.gw.apiPort!, token).call(
      'POST',
      '/v1/admin/patients/import',
      `ins,family_name,given_names,birth_date,email,state,provisional_code\n${makeTestIns(301)},X,Y,1980-01-01,x@example.org,created,\n123,X,Y,1980-01-01,x@example.org,created,\n`,
      { 'content-type': 'text/csv' },
    );
    expect(res.status).toBe(422);
    const body = (await res.json()) as { errors: { line: number }[] };
    expect(body.errors.map((e) => e.line)).toEqual([3]);
    const login = await anon().json('POST', '/v1/patient/activate', {
      ins: makeTestIns(301),
      provisionalCode: 'x',
      birthDate: '1980-01-01',
      password: 'Un-mot-de-passe-ok-4',
    });
    expect(login.status).toBe(400);
  });

  it('serves the OpenAPI document at /docs', async () => {
    const r = await anon().json<{ openapi: string; paths: Record<string, unknown> }>('GET', '/docs/json');
    expect(r.status).toBe(200);
    expect(r.body.openapi).toMatch(/^3\./);
    expect(Object.keys(r.body.paths)).toEqual(
      expect.arrayContaining(['/v1/patient/login', '/v1/me/messages', '/v1/me/messages/{id}/attachments/{attachmentId}']),
    );
  });
});
