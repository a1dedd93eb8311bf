// « Qui voit quoi » over the patient API (issue 11 item 7), checked from the other side with the professional
// API (development bearer tokens, some carrying a FINESS): the two emergency settings saved and refused each on
// its own, blocking a whole establishment by FINESS (it beats authorship, the administrator doctor and an
// emergency, and stops nobody else), the problem codes of a malformed or unknown FINESS, and the list of the
// professionals the patient knows (history and directory-known mail contacts) to pick from; the OpenAPI document
// describes them.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevIssuer, issueDevToken } from '../../access/pro-auth/index.js';
import { makeTestIns } from '../../access/rules/ins.js';
import { apiClient, importPatientsCsv, loginPatient, sendMail, startTestGateway, waitFor, type ApiClient, type TestGateway } from '../support/harness.js';

let t: TestGateway;
let patient: ApiClient;
let other: ApiClient;
const P = { ins: makeTestIns(9711), email: 'p9711@example.org', birthDate: '1971-07-11', provisionalCode: 'PROV-P-9711', password: 'Mot-de-passe-P-9711' };
const Q = { ins: makeTestIns(9712), email: 'q9712@example.org', birthDate: '1972-07-12', provisionalCode: 'PROV-Q-9712', password: 'Mot-de-passe-Q-9712' };
const HOSPITAL = '750712184';
const CLINIC = '2A0000123';

interface Pro {
  rpps: string;
  name: string;
  finess?: string;
  organisation?: string;
}
const DOCTOR: Pro = { rpps: '10000097101', name: 'Dr Hélène Hôpital', finess: HOSPITAL, organisation: 'HOPITAL A TEST' };
const COLLEAGUE: Pro = { rpps: '10000097102', name: 'Dr Paul Collègue', finess: HOSPITAL, organisation: 'HOPITAL A TEST' };
const ELSEWHERE: Pro = { rpps: '10000097103', name: 'Dr Claire Clinique', finess: CLINIC, organisation: 'CLINIQUE CORSE' };
const SAMU: Pro = { rpps: '10000097104', name: 'Dr Samia Régulation', organisation: 'SAMU 75' };

const proClient = (p: Pro) => {
  const token = issueDevToken({ dir: path.join(t.pki, 'oidc'), rpps: p.rpps, profession: '10', name: p.name, organisation: p.organisation, finess: p.finess });
  return Object.assign(apiClient(t.gw.apiPort!, token), { token });
};
const JUSTIFICATION = encodeURIComponent('Patient inconscient, appel au 15, antécédents nécessaires');
const emergency = (ground: 'samu-regulator' | 'life-at-risk') => ({ 'x-emergency-ground': ground, 'x-emergency-justification': JUSTIFICATION });
const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(8_000)]);

async function upload(p: Pro, title: string): Promise<{ status: number; id: string }> {
  const c = proClient(p);
  const form = new FormData();
  form.set('title', title);
  form.set('rubric', 'comptes-rendus');
  form.set('file', new Blob([new Uint8Array(pdf)], { type: 'application/pdf' }), `${title}.pdf`);
  const res = await fetch(`${c.base}/v1/patients/${P.ins}/documents`, { method: 'POST', headers: { authorization: `Bearer ${c.token}` }, body: form });
  return { status: res.status, id: ((await res.json()) as { id: string }).id };
}
const list = async (p: Pro, ins = P.ins) => (await proClient(p).call('GET', `/v1/patients/${ins}/documents`)).status;
const read = async (p: Pro, id: string, headers: Record<string, string> = {}) =>
  (await proClient(p).call('GET', `/v1/patients/${P.ins}/documents/${id}/content`, undefined, headers)).status;

interface Settings {
  blocked: string[];
  blockedEstablishments: string[];
  administratorRpps: string | null;
  allMasked: boolean;
  samuRegulatorAllowed: boolean;
  breakGlassAllowed: boolean;
}
const settingsOf = async (c: ApiClient) => (await c.json<Settings>('GET', '/v1/me/access')).body;

beforeAll(async () => {
  t = await startTestGateway({ env: { API_EXPOSE: 'docs' } });
  ensureDevIssuer(path.join(t.pki, 'oidc'));
  await importPatientsCsv(
    t,
    [
      'ins,family_name,given_names,birth_date,email,state,provisional_code',
      `${P.ins},TEST-ACCES,P,${P.birthDate},${P.email},created,${P.provisionalCode}`,
      `${Q.ins},TEST-ACCES,Q,${Q.birthDate},${Q.email},created,${Q.provisionalCode}`,
    ].join('\n'),
  );
  patient = apiClient(t.gw.apiPort!, await loginPatient(t, P));
  other = apiClient(t.gw.apiPort!, await loginPatient(t, Q));
});
afterAll(async () => {
  await t?.close();
});

describe('the two emergency settings', () => {
  it('are both allowed until the patient refuses one; GET gives every setting', async () => {
    expect(await settingsOf(patient)).toEqual({
      blocked: [],
      blockedEstablishments: [],
      administratorRpps: null,
      allMasked: false,
      samuRegulatorAllowed: true,
      breakGlassAllowed: true,
    });
  });

  it('are saved each on its own, and each stops only its own mode of access', async () => {
    const doc = await upload(ELSEWHERE, 'cr-urgence');
    expect(doc.status).toBe(201);
    expect((await patient.call('PATCH', `/v1/me/documents/${doc.id}`, { masked: true })).status).toBe(204);
    expect(await read(SAMU, doc.id)).toBe(403); // masked: only an emergency gets through
    expect(await read(SAMU, doc.id, emergency('samu-regulator'))).toBe(200);

    expect((await patient.call('PATCH', '/v1/me/access', { samuRegulatorAllowed: false })).status).toBe(204);
    expect(await settingsOf(patient)).toMatchObject({ samuRegulatorAllowed: false, breakGlassAllowed: true });
    expect(await read(SAMU, doc.id, emergency('samu-regulator'))).toBe(403);
    expect(await read(SAMU, doc.id, emergency('life-at-risk'))).toBe(200);

    expect((await patient.call('PATCH', '/v1/me/access', { breakGlassAllowed: false })).status).toBe(204);
    expect(await settingsOf(patient)).toMatchObject({ samuRegulatorAllowed: false, breakGlassAllowed: false });
    expect(await read(SAMU, doc.id, emergency('life-at-risk'))).toBe(403);

    expect((await patient.call('PATCH', '/v1/me/access', { samuRegulatorAllowed: true })).status).toBe(204);
    expect(await settingsOf(patient)).toMatchObject({ samuRegulatorAllowed: true, breakGlassAllowed: false });
    expect(await read(SAMU, doc.id, emergency('samu-regulator'))).toBe(200);
    expect(await read(SAMU, doc.id, emergency('life-at-risk'))).toBe(403);

    // the other patient's settings are untouched
    expect(await settingsOf(other)).toMatchObject({ samuRegulatorAllowed: true, breakGlassAllowed: true });
    expect((await patient.call('PATCH', '/v1/me/access', { breakGlassAllowed: true })).status).toBe(204);
    expect((await patient.call('PATCH', `/v1/me/documents/${doc.id}`, { masked: false })).status).toBe(204);
  });

  it('refuses the old single emergencyAllowed instead of ignoring it', async () => {
    const before = await settingsOf(patient);
    const r = await patient.json<{ code: string; detail: string }>('PATCH', '/v1/me/access', { emergencyAllowed: false });
    expect(r.status).toBe(400);
    expect(r.type).toMatch(/^application\/problem\+json/);
    expect(r.body.code).toBe('API-ACCESS-06');
    expect(r.body.detail).toMatch(/médecin régulateur du SAMU.+bris de glace/);
    expect(await settingsOf(patient)).toEqual(before);
  });
});

describe('blocking an establishment (FINESS)', () => {
  it('adds and removes it, normalising what the patient typed; malformed and unknown FINESS have their codes', async () => {
    expect((await patient.call('POST', '/v1/me/access/blocked-establishments', { finess: ' 75 071 2184 ' })).status).toBe(204);
    expect((await patient.call('POST', '/v1/me/access/blocked-establishments', { finess: '750712184' })).status).toBe(204); // twice: no error
    expect((await patient.call('POST', '/v1/me/access/blocked-establishments', { finess: '2a0000123' })).status).toBe(204);
    expect((await settingsOf(patient)).blockedEstablishments).toEqual([CLINIC, HOSPITAL]);
    expect((await settingsOf(other)).blockedEstablishments).toEqual([]);

    for (const finess of ['12345', '2C0000123', '75071218X', '']) {
      const bad = await patient.json<{ code: string; detail: string }>('POST', '/v1/me/access/blocked-establishments', { finess });
      expect([bad.status, bad.body.code], finess).toEqual([400, 'API-ACCESS-04']);
      expect(bad.type).toMatch(/^application\/problem\+json/);
      expect(bad.body.detail).toBe('Le numéro FINESS doit comporter 9 caractères : des chiffres, ou 2A / 2B suivis de 7 chiffres pour la Corse.');
    }
    const badDelete = await patient.json<{ code: string }>('DELETE', '/v1/me/access/blocked-establishments/ABC');
    expect([badDelete.status, badDelete.body.code]).toEqual([400, 'API-ACCESS-04']);
    const unknown = await patient.json<{ code: string; detail: string }>('DELETE', '/v1/me/access/blocked-establishments/130000000');
    expect([unknown.status, unknown.body.code, unknown.body.detail]).toEqual([404, 'API-ACCESS-05', "Cet établissement n'est pas bloqué."]);
    // the other patient cannot lift this patient's block
    expect((await other.json('DELETE', `/v1/me/access/blocked-establishments/${CLINIC}`)).status).toBe(404);

    expect((await patient.call('DELETE', '/v1/me/access/blocked-establishments/2a0000123')).status).toBe(204);
    expect((await patient.call('DELETE', `/v1/me/access/blocked-establishments/${HOSPITAL}`)).status).toBe(204);
    expect((await patient.call('DELETE', `/v1/me/access/blocked-establishments/${HOSPITAL}`)).status).toBe(404);
    expect((await settingsOf(patient)).blockedEstablishments).toEqual([]);
    expect((await apiClient(t.gw.apiPort!).json('POST', '/v1/me/access/blocked-establishments', { finess: HOSPITAL })).status).toBe(401);
  });

  it('stops every professional acting for it, even the author, the administrator doctor and an emergency; nobody else', async () => {
    const own = await upload(DOCTOR, 'cr-hopital');
    expect(own.status).toBe(201);
    expect((await patient.call('PATCH', '/v1/me/access', { administratorRpps: DOCTOR.rpps })).status).toBe(204);
    expect(await read(DOCTOR, own.id)).toBe(200);

    expect((await patient.call('POST', '/v1/me/access/blocked-establishments', { finess: HOSPITAL })).status).toBe(204);
    expect(await list(DOCTOR)).toBe(403);
    expect(await read(DOCTOR, own.id)).toBe(403); // author and administrator doctor
    expect(await read(DOCTOR, own.id, emergency('life-at-risk'))).toBe(403);
    expect(await read(COLLEAGUE, own.id, emergency('samu-regulator'))).toBe(403);
    expect((await upload(COLLEAGUE, 'nouveau')).status).toBe(403);
    expect((await proClient(DOCTOR).call('PATCH', `/v1/patients/${P.ins}/documents/${own.id}`, { masked: true })).status).toBe(403);
    // the same doctor acting for no establishment, another establishment, and another patient: untouched
    expect(await read({ ...DOCTOR, finess: undefined }, own.id)).toBe(200);
    expect(await read(ELSEWHERE, own.id)).toBe(200);
    expect(await list(DOCTOR, Q.ins)).toBe(200);

    // the history says it was the establishment
    const h = await patient.json<{ items: { action: string; actor: { rpps: string | null }; reason: string | null }[] }>('GET', '/v1/me/activity');
    const refused = h.body.items.filter((i) => i.action === 'access-refused' && i.actor.rpps === COLLEAGUE.rpps);
    expect(refused.length).toBeGreaterThan(0);
    expect(new Set(refused.map((i) => i.reason))).toEqual(new Set(['Accès refusé : établissement bloqué par le patient']));

    expect((await patient.call('DELETE', `/v1/me/access/blocked-establishments/${HOSPITAL}`)).status).toBe(204);
    expect(await read(DOCTOR, own.id)).toBe(200);
    expect(await list(COLLEAGUE)).toBe(200);
    expect((await patient.call('PATCH', '/v1/me/access', { administratorRpps: null })).status).toBe(204);
  });
});

describe('the professionals I know', () => {
  it('come from the history and from the mail contacts the directory knows, newest first', async () => {
    const admin = (await fs.readFile(path.join(t.dataDir, 'admin.token'), 'utf8')).trim();
    const dir = await apiClient(t.gw.apiPort!, admin).call(
      'POST',
      '/v1/admin/directory/import',
      'address,rpps,profession_code,display_name\ndr.courrier@hopital-a.mssante.fr,10000097105,21,Dr Marc Courrier\n',
      { 'content-type': 'text/csv' },
    );
    expect(dir.status).toBe(200);
    for (const from of ['dr.courrier@hopital-a.mssante.fr', 'secretariat@hopital-a.mssante.fr']) {
      const sent = await sendMail({
        port: t.gw.smtpPort!,
        pki: t.pki,
        cert: 'hopital-a.mssante.fr',
        from,
        to: [`${P.ins}@patient.mssante.fr`],
        subject: 'Votre rendez-vous',
      });
      expect(sent.ok).toBe(true);
    }
    await waitFor(
      async () => {
        const c = await patient.json<{ items: { displayName: string }[] }>('GET', '/v1/me/contacts');
        return c.body.items.length >= 2;
      },
      20_000,
      'both senders as contacts',
    );

    const r = await patient.json<{
      items: { rpps: string; displayName: string; profession: string | null; organisation: string | null; lastSeenAt: string; source: string }[];
    }>('GET', '/v1/me/access/known-professionals');
    expect(r.status).toBe(200);
    const byRpps = new Map(r.body.items.map((p) => [p.rpps, p]));
    expect(byRpps.get(DOCTOR.rpps)).toMatchObject({ displayName: 'Dr Hélène Hôpital', profession: '10', organisation: 'HOPITAL A TEST', source: 'history' });
    expect(byRpps.get(COLLEAGUE.rpps)).toMatchObject({ displayName: 'Dr Paul Collègue', source: 'history' }); // refused attempts count too
    expect(byRpps.get(SAMU.rpps)).toMatchObject({ displayName: 'Dr Samia Régulation', organisation: 'SAMU 75', source: 'history' });
    expect(byRpps.get('10000097105')).toMatchObject({ displayName: 'Dr Marc Courrier', profession: '21', organisation: null, source: 'contact' });
    expect(r.body.items.some((p) => /secretariat/i.test(p.displayName))).toBe(false); // no RPPS known: not offered
    expect(r.body.items.map((p) => p.rpps).sort()).toEqual([DOCTOR.rpps, COLLEAGUE.rpps, ELSEWHERE.rpps, SAMU.rpps, '10000097105'].sort());
    const times = r.body.items.map((p) => Date.parse(p.lastSeenAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(r.body.items[0]!.rpps).toBe('10000097105'); // the mail came last

    // a contact alone never accessed the record: it cannot become the administrator doctor
    expect((await patient.call('PATCH', '/v1/me/access', { administratorRpps: '10000097105' })).status).toBe(409);
    // each patient knows their own professionals only
    expect((await other.json<{ items: { rpps: string }[] }>('GET', '/v1/me/access/known-professionals')).body.items.map((p) => p.rpps)).toEqual([DOCTOR.rpps]);
    expect((await apiClient(t.gw.apiPort!).json('GET', '/v1/me/access/known-professionals')).status).toBe(401);
  }, 60_000);
});

describe('the OpenAPI document', () => {
  it('describes the new routes and the two emergency settings', async () => {
    const r = await apiClient(t.gw.apiPort!).json<{
      paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }> }>>;
    }>('GET', '/docs/json');
    expect(r.status).toBe(200);
    expect(Object.keys(r.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/me/access',
        '/v1/me/access/known-professionals',
        '/v1/me/access/blocked-establishments',
        '/v1/me/access/blocked-establishments/{finess}',
      ]),
    );
    const settings = r.body.paths['/v1/me/access']!.get!.responses!['200']!.content!['application/json']!.schema.properties!;
    expect(Object.keys(settings).sort()).toEqual([
      'administratorRpps',
      'allMasked',
      'blocked',
      'blockedEstablishments',
      'breakGlassAllowed',
      'samuRegulatorAllowed',
    ]);
    const known = r.body.paths['/v1/me/access/known-professionals']!.get!.responses!['200']!.content!['application/json']!.schema.properties!;
    expect(Object.keys(known)).toEqual(['items']);
  });
});
