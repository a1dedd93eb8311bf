// Professionals' documents as the patient sees them. Hidden until the announcement consultation (SPEC §5): a
// professional deposits one hidden; the patient sees, downloads and is told nothing, not even in the history;
// professionals with access see it; the author reveals it, and then the patient sees it, is notified, and the
// history shows both steps. Versions: a document replaced by its author keeps its chain, listed newest first.
import crypto from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevIssuer, issueDevToken } from '../../access/pro-auth/index.js';
import { makeTestIns } from '../../access/rules/ins.js';
import { revealDueDocuments } from '../../access/index.js';
import { apiClient, importPatientsCsv, loginPatient, readNotices, startTestGateway, waitFor, type ApiClient, type TestGateway } from '../support/harness.js';

let t: TestGateway;
let patient: ApiClient;
const P = { ins: makeTestIns(9601), email: 'p9601@example.org', birthDate: '1961-01-06', provisionalCode: 'PROV-P-9601', password: 'Mot-de-passe-P-9601' };
const AUTHOR = '10000000061';
const COLLEAGUE = '10000000062';

const bearer = (rpps: string, name: string) => issueDevToken({ dir: path.join(t.pki, 'oidc'), rpps, profession: '10', name, organisation: 'HOPITAL A TEST' });
const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(5_000)]);

async function deposit(fields: Record<string, string>): Promise<{ status: number; id: string }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  form.set('file', new Blob([new Uint8Array(pdf)], { type: 'application/pdf' }), 'annonce.pdf');
  const res = await fetch(`http://127.0.0.1:${t.gw.apiPort}/v1/patients/${P.ins}/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer(AUTHOR, 'Dr Annonce')}` },
    body: form,
  });
  return { status: res.status, id: ((await res.json()) as { id: string }).id };
}

const pendingNotification = async () =>
  (await t.gw.database.pool.query(`SELECT pending_since FROM notification_state n JOIN patients p ON p.id = n.patient_id WHERE p.ins = $1`, [P.ins])).rows[0]
    ?.pending_since ?? null;

beforeAll(async () => {
  t = await startTestGateway({ env: { NOTIFY_WINDOW_SECONDS: '3600', LIMIT_LIFECYCLE_CHECK_MS: '200' } });
  ensureDevIssuer(path.join(t.pki, 'oidc'));
  await importPatientsCsv(
    t,
    `ins,family_name,given_names,birth_date,email,state,provisional_code\n${P.ins},TEST-CACHE,P,${P.birthDate},${P.email},created,${P.provisionalCode}\n`,
  );
  patient = apiClient(t.gw.apiPort!, await loginPatient(t, P));
});
afterAll(async () => {
  await t?.close();
});

describe('documents hidden until the announcement consultation', () => {
  it('stays invisible to the patient until its author reveals it, then appears with its whole history', async () => {
    const up = await deposit({ title: 'Compte rendu avant annonce', rubric: 'comptes-rendus', hiddenFromPatient: 'true' });
    expect(up.status).toBe(201);
    const listed = async () => (await patient.json<{ items: { id: string }[] }>('GET', '/v1/me/documents')).body.items.map((d) => d.id);
    const history = async () =>
      (await patient.json<{ items: { action: string; documentId: string | null }[] }>('GET', '/v1/me/activity')).body.items
        .filter((e) => e.documentId === up.id)
        .map((e) => e.action);
    expect(await listed()).not.toContain(up.id);
    expect((await patient.call('GET', `/v1/me/documents/${up.id}/content`)).status).toBe(404);
    expect(await history()).toEqual([]);
    expect(await pendingNotification()).toBeNull(); // nothing announced
    // A colleague with access sees it (and the patient is still told nothing of which document).
    const colleague = apiClient(t.gw.apiPort!, bearer(COLLEAGUE, 'Dr Collegue'));
    expect((await colleague.json<{ items: { id: string }[] }>('GET', `/v1/patients/${P.ins}/documents`)).body.items.map((d) => d.id)).toContain(up.id);
    // Only its author reveals it.
    expect((await colleague.call('PATCH', `/v1/patients/${P.ins}/documents/${up.id}`, { hiddenFromPatient: false })).status).toBe(403);
    expect(await listed()).not.toContain(up.id);
    await t.gw.database.pool.query(`UPDATE notification_state SET pending_since = NULL`);
    const author = apiClient(t.gw.apiPort!, bearer(AUTHOR, 'Dr Annonce'));
    expect((await author.call('PATCH', `/v1/patients/${P.ins}/documents/${up.id}`, { hiddenFromPatient: false })).status).toBe(204);
    expect(await listed()).toContain(up.id);
    expect((await patient.call('GET', `/v1/me/documents/${up.id}/content`)).status).toBe(200);
    // Announced: pending for the next notice, or already sent by the dispatcher as a new document.
    await waitFor(
      async () =>
        (await pendingNotification()) !== null || (await readNotices(t.dataDir, P.email)).some((n) => n.includes('nouveaux documents ont été ajoutés')),
      20_000,
      'the announcement of the revealed document',
    );
    const steps = await history();
    expect(steps).toContain('document-added');
    expect(steps).toContain('document-revealed');
    // Revealing again changes nothing and records nothing.
    expect((await author.call('PATCH', `/v1/patients/${P.ins}/documents/${up.id}`, { hiddenFromPatient: false })).status).toBe(204);
    expect((await history()).filter((a) => a === 'document-revealed')).toHaveLength(1);
  });

  it('reveals a document by itself at the date its author chose, once, and records it', async () => {
    const listed = async () => (await patient.json<{ items: { id: string }[] }>('GET', '/v1/me/documents')).body.items.map((d) => d.id);
    await t.gw.database.pool.query(`UPDATE notification_state SET pending_since = NULL`);
    const at = new Date(Date.now() + 1500);
    const up = await deposit({ title: 'Résultat annoncé à date', rubric: 'comptes-rendus', revealAt: at.toISOString() });
    expect(up.status).toBe(201);
    expect(await listed()).not.toContain(up.id); // a reveal date implies hidden until then
    expect(await pendingNotification()).toBeNull();
    const announced = async () => (await readNotices(t.dataDir, P.email)).filter((n) => n.includes('nouveaux documents ont été ajoutés')).length;
    const noticesBefore = await announced();
    await waitFor(async () => (await listed()).includes(up.id), 20_000, 'the document revealed at its date');
    expect(Date.now()).toBeGreaterThanOrEqual(at.getTime());
    // Announced: pending for the next notice, or already sent by the dispatcher as a new document.
    await waitFor(
      async () => (await pendingNotification()) !== null || (await announced()) > noticesBefore,
      20_000,
      'the announcement of the revealed document',
    );
    const history = (
      await patient.json<{ items: { action: string; documentId: string | null; actor: { kind: string } }[] }>('GET', '/v1/me/activity')
    ).body.items.filter((e) => e.documentId === up.id);
    expect(history.map((e) => [e.action, e.actor.kind])).toEqual([
      ['document-revealed', 'system'],
      ['document-added', 'professional'],
    ]);
    // Revealed once: a later run finds nothing to do, and the author's own reveal changes nothing either.
    expect(await revealDueDocuments({ db: t.gw.database.db, keyring: t.gw.keyring }, new Date(Date.now() + 86_400_000))).toBe(0);
    expect(
      (await apiClient(t.gw.apiPort!, bearer(AUTHOR, 'Dr Annonce')).call('PATCH', `/v1/patients/${P.ins}/documents/${up.id}`, { hiddenFromPatient: false }))
        .status,
    ).toBe(204);
    const after = (await patient.json<{ items: { documentId: string | null }[] }>('GET', '/v1/me/activity')).body.items.filter((e) => e.documentId === up.id);
    expect(after).toHaveLength(2);
  });

  it('an author who reveals before the date wins; the date then does nothing', async () => {
    const up = await deposit({ title: 'Révélé avant la date', rubric: 'comptes-rendus', revealAt: new Date(Date.now() + 3600_000).toISOString() });
    const author = apiClient(t.gw.apiPort!, bearer(AUTHOR, 'Dr Annonce'));
    expect((await author.call('PATCH', `/v1/patients/${P.ins}/documents/${up.id}`, { hiddenFromPatient: false })).status).toBe(204);
    expect(await revealDueDocuments({ db: t.gw.database.db, keyring: t.gw.keyring }, new Date(Date.now() + 2 * 3600_000))).toBe(0);
    const events = (await patient.json<{ items: { action: string; documentId: string | null }[] }>('GET', '/v1/me/activity')).body.items.filter(
      (e) => e.documentId === up.id,
    );
    expect(events.map((e) => e.action)).toEqual(['document-revealed', 'document-added']);
  });

  it('refuses a reveal date it cannot read, already past, or more than a year ahead (400 API-PRO-08)', async () => {
    for (const revealAt of ['demain', '2026-02-30', new Date(Date.now() - 3600_000).toISOString(), new Date(Date.now() + 400 * 86_400_000).toISOString()]) {
      const form = new FormData();
      form.set('title', 'x');
      form.set('revealAt', revealAt);
      form.set('file', new Blob([new Uint8Array(pdf)], { type: 'application/pdf' }), 'x.pdf');
      const res = await fetch(`http://127.0.0.1:${t.gw.apiPort}/v1/patients/${P.ins}/documents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer(AUTHOR, 'Dr Annonce')}` },
        body: form,
      });
      const body = (await res.json()) as { code: string; detail: string };
      expect([res.status, body.code], revealAt).toEqual([400, 'API-PRO-08']);
    }
  });

  it('files a document visible at once when it is not asked to be hidden', async () => {
    const up = await deposit({ title: 'Ordonnance', rubric: 'ordonnances-et-soins' });
    expect((await patient.json<{ items: { id: string }[] }>('GET', '/v1/me/documents')).body.items.map((d) => d.id)).toContain(up.id);
  });

  it("lists every version of a replaced document, newest first, from any of them; never another patient's", async () => {
    const v1 = await deposit({ title: 'CR v1', rubric: 'comptes-rendus' });
    const v2 = await deposit({ title: 'CR v2', rubric: 'comptes-rendus', replaces: v1.id });
    const v3 = await deposit({ title: 'CR v3', rubric: 'comptes-rendus', replaces: v2.id });
    for (const from of [v1.id, v2.id, v3.id]) {
      const r = await patient.json<{ items: { id: string; title: string; current: boolean }[] }>('GET', `/v1/me/documents/${from}/versions`);
      expect(r.status).toBe(200);
      expect(r.body.items.map((d) => [d.title, d.current])).toEqual([
        ['CR v3', true],
        ['CR v2', false],
        ['CR v1', false],
      ]);
    }
    expect((await patient.json('GET', `/v1/me/documents/${crypto.randomUUID()}/versions`)).status).toBe(404);
    // A new version still hidden from the patient is not listed until it is revealed.
    const v4 = await deposit({ title: 'CR v4', rubric: 'comptes-rendus', replaces: v3.id, hiddenFromPatient: 'true' });
    const titles = async () => (await patient.json<{ items: { title: string }[] }>('GET', `/v1/me/documents/${v1.id}/versions`)).body.items.map((d) => d.title);
    expect(await titles()).not.toContain('CR v4');
    expect((await patient.json('GET', `/v1/me/documents/${v4.id}/versions`)).status).toBe(404);
    // Meanwhile the patient keeps the version in force; the reveal makes the new one current.
    const current = async () =>
      (await patient.json<{ items: { title: string }[] }>('GET', '/v1/me/documents?rubric=comptes-rendus')).body.items
        .map((d) => d.title)
        .filter((x) => x.startsWith('CR v'));
    expect(await current()).toEqual(['CR v3']);
    const author = apiClient(t.gw.apiPort!, bearer(AUTHOR, 'Dr Annonce'));
    expect((await author.call('PATCH', `/v1/patients/${P.ins}/documents/${v4.id}`, { hiddenFromPatient: false })).status).toBe(204);
    expect(await current()).toEqual(['CR v4']);
    expect((await titles())[0]).toBe('CR v4');
  });
});
