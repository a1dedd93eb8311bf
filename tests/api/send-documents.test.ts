// `documentIds` of a patient's reply or new message, end to end on the real API: each must be a UUID naming a
// document of this patient that the patient can see and has not deleted; anything else is a problem+json with
// its own code and French text, and nothing is sent.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { schema } from '../../db/index.js';
import { makePdf } from '../support/pdf.js';
import { freePort } from '../support/ports.js';
import { apiClient, importPatientsCsv, loginPatient, sendToPatient, startTestGateway, waitFor, type ApiClient, type TestGateway } from '../support/harness.js';

let t: TestGateway;
let a: ApiClient;
let tokenA: string;
let b: ApiClient;
const A = { ins: makeTestIns(7301), email: 'docs-a@example.org', birthDate: '1970-03-03', provisionalCode: 'PROV-DOCS-A1', password: 'Mot-de-passe-Docs-A1' };
const B = { ins: makeTestIns(7302), email: 'docs-b@example.org', birthDate: '1971-04-04', provisionalCode: 'PROV-DOCS-B2', password: 'Mot-de-passe-Docs-B2' };

interface Msg {
  id: string;
  subject: string;
  attachments: { id: string; filename: string }[];
}
interface Problem {
  code: string;
  detail: string;
  status: number;
}

async function messageWithAttachment(api: ApiClient, subject: string): Promise<Msg> {
  return waitFor(
    async () => (await api.json<{ items: Msg[] }>('GET', '/v1/me/messages')).body.items.find((m) => m.subject === subject && m.attachments.length > 0),
    30_000,
    subject,
  );
}

async function sentCount(api: ApiClient): Promise<number> {
  return (await api.json<{ items: unknown[] }>('GET', '/v1/me/messages?folder=sent')).body.items.length;
}

let messageA: Msg;
let docOfB: string;
let contactA: string;

beforeAll(async () => {
  // Replies go to a closed local port: they stay queued, which is all these tests need.
  t = await startTestGateway({ env: { RELAY_ROUTES: `hopital-a.mssante.fr=127.0.0.1:${await freePort()}` } });
  await importPatientsCsv(
    t,
    `ins,family_name,given_names,birth_date,email,state,provisional_code\n${A.ins},TEST-DOCA,A,${A.birthDate},${A.email},created,${A.provisionalCode}\n${B.ins},TEST-DOCB,B,${B.birthDate},${B.email},created,${B.provisionalCode}\n`,
  );
  const pdf = { filename: 'resultats.pdf', content: makePdf(['Resultats']), contentType: 'application/pdf' };
  expect((await sendToPatient(t, A.ins, { subject: 'Pour A', attachments: [pdf] })).ok).toBe(true);
  expect((await sendToPatient(t, B.ins, { subject: 'Pour B', attachments: [pdf] })).ok).toBe(true);
  tokenA = await loginPatient(t, A);
  a = apiClient(t.gw.apiPort!, tokenA);
  b = apiClient(t.gw.apiPort!, await loginPatient(t, B));
  messageA = await messageWithAttachment(a, 'Pour A');
  docOfB = (await messageWithAttachment(b, 'Pour B')).attachments[0]!.id;
  contactA = (await a.json<{ items: { id: string }[] }>('GET', '/v1/me/contacts')).body.items[0]!.id;
});
afterAll(async () => {
  await t?.close();
});

/** A document A uploads, then deletes. */
async function deletedUpload(): Promise<string> {
  const form = new FormData();
  form.set('title', 'Ordonnance');
  form.set('file', new Blob([new Uint8Array(makePdf(['Ordonnance']))], { type: 'application/pdf' }), 'ordonnance.pdf');
  const up = await fetch(`${a.base}/v1/me/documents`, { method: 'POST', headers: { authorization: `Bearer ${tokenA}` }, body: form });
  expect(up.status).toBe(201);
  const { id } = (await up.json()) as { id: string };
  expect((await a.call('DELETE', `/v1/me/documents/${id}`)).status).toBe(204);
  return id;
}

describe('documentIds of a patient message', () => {
  it('refuses an id that is not a UUID with 400 API-SEND-04, and sends nothing', async () => {
    const before = await sentCount(a);
    for (const id of ['not-a-uuid', "1' OR '1'='1", '00000000-0000-4000-8000-00000000000']) {
      const r = await a.json<Problem>('POST', `/v1/me/messages/${messageA.id}/reply`, { text: 'avec', documentIds: [id] });
      expect(r.status, id).toBe(400);
      expect(r.type).toMatch(/^application\/problem\+json/);
      expect(r.body).toMatchObject({ code: 'API-SEND-04', detail: 'Identifiant de document invalide.' });
    }
    const w = await a.json<Problem>('POST', '/v1/me/messages', { contactId: contactA, subject: 'Question', text: 'x', documentIds: ['zzz'] });
    expect(w.body.code).toBe('API-SEND-04');
    expect(await sentCount(a)).toBe(before);
  });

  it("refuses another patient's document and a hidden one as not found (404 API-SEND-02)", async () => {
    const other = await a.json<Problem>('POST', `/v1/me/messages/${messageA.id}/reply`, { text: 'avec', documentIds: [docOfB] });
    expect(other.status).toBe(404);
    expect(other.body).toMatchObject({ code: 'API-SEND-02', detail: 'Document introuvable.' });
    // A document hidden from the patient (until an announcement consultation) cannot leave in their name either.
    const hidden = (await messageWithAttachment(b, 'Pour B')).attachments[0]!.id;
    await t.gw.database.db.update(schema.documents).set({ hiddenFromPatient: true }).where(eq(schema.documents.id, hidden));
    const h = await b.json<Problem>('POST', '/v1/me/messages', {
      contactId: (await b.json<{ items: { id: string }[] }>('GET', '/v1/me/contacts')).body.items[0]!.id,
      subject: 'Q',
      text: 'x',
      documentIds: [hidden],
    });
    expect(h.status).toBe(404);
    expect(h.body.code).toBe('API-SEND-02');
  });

  it('refuses a deleted document with 410 API-SEND-05 (reply and new message), and sends nothing', async () => {
    const gone = await deletedUpload();
    const before = await sentCount(a);
    const r = await a.json<Problem>('POST', `/v1/me/messages/${messageA.id}/reply`, { text: 'avec', documentIds: [gone] });
    expect(r.status).toBe(410);
    expect(r.type).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ code: 'API-SEND-05', detail: 'Ce document a été supprimé : il ne peut plus être joint à un message.' });
    const w = await a.json<Problem>('POST', '/v1/me/messages', {
      contactId: contactA,
      subject: 'Question',
      text: 'x',
      documentIds: [messageA.attachments[0]!.id, gone],
    });
    expect(w.status).toBe(410);
    expect(await sentCount(a)).toBe(before);
  });

  it('accepts the patient’s own visible document, given twice or in upper case', async () => {
    const id = messageA.attachments[0]!.id;
    const r = await a.json<{ id: string }>('POST', `/v1/me/messages/${messageA.id}/reply`, { text: 'avec la pièce', documentIds: [id, id.toUpperCase()] });
    expect(r.status).toBe(202);
  });
});
