// Opposition during the 6-week window (POST /v1/patient/oppose), end to end on a real gateway.
//
// Guarantees checked:
// - A wrong provisional code, a wrong birth date, an unknown INS, and a profile that is not `pending`
//   (created, active, already opposed) all get one answer: 400 API-PATIENT-OPPOSITION-REFUSED with the
//   same refusal text; none of them changes the profile.
// - Wrong codes count towards the same throttle as activation (429 with Retry-After once the free failures are
//   spent, even with the right code).
// - The right code and birth date on a pending profile: 204, the profile is `opposed`, its provisional code is
//   consumed (neither activation nor a second opposition works), and mail to the INS is refused like an
//   unknown recipient (550 5.1.1).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { apiClient, importPatientsCsv, loginPatient, sendMail, startTestGateway, type TestGateway } from '../support/harness.js';

let t: TestGateway;
let db: pg.Client;
const pending = { ins: makeTestIns(9710), birthDate: '1970-06-15', provisionalCode: 'PROV-OPP-9710' };
const locked = { ins: makeTestIns(9711), birthDate: '1971-07-16', provisionalCode: 'PROV-OPP-9711' };
const created = { ins: makeTestIns(9712), birthDate: '1972-08-17', provisionalCode: 'PROV-OPP-9712' };
const active = {
  ins: makeTestIns(9713),
  email: 'oppose-active@example.org',
  birthDate: '1973-09-18',
  provisionalCode: 'PROV-OPP-9713',
  password: 'Mot-de-passe-actif-9713',
};
const REFUSED =
  'Opposition impossible : vérifiez votre identifiant, votre code provisoire et votre date de naissance. Après les 6 semaines, fermez votre profil depuis « Mon profil ».';

beforeAll(async () => {
  t = await startTestGateway();
  db = new pg.Client({ connectionString: t.databaseUrl });
  await db.connect();
  await importPatientsCsv(
    t,
    [
      'ins,family_name,given_names,birth_date,email,state,provisional_code',
      `${pending.ins},TEST-OPP,Paul,${pending.birthDate},oppose-paul@example.org,pending,${pending.provisionalCode}`,
      `${locked.ins},TEST-OPP,Louis,${locked.birthDate},oppose-louis@example.org,pending,${locked.provisionalCode}`,
      `${created.ins},TEST-OPP,Chloe,${created.birthDate},oppose-chloe@example.org,created,${created.provisionalCode}`,
      `${active.ins},TEST-OPP,Alice,${active.birthDate},${active.email},created,${active.provisionalCode}`,
    ].join('\n'),
  );
  await loginPatient(t, active); // activates it: `active`, code consumed
});
afterAll(async () => {
  await db?.end();
  await t?.close();
});

const anon = () => apiClient(t.gw.apiPort!);
const oppose = (p: { ins: string; provisionalCode: string; birthDate: string }) =>
  anon().json<{ code: string; detail: string }>('POST', '/v1/patient/oppose', { ins: p.ins, provisionalCode: p.provisionalCode, birthDate: p.birthDate });
const stateOf = async (ins: string) =>
  (await db.query<{ state: string; has_code: boolean }>('SELECT state, provisional_code_hash IS NOT NULL AS has_code FROM patients WHERE ins = $1', [ins]))
    .rows[0];
const expectRefused = (r: { status: number; body: { code: string; detail: string }; type: string | null }) => {
  expect(r.status).toBe(400);
  expect(r.type).toMatch(/^application\/problem\+json/);
  expect(r.body.code).toBe('API-PATIENT-OPPOSITION-REFUSED');
  expect(r.body.detail).toBe(REFUSED);
};

describe('POST /v1/patient/oppose', () => {
  it('refuses a wrong code, a wrong birth date and an unknown INS with one answer, changing nothing', async () => {
    expectRefused(await oppose({ ...pending, provisionalCode: 'WRONG-CODE' }));
    expectRefused(await oppose({ ...pending, birthDate: '1970-06-16' }));
    expectRefused(await oppose({ ...pending, ins: makeTestIns(9799) }));
    expect(await stateOf(pending.ins)).toEqual({ state: 'pending', has_code: true });
  });

  it('refuses a profile that is not pending (created, active), with the same answer', async () => {
    expectRefused(await oppose(created));
    expectRefused(await oppose(active));
    expect((await stateOf(created.ins))!.state).toBe('created');
    expect((await stateOf(active.ins))!.state).toBe('active');
  });

  it('validates the body', async () => {
    const r = await oppose({ ...pending, birthDate: '15/06/1970' });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('API-VALIDATION');
  });

  it('throttles after repeated wrong codes, like activation', async () => {
    for (let i = 0; i < t.gw.config.limits.loginFreeFailures; i++) expectRefused(await oppose({ ...locked, provisionalCode: `WRONG-${i}` }));
    const r = await oppose(locked);
    expect(r.status).toBe(429);
    expect(r.body.detail).toMatch(/Trop de tentatives/);
    expect((await stateOf(locked.ins))!.state).toBe('pending');
  });

  it('turns a pending profile into an opposed one; mail is then refused like an unknown recipient', async () => {
    const mail = (ins: string) =>
      sendMail({ port: t.gw.smtpPort!, pki: t.pki, cert: 'hopital-a.mssante.fr', from: 'dr.martin@hopital-a.mssante.fr', to: [`${ins}@patient.mssante.fr`] });
    const ok = await anon().call('POST', '/v1/patient/oppose', pending);
    expect(ok.status).toBe(204);
    expect(await stateOf(pending.ins)).toEqual({ state: 'opposed', has_code: false });
    // the code is consumed and the window is over for this profile
    expectRefused(await oppose(pending));
    const activate = await anon().json<{ code: string }>('POST', '/v1/patient/activate', { ...pending, password: 'Un-mot-de-passe-ok-9710' });
    expect(activate.status).toBe(400);
    expect(activate.body.code).toBe('API-PATIENT-ACTIVATION-REFUSED');

    const opposed = await mail(pending.ins);
    const unknown = await mail(makeTestIns(9798));
    expect(opposed.ok).toBe(false);
    expect(opposed.responseCode).toBe(550);
    expect(opposed.response).toMatch(/5\.1\.1/);
    expect(opposed.response).toBe(unknown.response);
    expect((await mail(created.ins)).ok).toBe(true); // the same sender is accepted for an open profile
  });
});
