// CSRF protection of cookie sessions, end to end on a real gateway (PostgreSQL, Redis, HTTP).
//
// Guarantees checked:
// - login/verify returns `csrfToken` = base64url(SHA-256("csrf\0" + token)), which is not what the sessions
//   table stores; GET /v1/me/session gives the same token back (cookie or bearer), with expiresAt and state.
// - Under the cookie alone, an unsafe method without `x-csrf-token`, or with a wrong one (another session's),
//   is refused 403 API-CSRF-01 (problem+json, French detail) before the route acts: nothing changes. With the
//   right header it succeeds; GET needs no header; a bearer token needs no header; logout needs none.
// - A revoked, expired or idle session is 401 API-AUTH-01, also on an unsafe method without the header.
import crypto from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { apiClient, importPatientsCsv, readLoginCode, startTestGateway, type TestGateway } from '../support/harness.js';

let t: TestGateway;
let db: pg.Client;
const P = {
  ins: makeTestIns(9700),
  email: 'csrf-camille@example.org',
  birthDate: '1985-03-14',
  provisionalCode: 'PROV-CSRF-9700',
  password: 'Mot-de-passe-csrf-9700',
};
const CSRF_DETAIL = 'La requête a été refusée par sécurité. Rechargez la page puis réessayez.';

interface Login {
  token: string;
  csrfToken: string;
  expiresAt: string;
  cookie: string;
}

beforeAll(async () => {
  t = await startTestGateway();
  db = new pg.Client({ connectionString: t.databaseUrl });
  await db.connect();
  await importPatientsCsv(
    t,
    [
      'ins,family_name,given_names,birth_date,email,state,provisional_code',
      `${P.ins},TEST-CSRF,Camille,${P.birthDate},${P.email},created,${P.provisionalCode}`,
    ].join('\n'),
  );
  const a = await anon().call('POST', '/v1/patient/activate', P);
  expect(a.status).toBe(204);
});
afterAll(async () => {
  await db?.end();
  await t?.close();
});

const anon = () => apiClient(t.gw.apiPort!);

async function login(): Promise<Login> {
  const l = await anon().json<{ challengeId: string }>('POST', '/v1/patient/login', { ins: P.ins, password: P.password });
  expect(l.status).toBe(200);
  const code = await readLoginCode(t.dataDir, P.email);
  const v = await anon().call('POST', '/v1/patient/login/verify', { challengeId: l.body.challengeId, code });
  expect(v.status).toBe(200);
  const body = (await v.json()) as { token: string; csrfToken: string; expiresAt: string };
  const cookie = /mes_session=([^;]+)/.exec(v.headers.get('set-cookie') ?? '')?.[1];
  expect(cookie).toBe(body.token);
  return { ...body, cookie: `mes_session=${cookie}` };
}

/** A request carried by the session cookie only (what a browser sends), with optional extra headers. */
async function viaCookie(s: Login, method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await anon().call(method, url, body, { cookie: s.cookie, ...headers });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), body: (text ? JSON.parse(text) : null) as Record<string, unknown> | null };
}

const accessOf = async (s: Login) =>
  (await viaCookie(s, 'GET', '/v1/me/access')).body as { samuRegulatorAllowed: boolean; breakGlassAllowed: boolean; blocked: string[] };

describe('the CSRF token', () => {
  it('is returned at login, derived from the session token, and never stored', async () => {
    const s = await login();
    expect(s.csrfToken).toBe(crypto.createHash('sha256').update(`csrf\u0000${s.token}`).digest('base64url'));
    expect(s.csrfToken).not.toBe(s.token);
    const stored = await db.query<{ token_hash: string }>('SELECT token_hash FROM sessions WHERE token_hash = $1', [
      crypto.createHash('sha256').update(s.token).digest('hex'),
    ]);
    expect(stored.rows).toHaveLength(1);
    expect(stored.rows[0]!.token_hash).not.toBe(s.csrfToken);
    expect((await db.query('SELECT 1 FROM sessions WHERE token_hash = $1', [s.csrfToken])).rowCount).toBe(0);
  });

  it('is given back by GET /v1/me/session, under the cookie or the bearer token', async () => {
    const s = await login();
    const byCookie = await viaCookie(s, 'GET', '/v1/me/session');
    expect(byCookie.status).toBe(200);
    expect(byCookie.body).toEqual({ expiresAt: s.expiresAt, csrfToken: s.csrfToken, state: 'active', address: `${P.ins}@patient.mssante.fr` });
    const byBearer = await apiClient(t.gw.apiPort!, s.token).json('GET', '/v1/me/session');
    expect(byBearer.status).toBe(200);
    expect(byBearer.body).toEqual(byCookie.body);
    const other = await login();
    expect(other.csrfToken).not.toBe(s.csrfToken);
  });

  it('is required on unsafe methods under the cookie: without it nothing changes', async () => {
    const s = await login();
    const before = await accessOf(s);
    const attempts: Record<string, string>[] = [{}, { 'x-csrf-token': '' }, { 'x-csrf-token': 'x'.repeat(43) }, { 'x-csrf-token': (await login()).csrfToken }];
    for (const headers of attempts) {
      const r = await viaCookie(s, 'PATCH', '/v1/me/access', { samuRegulatorAllowed: !before.samuRegulatorAllowed }, headers);
      expect(r.status).toBe(403);
      expect(r.type).toMatch(/^application\/problem\+json/);
      expect(r.body).toMatchObject({ code: 'API-CSRF-01', detail: CSRF_DETAIL, status: 403 });
    }
    const blocked = await viaCookie(s, 'POST', '/v1/me/access/blocked', { rpps: '10000000097' });
    expect(blocked.body).toMatchObject({ code: 'API-CSRF-01' });
    const establishment = await viaCookie(s, 'POST', '/v1/me/access/blocked-establishments', { finess: '750712184' });
    expect(establishment.body).toMatchObject({ code: 'API-CSRF-01' });
    // refused before the route looks anything up: an unknown message is 403, not 404
    const del = await viaCookie(s, 'DELETE', `/v1/me/messages/${crypto.randomUUID()}`);
    expect(del.status).toBe(403);
    expect(del.body).toMatchObject({ code: 'API-CSRF-01' });
    expect(await accessOf(s)).toEqual(before);
    expect(before.blocked).toEqual([]);
    expect(before).toMatchObject({ blockedEstablishments: [] });
  });

  it('lets the request through with the right header; GET needs none', async () => {
    const s = await login();
    expect((await viaCookie(s, 'GET', '/v1/me/messages')).status).toBe(200);
    const before = (await accessOf(s)).breakGlassAllowed;
    const r = await viaCookie(s, 'PATCH', '/v1/me/access', { breakGlassAllowed: !before }, { 'x-csrf-token': s.csrfToken });
    expect(r.status).toBe(204);
    expect((await accessOf(s)).breakGlassAllowed).toBe(!before);
    const unknown = await viaCookie(s, 'DELETE', `/v1/me/messages/${crypto.randomUUID()}`, undefined, { 'x-csrf-token': s.csrfToken });
    expect(unknown.status).toBe(404);
    expect((await viaCookie(s, 'PATCH', '/v1/me/access', { breakGlassAllowed: before }, { 'x-csrf-token': s.csrfToken })).status).toBe(204);
  });

  it('is not needed with a bearer token', async () => {
    const s = await login();
    const bearer = apiClient(t.gw.apiPort!, s.token);
    expect((await bearer.call('POST', '/v1/me/access/blocked', { rpps: '10000000097' })).status).toBe(204);
    expect((await bearer.json<{ blocked: string[] }>('GET', '/v1/me/access')).body.blocked).toEqual(['10000000097']);
    expect((await bearer.call('DELETE', '/v1/me/access/blocked/10000000097')).status).toBe(204);
  });
});

describe('ended sessions', () => {
  const expectUnauthenticated = async (s: Login) => {
    for (const r of [
      await viaCookie(s, 'GET', '/v1/me/session'),
      await viaCookie(s, 'PATCH', '/v1/me/access', { samuRegulatorAllowed: true }),
      await viaCookie(s, 'PATCH', '/v1/me/access', { samuRegulatorAllowed: true }, { 'x-csrf-token': s.csrfToken }),
    ]) {
      expect(r.status).toBe(401);
      expect(r.type).toMatch(/^application\/problem\+json/);
      expect(r.body).toMatchObject({ code: 'API-AUTH-01' });
    }
    expect((await apiClient(t.gw.apiPort!, s.token).json('GET', '/v1/me/session')).status).toBe(401);
  };

  it('logout needs no CSRF token and revokes the session', async () => {
    const s = await login();
    const out = await viaCookie(s, 'POST', '/v1/patient/logout');
    expect(out.status).toBe(204);
    await expectUnauthenticated(s);
  });

  it('an expired session is 401 API-AUTH-01', async () => {
    const s = await login();
    expect((await viaCookie(s, 'GET', '/v1/me/session')).status).toBe(200);
    const hash = crypto.createHash('sha256').update(s.token).digest('hex');
    const u = await db.query("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1", [hash]);
    expect(u.rowCount).toBe(1);
    await expectUnauthenticated(s);
  });

  it('an idle session is 401 API-AUTH-01', async () => {
    const s = await login();
    const hash = crypto.createHash('sha256').update(s.token).digest('hex');
    const idleMs = t.gw.config.limits.sessionIdleMs;
    const u = await db.query('UPDATE sessions SET last_seen_at = now() - make_interval(secs => $2) WHERE token_hash = $1', [hash, idleMs / 1000 + 1]);
    expect(u.rowCount).toBe(1);
    await expectUnauthenticated(s);
  });
});
