// The professional listing pages with real cursors: every document the professional may see comes exactly once,
// newest first, however many the access rules filter out between pages; a forged cursor is a 400.
import crypto from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevIssuer, issueDevToken } from '../../access/pro-auth/index.js';
import { makeTestIns } from '../../access/rules/ins.js';
import { apiClient, importPatientsCsv, loginPatient, startTestGateway, type TestGateway } from '../support/harness.js';

let t: TestGateway;
const P = { ins: makeTestIns(9651), email: 'p9651@example.org', birthDate: '1962-02-06', provisionalCode: 'PROV-P-9651', password: 'Mot-de-passe-P-9651' };
const bearer = (rpps: string) => issueDevToken({ dir: path.join(t.pki, 'oidc'), rpps, profession: '10', name: `Dr ${rpps}`, organisation: 'HOPITAL A TEST' });

async function deposit(title: string): Promise<string> {
  const form = new FormData();
  form.set('title', title);
  form.set('rubric', 'comptes-rendus');
  form.set(
    'file',
    new Blob([new Uint8Array(Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(500)]))], { type: 'application/pdf' }),
    `${title}.pdf`,
  );
  const res = await fetch(`http://127.0.0.1:${t.gw.apiPort}/v1/patients/${P.ins}/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer('10000000071')}` },
    body: form,
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

beforeAll(async () => {
  t = await startTestGateway({ env: { LIMIT_API_PAGE_SIZE: '3' } });
  ensureDevIssuer(path.join(t.pki, 'oidc'));
  await importPatientsCsv(
    t,
    `ins,family_name,given_names,birth_date,email,state,provisional_code\n${P.ins},TEST-PAGES,P,${P.birthDate},${P.email},created,${P.provisionalCode}\n`,
  );
});
afterAll(async () => {
  await t?.close();
});

describe('professional listing', () => {
  it('pages with cursors through every visible document exactly once, skipping the masked ones', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await deposit(`cr-${i}`));
    const patient = apiClient(t.gw.apiPort!, await loginPatient(t, P));
    for (const i of [1, 2, 5]) expect((await patient.call('PATCH', `/v1/me/documents/${ids[i]}`, { masked: true })).status).toBe(204);
    const colleague = apiClient(t.gw.apiPort!, bearer('10000000072'));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: { status: number; body: { items: { id: string }[]; next: string | null } } = await colleague.json(
        'GET',
        `/v1/patients/${P.ins}/documents${cursor ? `?cursor=${cursor}` : ''}`,
      );
      expect(r.status).toBe(200);
      expect(r.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...r.body.items.map((d) => d.id));
      cursor = r.body.next;
      pages++;
    } while (cursor && pages < 10);
    expect(cursor).toBeNull();
    const visible = ids.filter((_, i) => ![1, 2, 5].includes(i)).reverse(); // newest first
    expect(seen).toEqual(visible);
    expect(pages).toBe(2);
    expect((await colleague.json<{ code: string }>('GET', `/v1/patients/${P.ins}/documents?cursor=pas-un-curseur`)).status).toBe(400);
  });
});
