// Account self-service (issue 11 item 6), end to end on a real gateway: a new provisional code by e-mail, the
// forgotten password, reactivation after closure or opposition, changing the password, logging out everywhere.
//
// Guarantees checked:
// - POST /v1/patient/provisional-code answers 202 with the same (empty) body for an unknown INS and a known one;
//   only the known one gets an e-mail, at the address on file, carrying a 12-digit code and no health data (no
//   INS, no name); the issue is in the patient's history. Requests count towards the (client, INS) throttle,
//   the same for an unknown INS (429 with Retry-After).
// - Forgotten password: a wrong code, a wrong birth date and an unknown INS get one answer; the right code sets
//   the new password, ends every session, and is consumed.
// - Reactivation: closed (after activation) → active, the old password works again; opposed (never activated) →
//   created, then activation with the same code.
// - Changing the password needs the current one (400, the session stays); it ends the other sessions only.
// - Logging out everywhere ends every session, the current one included.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import {
  apiClient,
  importPatientsCsv,
  loginPatient,
  readNotices,
  readProvisionalCode,
  startTestGateway,
  waitFor,
  type TestGateway,
} from '../support/harness.js';

let t: TestGateway;
let db: pg.Client;
const mk = (n: number, state: string) => ({
  ins: makeTestIns(n),
  email: `self-${n}@example.org`,
  birthDate: '1975-04-0' + ((n % 9) + 1),
  provisionalCode: `PROV-SELF-${n}`,
  password: `Mot-de-passe-Self-${n}`,
  familyName: `TEST-SELF-${n}`,
  state,
});
const forgot = mk(9660, 'created');
const changer = mk(9661, 'created');
const closer = mk(9662, 'created');
const opposer = mk(9663, 'pending');
const noisy = mk(9664, 'created');
const UNKNOWN = makeTestIns(9699);
const RESET_REFUSED = /^Changement du mot de passe impossible : vérifiez votre identifiant, votre code provisoire et votre date de naissance\./;

beforeAll(async () => {
  t = await startTestGateway({ env: { LIMIT_PATIENT_AUTH_PER_IP_PER_MINUTE: '100000' } });
  db = new pg.Client({ connectionString: t.databaseUrl });
  await db.connect();
  const all = [forgot, changer, closer, opposer, noisy];
  await importPatientsCsv(
    t,
    [
      'ins,family_name,given_names,birth_date,email,state,provisional_code',
      ...all.map((p) => `${p.ins},${p.familyName},Jeanne,${p.birthDate},${p.email},${p.state},${p.provisionalCode}`),
    ].join('\n'),
  );
  for (const p of [forgot, changer, closer]) await loginPatient(t, p); // activates them
});
afterAll(async () => {
  await db?.end();
  await t?.close();
});

const anon = () => apiClient(t.gw.apiPort!);
const as = (token: string) => apiClient(t.gw.apiPort!, token);
const requestCode = (ins: string) => anon().call('POST', '/v1/patient/provisional-code', { ins });
/** Asks for a code and waits for the e-mail carrying a code other than `previous`. */
async function newCode(p: { ins: string; email: string }): Promise<string> {
  const previous = await readProvisionalCode(t.dataDir, p.email);
  const r = await requestCode(p.ins);
  expect(r.status).toBe(202);
  return waitFor(
    async () => {
      const c = await readProvisionalCode(t.dataDir, p.email);
      return c !== previous ? c : null;
    },
    20_000,
    'the provisional code e-mail',
  );
}
const stateOf = async (ins: string) => (await db.query<{ state: string }>('SELECT state FROM patients WHERE ins = $1', [ins])).rows[0]?.state;
const sessionOk = async (token: string) => (await as(token).call('GET', '/v1/me/session')).status === 200;
/** A login of an already activated profile. */
const signIn = (p: { ins: string; email: string; birthDate: string; password: string }) =>
  loginPatient(t, { ins: p.ins, email: p.email, birthDate: p.birthDate, password: p.password });
const login = (p: { ins: string; password: string }) => anon().call('POST', '/v1/patient/login', { ins: p.ins, password: p.password });

describe('POST /v1/patient/provisional-code', () => {
  it('answers an unknown INS exactly like a known one; only the known one gets an e-mail, without health data', async () => {
    const known = await requestCode(forgot.ins);
    const unknown = await requestCode(UNKNOWN);
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(await known.text()).toBe(await unknown.text());
    const code = await waitFor(() => readProvisionalCode(t.dataDir, forgot.email), 20_000, 'the e-mail');
    expect(code).toMatch(/^\d{12}$/);
    const [mail] = await readNotices(t.dataDir, forgot.email);
    expect(mail).toContain('code provisoire');
    expect(mail).not.toContain(forgot.ins);
    expect(mail).not.toContain(forgot.familyName);
    const events = await db.query<{ kind: string; actor: string }>(
      "SELECT kind, actor FROM activity_events WHERE patient_id = (SELECT id FROM patients WHERE ins = $1) AND kind = 'provisional-code-issued'",
      [forgot.ins],
    );
    expect(events.rows).toEqual([{ kind: 'provisional-code-issued', actor: 'system' }]);
  });

  it('throttles repeated requests per (client, INS), an unknown INS like a known one', async () => {
    const free = t.gw.config.limits.loginFreeFailures;
    for (let i = 0; i < free; i++) {
      expect((await requestCode(noisy.ins)).status).toBe(202);
      expect((await requestCode(makeTestIns(9698))).status).toBe(202);
    }
    const known = await anon().json<{ code: string }>('POST', '/v1/patient/provisional-code', { ins: noisy.ins });
    const unknown = await anon().json<{ code: string }>('POST', '/v1/patient/provisional-code', { ins: makeTestIns(9698) });
    expect(known.status).toBe(429);
    expect(known.body.code).toBe('API-PATIENT-THROTTLED');
    expect(unknown.status).toBe(429);
    expect(unknown.body.code).toBe(known.body.code);
  });
});

describe('forgotten password: POST /v1/patient/password/reset', () => {
  it('refuses wrong codes, birth dates and unknown INS with one answer, then sets the password with the e-mailed code', async () => {
    const before = await signIn(forgot);
    const code = await newCode(forgot);
    const reset = (body: Record<string, string>) => anon().json<{ code: string; detail: string }>('POST', '/v1/patient/password/reset', body);
    const good = { ins: forgot.ins, provisionalCode: code, birthDate: forgot.birthDate, password: 'Nouveau-Mot-de-passe-1' };
    for (const bad of [
      { ...good, provisionalCode: '000000000000' },
      { ...good, birthDate: '1999-01-01' },
      { ...good, ins: UNKNOWN },
    ]) {
      const r = await reset(bad);
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('API-PATIENT-RESET-REFUSED');
      expect(r.body.detail).toMatch(RESET_REFUSED);
    }
    const weak = await reset({ ...good, password: 'court' });
    expect(weak.body.code).toBe('API-PATIENT-WEAK-PASSWORD');
    expect((await reset(good)).status).toBe(204);
    expect(await sessionOk(before)).toBe(false);
    expect((await login(forgot)).status).toBe(401);
    await signIn({ ...forgot, password: good.password });
    // the code is consumed
    expect((await reset({ ...good, password: 'Encore-un-autre-mdp-2' })).body.code).toBe('API-PATIENT-RESET-REFUSED');
  });
});

describe('reactivation: POST /v1/patient/reactivate', () => {
  it('reopens a closed profile to active (the password still works)', async () => {
    const token = await signIn(closer);
    expect((await as(token).call('POST', '/v1/me/profile/close')).status).toBe(204);
    expect(await stateOf(closer.ins)).toBe('closed');
    const code = await newCode(closer);
    const wrong = await anon().json<{ code: string }>('POST', '/v1/patient/reactivate', { ins: closer.ins, provisionalCode: code, birthDate: '1900-01-01' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.code).toBe('API-PATIENT-REACTIVATION-REFUSED');
    expect(await stateOf(closer.ins)).toBe('closed');
    const ok = await anon().json<{ state: string }>('POST', '/v1/patient/reactivate', { ins: closer.ins, provisionalCode: code, birthDate: closer.birthDate });
    expect(ok).toMatchObject({ status: 200, body: { state: 'active' } });
    expect(await stateOf(closer.ins)).toBe('active');
    await signIn(closer);
  });

  it('reopens an opposed, never activated profile to created; the same code then activates it', async () => {
    expect(
      (await anon().call('POST', '/v1/patient/oppose', { ins: opposer.ins, provisionalCode: opposer.provisionalCode, birthDate: opposer.birthDate })).status,
    ).toBe(204);
    const code = await newCode(opposer);
    const body = { ins: opposer.ins, provisionalCode: code, birthDate: opposer.birthDate };
    const ok = await anon().json<{ state: string }>('POST', '/v1/patient/reactivate', body);
    expect(ok).toMatchObject({ status: 200, body: { state: 'created' } });
    expect(await stateOf(opposer.ins)).toBe('created');
    // not twice: a created profile is not reactivated
    expect((await anon().json<{ code: string }>('POST', '/v1/patient/reactivate', body)).body.code).toBe('API-PATIENT-REACTIVATION-REFUSED');
    await loginPatient(t, { ...opposer, provisionalCode: code });
    expect(await stateOf(opposer.ins)).toBe('active');
  });
});

describe('POST /v1/me/password and POST /v1/me/logout-everywhere', () => {
  it('changes the password with the current one, ending the other sessions only', async () => {
    const here = await signIn(changer);
    const elsewhere = await signIn(changer);
    const wrong = await as(here).json<{ code: string }>('POST', '/v1/me/password', { currentPassword: 'pas-le-bon', newPassword: 'Changé-le-mot-de-passe-3' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.code).toBe('API-PATIENT-PASSWORD-REFUSED');
    expect(await sessionOk(here)).toBe(true);
    expect(await sessionOk(elsewhere)).toBe(true);
    const r = await as(here).call('POST', '/v1/me/password', { currentPassword: changer.password, newPassword: 'Changé-le-mot-de-passe-3' });
    expect(r.status).toBe(204);
    expect(await sessionOk(here)).toBe(true);
    expect(await sessionOk(elsewhere)).toBe(false);
    expect((await login(changer)).status).toBe(401);
    changer.password = 'Changé-le-mot-de-passe-3';
  });

  it('needs a session', async () => {
    expect((await anon().call('POST', '/v1/me/password', { currentPassword: 'x', newPassword: 'y' })).status).toBe(401);
    expect((await anon().call('POST', '/v1/me/logout-everywhere')).status).toBe(401);
  });

  it('logs out everywhere, this session included', async () => {
    const a = await signIn(changer);
    const b = await signIn(changer);
    const r = await as(a).call('POST', '/v1/me/logout-everywhere');
    expect(r.status).toBe(204);
    expect(await sessionOk(a)).toBe(false);
    expect(await sessionOk(b)).toBe(false);
    // the account itself is fine: a new login works
    expect(await sessionOk(await signIn(changer))).toBe(true);
  });
});
