// Profile lifecycle over the operator API and the periodic job, on real PostgreSQL.
import fs from 'node:fs/promises';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeProfile, endOppositionWindows } from '../../access/index.js';
import { makeTestIns } from '../../access/rules/ins.js';
import { schema } from '../../db/index.js';
import { apiClient, importPatientsCsv, loginPatient, sendMail, startTestGateway, type ApiClient, type TestGateway } from '../support/harness.js';

let t: TestGateway;
let admin: ApiClient;
const pending = makeTestIns(8101);
const active = makeTestIns(8102);
const closer = {
  ins: makeTestIns(8103),
  email: 'c8103@example.org',
  birthDate: '1970-01-03',
  provisionalCode: 'CLOSE8103XY',
  password: 'Fermeture-du-profil-1',
};

beforeAll(async () => {
  t = await startTestGateway();
  await importPatientsCsv(
    t,
    [
      'ins,family_name,given_names,birth_date,email,state,provisional_code',
      `${pending},TEST-LC,P,1970-01-01,p8101@example.org,pending,`,
      `${active},TEST-LC,A,1970-01-02,a8102@example.org,created,`,
      `${closer.ins},TEST-LC,C,${closer.birthDate},${closer.email},created,${closer.provisionalCode}`,
    ].join('\n'),
  );
  admin = apiClient(t.gw.apiPort!, (await fs.readFile(path.join(t.dataDir, 'admin.token'), 'utf8')).trim());
});
afterAll(async () => {
  await t?.close();
});

const state = async (ins: string) => (await t.gw.database.db.select().from(schema.patients).where(eq(schema.patients.ins, ins)))[0]!.state;
const send = (ins: string) =>
  sendMail({ port: t.gw.smtpPort!, pki: t.pki, cert: 'hopital-a.mssante.fr', from: 'dr@hopital-a.mssante.fr', to: [`${ins}@patient.mssante.fr`] });

describe('profile lifecycle', () => {
  it('a pending profile becomes created when its 6-week window ends, and then receives mail', async () => {
    expect((await send(pending)).response).toMatch(/^550 5\.1\.1 /);
    expect(await endOppositionWindows(t.gw.database.db, t.gw.config.limits.oppositionWindowMs)).toBe(0);
    await t.gw.database.db.execute(sql`UPDATE patients SET created_at = now() - interval '43 days' WHERE ins = ${pending}`);
    expect(await endOppositionWindows(t.gw.database.db, t.gw.config.limits.oppositionWindowMs)).toBe(1);
    expect(await state(pending)).toBe('created');
    expect((await send(pending)).ok).toBe(true);
  });

  it('follows the transition rules through the operator API', async () => {
    const change = (ins: string, s: string) => admin.json<{ state: string; code: string }>('POST', `/v1/admin/patients/${ins}/state`, { state: s });
    expect((await change(active, 'opposed')).status).toBe(409); // opposition is for the pending window only
    const closed = await change(active, 'closed');
    expect(closed.status).toBe(200);
    expect((await send(active)).response).toMatch(/^550 5\.2\.1 /);
    const reopened = await change(active, 'reopen');
    expect(reopened.body.state).toBe('created'); // never activated
    expect((await send(active)).ok).toBe(true);
    expect((await change(makeTestIns(8199), 'closed')).status).toBe(404);
    expect((await apiClient(t.gw.apiPort!).json('POST', `/v1/admin/patients/${active}/state`, { state: 'closed' })).status).toBe(401);
  });

  it('a patient closes their own profile: closed, every session ended, mail refused as closed; once only', async () => {
    const first = await loginPatient(t, closer);
    const second = await loginPatient(t, { ...closer, provisionalCode: undefined });
    const id = (await t.gw.database.db.select({ id: schema.patients.id }).from(schema.patients).where(eq(schema.patients.ins, closer.ins)))[0]!.id;
    expect((await apiClient(t.gw.apiPort!, first).call('POST', '/v1/me/profile/close')).status).toBe(204);
    expect(await state(closer.ins)).toBe('closed');
    for (const token of [first, second])
      expect((await apiClient(t.gw.apiPort!, token).json<{ code: string }>('GET', '/v1/me/session')).body.code).toBe('API-AUTH-01');
    const live = await t.gw.database.db.execute<{ n: number }>(sql`SELECT count(*)::int AS n FROM sessions WHERE patient_id = ${id} AND revoked_at IS NULL`);
    expect((Array.isArray(live) ? live : (live as unknown as { rows: { n: number }[] }).rows)[0]!.n).toBe(0);
    expect((await send(closer.ins)).response).toMatch(/^550 5\.2\.1 /);
    // A closed profile cannot be closed again, and two closings racing each other move it once.
    expect(await closeProfile(t.gw.database.db, id)).toEqual({ ok: false, reason: 'not-allowed' });
    expect((await admin.json('POST', `/v1/admin/patients/${closer.ins}/state`, { state: 'reopen' })).status).toBe(200);
    const raced = await Promise.all([closeProfile(t.gw.database.db, id), closeProfile(t.gw.database.db, id)]);
    expect(raced.filter((r) => r.ok)).toEqual([{ ok: true, state: 'closed' }]);
    expect(await state(closer.ins)).toBe('closed');
  });
});
