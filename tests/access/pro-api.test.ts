// The professional API end to end: bearer tokens from the development OIDC issuer, the access rules of SPEC
// §6.4 over HTTP (block, mask, author, administrator doctor, SAMU and bris de glace), the activity history and the grouped
// notification, and refusals that never tell whether a patient or document exists.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevIssuer, issueDevToken } from '../../access/pro-auth/index.js';
import { makeTestIns } from '../../access/rules/ins.js';
import { apiClient, importPatientsCsv, loginPatient, startTestGateway, waitFor, type ApiClient, type TestGateway } from '../support/harness.js';

let t: TestGateway;
let patient: ApiClient;
const P = { ins: makeTestIns(9101), email: 'p9101@example.org', birthDate: '1966-06-06', provisionalCode: 'PROV-P-9101', password: 'Mot-de-passe-P-9101' };
const OTHER = makeTestIns(9102);
const DOCTOR = '10000000001';
const DOCTOR2 = '10000000002';
const NURSE = '60000000003';

const token = (rpps: string, profession: string, name: string) =>
  issueDevToken({ dir: path.join(t.pki, 'oidc'), rpps, profession, name, organisation: 'HOPITAL A TEST' });
const pro = (rpps: string, profession: string, name: string) =>
  Object.assign(apiClient(t.gw.apiPort!, token(rpps, profession, name)), { token: token(rpps, profession, name) });

async function upload(client: ApiClient, ins: string, file: Buffer, filename: string, fields: Record<string, string>) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  form.set('file', new Blob([new Uint8Array(file)], { type: 'application/pdf' }), filename);
  const res = await fetch(`${client.base}/v1/patients/${ins}/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${(client as unknown as { token: string }).token}` },
    body: form,
  });
  return { status: res.status, body: (await res.json()) as { id: string; rubric: string; code?: string } };
}

beforeAll(async () => {
  t = await startTestGateway({ env: { NOTIFY_WINDOW_SECONDS: '3600' } });
  ensureDevIssuer(path.join(t.pki, 'oidc'));
  await importPatientsCsv(
    t,
    [
      'ins,family_name,given_names,birth_date,email,state,provisional_code',
      `${P.ins},TEST-PRO,P,${P.birthDate},${P.email},created,${P.provisionalCode}`,
      `${OTHER},TEST-PRO,O,1970-01-01,o9102@example.org,created,`,
    ].join('\n'),
  );
  patient = apiClient(t.gw.apiPort!, await loginPatient(t, P));
});
afterAll(async () => {
  await t?.close();
});

const withToken = (rpps: string, profession: string, name: string) => Object.assign(pro(rpps, profession, name), { token: token(rpps, profession, name) });
const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(20_000)]);

describe('professional API', () => {
  it('refuses requests without a valid bearer token', async () => {
    expect((await apiClient(t.gw.apiPort!).json('GET', `/v1/patients/${P.ins}/documents`)).status).toBe(401);
    expect((await apiClient(t.gw.apiPort!, 'abc.def.ghi').json('GET', `/v1/patients/${P.ins}/documents`)).status).toBe(401);
  });

  it('files an upload by typeCode, refuses executables, and lets professionals read within the rules', async () => {
    const doctor = withToken(DOCTOR, '10', 'Dr Alice Biologie');
    const up = await upload(doctor, P.ins, pdf, 'bilan.pdf', { title: 'Bilan sanguin', typeCode: '11502-2' });
    expect(up.status).toBe(201);
    expect(up.body.rubric).toBe('resultats-de-biologie');
    const exe = await upload(doctor, P.ins, Buffer.concat([Buffer.from('MZ'), crypto.randomBytes(2000)]), 'rapport.pdf', {
      title: 'x',
      rubric: 'autres-documents',
    });
    expect(exe.status).toBe(415);

    const mine = await patient.json<{ items: { id: string; rubric: string; title: string; author: { displayName: string } }[] }>('GET', '/v1/me/documents');
    const doc = mine.body.items.find((d) => d.id === up.body.id)!;
    expect(doc).toMatchObject({ rubric: 'resultats-de-biologie', title: 'Bilan sanguin', author: { displayName: 'Dr Alice Biologie' } });

    const nurse = pro(NURSE, '60', 'Infirmier Bob');
    const listed = await nurse.json<{ items: { id: string }[] }>('GET', `/v1/patients/${P.ins}/documents`);
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((d) => d.id)).toContain(up.body.id);
    const read = await nurse.call('GET', `/v1/patients/${P.ins}/documents/${up.body.id}/content`);
    expect(read.status).toBe(200);
    expect(Buffer.from(await read.arrayBuffer()).equals(pdf)).toBe(true);
  });

  it('a masked document is visible only to its author and the administrator doctor', async () => {
    const docId = (await patient.json<{ items: { id: string }[] }>('GET', '/v1/me/documents?rubric=resultats-de-biologie')).body.items[0]!.id;
    expect((await patient.call('PATCH', `/v1/me/documents/${docId}`, { masked: true })).status).toBe(204);
    const nurse = pro(NURSE, '60', 'Infirmier Bob');
    const doctor2 = pro(DOCTOR2, '10', 'Dr Claude Traitant');
    expect((await nurse.json<{ items: { id: string }[] }>('GET', `/v1/patients/${P.ins}/documents`)).body.items.map((d) => d.id)).not.toContain(docId);
    const refusedRead = await nurse.json<{ code: string; detail: string }>('GET', `/v1/patients/${P.ins}/documents/${docId}/content`);
    expect(refusedRead.status).toBe(403);
    expect((await doctor2.json('GET', `/v1/patients/${P.ins}/documents/${docId}/content`)).status).toBe(403);
    expect((await pro(DOCTOR, '10', 'Dr Alice Biologie').call('GET', `/v1/patients/${P.ins}/documents/${docId}/content`)).status).toBe(200); // author
    // Dr Claude already accessed the record: the patient makes them administrator doctor
    expect((await patient.call('PATCH', '/v1/me/access', { administratorRpps: DOCTOR2 })).status).toBe(204);
    expect((await doctor2.call('GET', `/v1/patients/${P.ins}/documents/${docId}/content`)).status).toBe(200);
    // a refusal looks the same whether the document or the patient exists or not
    const ghost = await nurse.json<{ code: string; detail: string }>('GET', `/v1/patients/${P.ins}/documents/${crypto.randomUUID()}/content`);
    const noPatient = await nurse.json<{ code: string; detail: string }>('GET', `/v1/patients/${makeTestIns(9199)}/documents`);
    expect([ghost.status, noPatient.status]).toEqual([403, 403]);
    expect(ghost.body.code).toBe(refusedRead.body.code);
    expect(noPatient.body.detail).toBe(refusedRead.body.detail);
  });

  it('emergency access needs the patient consent, a written justification and a ground; SAMU and bris de glace are refused each on its own', async () => {
    const docId = (await patient.json<{ items: { id: string }[] }>('GET', '/v1/me/documents?rubric=resultats-de-biologie')).body.items[0]!.id;
    const samu = pro('10000000009', '10', 'Dr Samu');
    const url = `/v1/patients/${P.ins}/documents/${docId}/content`;
    const justification = encodeURIComponent('Patient inconscient, appel 15, antécédents nécessaires');
    const read = async (ground: 'samu-regulator' | 'life-at-risk') =>
      (await samu.call('GET', url, undefined, { 'x-emergency-ground': ground, 'x-emergency-justification': justification })).status;
    expect((await samu.call('GET', url, undefined, { 'x-emergency-ground': 'samu-regulator', 'x-emergency-justification': 'court' })).status).toBe(403);
    expect(await read('samu-regulator')).toBe(200);
    expect(await read('life-at-risk')).toBe(200);
    // the patient refuses the SAMU regulator only: bris de glace still works
    expect((await patient.call('PATCH', '/v1/me/access', { samuRegulatorAllowed: false })).status).toBe(204);
    expect(await read('samu-regulator')).toBe(403);
    expect(await read('life-at-risk')).toBe(200);
    // and the other way round
    expect((await patient.call('PATCH', '/v1/me/access', { samuRegulatorAllowed: true, breakGlassAllowed: false })).status).toBe(204);
    expect(await read('samu-regulator')).toBe(200);
    expect(await read('life-at-risk')).toBe(403);
    // the history says which setting refused each attempt
    const h = await patient.json<{ items: { action: string; actor: { rpps: string | null }; reason: string | null }[] }>('GET', '/v1/me/activity');
    const refusals = h.body.items.filter((i) => i.action === 'access-refused' && i.actor.rpps === '10000000009').map((i) => i.reason);
    expect(refusals).toEqual(
      expect.arrayContaining([
        "Accès d'urgence refusé : le patient n'autorise pas l'accès par le médecin régulateur du SAMU",
        "Accès d'urgence refusé : le patient n'autorise pas le bris de glace",
        "Accès d'urgence refusé : justification écrite et motif d'urgence requis",
      ]),
    );
  });

  it('a professional masks and deletes only documents they authored', async () => {
    const doctor2 = withToken(DOCTOR2, '10', 'Dr Claude Traitant');
    const up = await upload(doctor2, P.ins, pdf, 'ordonnance.pdf', { title: 'Ordonnance', rubric: 'ordonnances-et-soins' });
    expect(up.status).toBe(201);
    const otherDoc = (await patient.json<{ items: { id: string }[] }>('GET', '/v1/me/documents?rubric=resultats-de-biologie')).body.items[0]!.id;
    expect((await doctor2.call('PATCH', `/v1/patients/${P.ins}/documents/${otherDoc}`, { masked: true })).status).toBe(403);
    expect((await doctor2.call('DELETE', `/v1/patients/${P.ins}/documents/${otherDoc}`)).status).toBe(403);
    expect((await doctor2.call('PATCH', `/v1/patients/${P.ins}/documents/${up.body.id}`, { masked: true })).status).toBe(204);
    const mine = await patient.json<{ items: { id: string; masked: boolean; maskedByAuthor: boolean }[] }>(
      'GET',
      '/v1/me/documents?rubric=ordonnances-et-soins',
    );
    expect(mine.body.items.find((d) => d.id === up.body.id)).toMatchObject({ masked: false, maskedByAuthor: true });
    // Neither can lift the other's mask: another doctor sees the document only once both masks are off.
    const third = pro(DOCTOR, '10', 'Dr Alice Biologie');
    const seenByThird = async () =>
      (await third.json<{ items: { id: string }[] }>('GET', `/v1/patients/${P.ins}/documents`)).body.items.some((d) => d.id === up.body.id);
    expect(await seenByThird()).toBe(false);
    expect((await patient.call('PATCH', `/v1/me/documents/${up.body.id}`, { masked: false })).status).toBe(204);
    expect(await seenByThird()).toBe(false); // the author's mask holds
    expect((await patient.call('PATCH', `/v1/me/documents/${up.body.id}`, { masked: true })).status).toBe(204);
    expect((await doctor2.call('PATCH', `/v1/patients/${P.ins}/documents/${up.body.id}`, { masked: false })).status).toBe(204);
    expect(await seenByThird()).toBe(false); // the patient's mask holds
    expect((await patient.call('PATCH', `/v1/me/documents/${up.body.id}`, { masked: false })).status).toBe(204);
    expect(await seenByThird()).toBe(true);
    expect((await doctor2.call('DELETE', `/v1/patients/${P.ins}/documents/${up.body.id}`)).status).toBe(204);
    expect((await patient.json<{ items: { id: string }[] }>('GET', '/v1/me/documents?rubric=ordonnances-et-soins')).body.items.map((d) => d.id)).not.toContain(
      up.body.id,
    );
  });

  it('replacing a document makes a new version; only its author may replace it', async () => {
    const doctor2 = withToken(DOCTOR2, '10', 'Dr Claude Traitant');
    const v1 = await upload(doctor2, P.ins, pdf, 'cr-v1.pdf', { title: 'CR v1', rubric: 'comptes-rendus' });
    const v2 = await upload(doctor2, P.ins, pdf, 'cr-v2.pdf', { title: 'CR v2', rubric: 'comptes-rendus', replaces: v1.body.id });
    expect([v1.status, v2.status]).toEqual([201, 201]);
    const titles = (await patient.json<{ items: { title: string }[] }>('GET', '/v1/me/documents?rubric=comptes-rendus')).body.items.map((d) => d.title);
    expect(titles).toContain('CR v2');
    expect(titles).not.toContain('CR v1');
    const nurse = withToken(NURSE, '60', 'Infirmier Bob');
    expect((await upload(nurse, P.ins, pdf, 'x.pdf', { title: 'x', rubric: 'comptes-rendus', replaces: v2.body.id })).status).toBe(403);
  });

  it('a blocked professional reads nothing', async () => {
    expect((await patient.call('POST', '/v1/me/access/blocked', { rpps: DOCTOR })).status).toBe(204);
    const doctor = withToken(DOCTOR, '10', 'Dr Alice Biologie');
    expect((await doctor.json('GET', `/v1/patients/${P.ins}/documents`)).status).toBe(403);
    const docId = (await patient.json<{ items: { id: string }[] }>('GET', '/v1/me/documents?rubric=resultats-de-biologie')).body.items[0]!.id;
    expect((await doctor.json('GET', `/v1/patients/${P.ins}/documents/${docId}/content`)).status).toBe(403); // even as the author
    expect((await upload(doctor, P.ins, pdf, 'x.pdf', { title: 'x', rubric: 'imagerie' })).status).toBe(403);
    // the other patient's record is untouched by this patient's settings
    expect((await doctor.json('GET', `/v1/patients/${OTHER}/documents`)).status).toBe(200);
  });

  it('records every professional action in the history and notifies the patient, grouped', async () => {
    const h = await patient.json<{
      items: { action: string; actor: { kind: string; rpps: string | null; displayName: string; profession: string | null }; documentId: string | null }[];
    }>('GET', '/v1/me/activity');
    const reads = h.body.items.filter((i) => i.action === 'document-read');
    expect(reads.map((r) => r.actor.rpps)).toEqual(expect.arrayContaining([NURSE, DOCTOR, DOCTOR2]));
    expect(reads.find((r) => r.actor.rpps === NURSE)!.actor).toMatchObject({ kind: 'professional', displayName: 'Infirmier Bob', profession: '60' });
    expect(h.body.items.map((i) => i.action)).toEqual(expect.arrayContaining(['document-added', 'document-listed', 'access-refused', 'emergency-access']));
    const dir = path.join(t.dataDir, 'notifications');
    const notices = await waitFor(
      async () => {
        const found = [];
        for (const f of (await fs.readdir(dir)).filter((x) => x.endsWith('.eml'))) {
          const m = await simpleParser(await fs.readFile(path.join(dir, f)));
          const to = m.to && !Array.isArray(m.to) ? m.to.value[0]?.address : undefined;
          if (to === P.email && !/code de connexion/.test(m.subject ?? '')) found.push(m);
        }
        return found.length ? found : null;
      },
      10_000,
      'the grouped notification',
    );
    expect(notices).toHaveLength(1); // many professional actions, one e-mail in the window
    // The first action was an upload: the notice says a document was added, not that a message arrived.
    expect(notices[0]!.subject).toBe('Du nouveau dans Mon espace santé');
    expect(notices[0]!.text).toContain('Un ou plusieurs nouveaux documents ont été ajoutés à votre profil Mon espace santé.');
    expect(notices[0]!.text).not.toContain('nouveaux messages');
    expect(notices[0]!.text).not.toMatch(/Bilan|Alice|biologie|Bob|HOPITAL/i);
    expect(notices[0]!.text).not.toContain(P.ins);
  });
});
