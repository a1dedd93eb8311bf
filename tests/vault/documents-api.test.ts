// The patient's documents, access settings and activity through the HTTP API, on real PostgreSQL/Redis/TLS.
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import yauzl from 'yauzl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { apiClient, importPatientsCsv, loginPatient, sendMail, startTestGateway, waitFor, type ApiClient, type TestGateway } from '../support/harness.js';

let t: TestGateway;
let apiA: ApiClient;
let apiB: ApiClient;
let tokenA: string;
const A = { ins: makeTestIns(7101), email: 'a7101@example.org', birthDate: '1981-01-01', provisionalCode: 'PROV-A-7101', password: 'Mot-de-passe-A-7101' };
const B = { ins: makeTestIns(7102), email: 'b7102@example.org', birthDate: '1982-02-02', provisionalCode: 'PROV-B-7102', password: 'Mot-de-passe-B-7102' };

interface Doc {
  id: string;
  rubric: string;
  title: string;
  mediaType: string;
  size: number;
  masked: boolean;
  author: { kind: string; displayName: string };
}

beforeAll(async () => {
  t = await startTestGateway();
  await importPatientsCsv(
    t,
    [
      'ins,family_name,given_names,birth_date,email,state,provisional_code',
      `${A.ins},TEST-A,A,${A.birthDate},${A.email},created,${A.provisionalCode}`,
      `${B.ins},TEST-B,B,${B.birthDate},${B.email},created,${B.provisionalCode}`,
    ].join('\n'),
  );
  tokenA = await loginPatient(t, A);
  apiA = apiClient(t.gw.apiPort!, tokenA);
  apiB = apiClient(t.gw.apiPort!, await loginPatient(t, B));
});
afterAll(async () => {
  await t?.close();
});

describe('patient documents', () => {
  it('files message attachments as documents, downloadable only by their patient', async () => {
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), crypto.randomBytes(40_000)]);
    const r = await sendMail({
      port: t.gw.smtpPort!,
      pki: t.pki,
      cert: 'hopital-a.mssante.fr',
      from: '"Dr Anne Test" <dr.anne@hopital-a.mssante.fr>',
      to: [`${A.ins}@patient.mssante.fr`],
      attachments: [{ filename: 'compte-rendu.pdf', content: pdf, contentType: 'application/pdf' }],
    });
    expect(r.ok).toBe(true);
    const docs = await waitFor(
      async () => {
        const l = await apiA.json<{ items: Doc[]; next: string | null }>('GET', '/v1/me/documents');
        return l.body.items.length ? l.body : null;
      },
      30_000,
      'the document',
    );
    expect(docs.items).toHaveLength(1);
    const d = docs.items[0]!;
    expect(d).toMatchObject({ rubric: 'autres-documents', title: 'compte-rendu.pdf', size: pdf.length, masked: false, author: { kind: 'professional' } });
    expect(docs.next).toBeNull();
    const content = await apiA.call('GET', `/v1/me/documents/${d.id}/content`);
    expect(content.status).toBe(200);
    expect(Buffer.from(await content.arrayBuffer()).equals(pdf)).toBe(true);
    expect((await apiB.json('GET', `/v1/me/documents/${d.id}/content`)).status).toBe(404);
    expect((await apiB.json<{ items: Doc[] }>('GET', '/v1/me/documents')).body.items).toHaveLength(0);
    expect((await apiA.json<{ items: Doc[] }>('GET', '/v1/me/documents?rubric=autres-documents')).body.items).toHaveLength(1);
    expect((await apiA.json<{ items: Doc[] }>('GET', '/v1/me/documents?rubric=imagerie')).body.items).toHaveLength(0);
    expect((await apiA.json('GET', '/v1/me/documents?rubric=nope')).status).toBe(400);
  });

  it('masks and unmasks a document; another patient cannot', async () => {
    const d = (await apiA.json<{ items: Doc[] }>('GET', '/v1/me/documents')).body.items[0]!;
    expect((await apiB.call('PATCH', `/v1/me/documents/${d.id}`, { masked: true })).status).toBe(404);
    expect((await apiA.call('PATCH', `/v1/me/documents/${d.id}`, { masked: true })).status).toBe(204);
    expect((await apiA.json<{ items: Doc[] }>('GET', '/v1/me/documents')).body.items[0]!.masked).toBe(true);
    expect((await apiA.call('PATCH', `/v1/me/documents/${d.id}`, { masked: false })).status).toBe(204);
    expect((await apiA.json<{ items: Doc[] }>('GET', '/v1/me/documents')).body.items[0]!.masked).toBe(false);
  });
});

describe('patient uploads', () => {
  async function upload(client: ApiClient, content: Buffer, filename: string, fields: Record<string, string>) {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.set(k, v);
    form.set('file', new Blob([new Uint8Array(content)], { type: 'application/pdf' }), filename);
    const token = (client as unknown as { token?: string }).token;
    const res = await fetch(`${client.base}/v1/me/documents`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
    return { status: res.status, body: (await res.json()) as { id: string; rubric: string } };
  }

  it('uploads, reclassifies and deletes own documents, but not a professional one', async () => {
    const client = Object.assign(apiA, { token: tokenA });
    const pdf = Buffer.concat([Buffer.from('%PDF-1.5\n'), crypto.randomBytes(3000)]);
    const up = await upload(client, pdf, 'carte-mutuelle.pdf', { title: 'Carte de mutuelle', rubric: 'pieces-administratives' });
    expect(up.status).toBe(201);
    const listed = (await apiA.json<{ items: Doc[] }>('GET', '/v1/me/documents?rubric=pieces-administratives')).body.items;
    expect(listed.find((d) => d.id === up.body.id)).toMatchObject({ title: 'Carte de mutuelle', author: { kind: 'patient', displayName: 'Moi' } });
    expect((await upload(client, Buffer.concat([Buffer.from('MZ'), Buffer.alloc(500, 7)]), 'x.exe', {})).status).toBe(415);
    expect((await upload(client, pdf, 'x.pdf', { rubric: 'nope' })).status).toBe(400);
    // Text whose markup starts after the sniffer's 16 KiB head, and web files by name, are refused too.
    const lateHtml = Buffer.from(`${'Compte rendu, ligne de texte.\n'.repeat(2000)}<script>alert(1)</script>\n`);
    expect((await upload(client, lateHtml, 'notes.txt', {})).status).toBe(415);
    expect((await upload(client, Buffer.from('Bonjour\n'), 'page.html', {})).status).toBe(415);
    expect((await upload(client, Buffer.from('Bonjour\n'), 'image.svg', {})).status).toBe(415);
    expect((await upload(client, Buffer.from('Bonjour, ceci est <b>gras</b>.\n'), 'notes.txt', { rubric: 'pieces-administratives' })).status).toBe(201);

    const fromPro = (await apiA.json<{ items: Doc[] }>('GET', '/v1/me/documents?rubric=autres-documents')).body.items[0]!;
    expect((await apiA.call('PATCH', `/v1/me/documents/${fromPro.id}`, { rubric: 'comptes-rendus' })).status).toBe(204);
    expect((await apiA.json<{ items: Doc[] }>('GET', '/v1/me/documents?rubric=comptes-rendus')).body.items.map((d) => d.id)).toContain(fromPro.id);
    const notOwn = await apiA.json<{ code: string; detail: string }>('DELETE', `/v1/me/documents/${fromPro.id}`);
    expect([notOwn.status, notOwn.body.code, notOwn.body.detail]).toEqual([
      403,
      'API-DOC-06',
      'Seuls les documents que vous avez ajoutés peuvent être supprimés.',
    ]);
    expect((await apiB.json('DELETE', `/v1/me/documents/${up.body.id}`)).status).toBe(404);
    expect((await apiA.call('DELETE', `/v1/me/documents/${up.body.id}`)).status).toBe(204);
    expect((await apiA.json<{ items: Doc[] }>('GET', '/v1/me/documents')).body.items.map((d) => d.id)).not.toContain(up.body.id);
  });
});

describe('notes', () => {
  it('keeps a note the patient writes as one of their documents, plain text, and refuses markup', async () => {
    const note = await apiA.json<{ id: string; rubric: string; mediaType: string }>('POST', '/v1/me/notes', {
      title: 'Questions pour le Dr Durand',
      text: 'Douleur au genou depuis lundi.\r\nÀ demander : radio ?',
      rubric: 'autres-documents',
    });
    expect(note.status).toBe(201);
    expect(note.body.mediaType).toBe('text/plain');
    const listed = (
      await apiA.json<{ items: { id: string; title: string; author: { kind: string; displayName: string } }[] }>(
        'GET',
        '/v1/me/documents?rubric=autres-documents',
      )
    ).body.items;
    expect(listed.find((d) => d.id === note.body.id)).toMatchObject({ title: 'Questions pour le Dr Durand', author: { kind: 'patient', displayName: 'Moi' } });
    const content = await apiA.call('GET', `/v1/me/documents/${note.body.id}/content`);
    expect(await content.text()).toBe('Douleur au genou depuis lundi.\nÀ demander : radio ?');
    expect((await apiB.json('GET', `/v1/me/documents/${note.body.id}/content`)).status).toBe(404);
    expect((await apiA.json<{ code: string }>('POST', '/v1/me/notes', { title: 'x', text: 'voir <script>alert(1)</script>' })).body.code).toBe('API-DOC-04');
    const blank = await apiA.json<{ code: string }>('POST', '/v1/me/notes', { title: '   ', text: 'du texte' });
    expect([blank.status, blank.body.code]).toEqual([400, 'API-DOC-05']);
    expect((await apiA.json('POST', '/v1/me/notes', { title: 'x', text: '' })).status).toBe(400);
    expect((await apiA.json('POST', '/v1/me/notes', { title: 'x', text: 'y', rubric: 'nope' })).status).toBe(400);
  });
});

describe('access settings and activity', () => {
  it('blocks and unblocks a professional by RPPS', async () => {
    expect((await apiA.call('POST', '/v1/me/access/blocked', { rpps: '10001234567' })).status).toBe(204);
    expect((await apiA.json<{ blocked: string[] }>('GET', '/v1/me/access')).body.blocked).toEqual(['10001234567']);
    expect((await apiB.json<{ blocked: string[] }>('GET', '/v1/me/access')).body.blocked).toEqual([]);
    expect((await apiA.call('POST', '/v1/me/access/blocked', { rpps: 'abc' })).status).toBe(400);
    expect((await apiA.call('DELETE', '/v1/me/access/blocked/10001234567')).status).toBe(204);
    expect((await apiA.call('DELETE', '/v1/me/access/blocked/10001234567')).status).toBe(404);
  });

  it('refuses an administrator doctor who never accessed the record', async () => {
    const r = await apiA.json<{ detail: string }>('PATCH', '/v1/me/access', { administratorRpps: '19999999999' });
    expect(r.status).toBe(409);
    expect((await apiA.call('PATCH', '/v1/me/access', { allMasked: true, samuRegulatorAllowed: false })).status).toBe(204);
    expect((await apiA.json<{ allMasked: boolean; samuRegulatorAllowed: boolean; breakGlassAllowed: boolean }>('GET', '/v1/me/access')).body).toMatchObject({
      allMasked: true,
      samuRegulatorAllowed: false,
      breakGlassAllowed: true,
    });
  });

  it('shows the activity history: what professionals did, never the patient', async () => {
    const a = await apiA.json<{ items: { action: string; actor: { kind: string } }[] }>('GET', '/v1/me/activity');
    expect(a.status).toBe(200);
    expect(a.body.items.map((i) => i.action)).toContain('message-received');
    expect((await apiB.json<{ items: unknown[] }>('GET', '/v1/me/activity')).body.items).toHaveLength(0);
  });
});

describe('archive and closure', () => {
  it('streams every document in a ZIP, then closes the profile (mail refused, session ended)', async () => {
    const docs = (await apiB.json<{ items: Doc[] }>('GET', '/v1/me/documents')).body.items;
    expect(docs).toHaveLength(0);
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), crypto.randomBytes(300_000)]);
    const r = await sendMail({
      port: t.gw.smtpPort!,
      pki: t.pki,
      cert: 'hopital-a.mssante.fr',
      from: 'dr.anne@hopital-a.mssante.fr',
      to: [`${B.ins}@patient.mssante.fr`],
      attachments: [
        { filename: 'un.pdf', content: pdf },
        { filename: 'un.pdf', content: Buffer.from('%PDF-1.4 deux') },
      ],
    });
    expect(r.ok).toBe(true);
    await waitFor(async () => (await apiB.json<{ items: Doc[] }>('GET', '/v1/me/documents')).body.items.length === 2, 30_000, 'documents');
    const res = await apiB.call('GET', '/v1/me/archive');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    const zip = Buffer.from(await res.arrayBuffer());
    const entries = await new Promise<Map<string, Buffer>>((resolve, reject) => {
      const out = new Map<string, Buffer>();
      yauzl.fromBuffer(zip, { lazyEntries: true }, (err, z) => {
        if (err || !z) return reject(err);
        z.readEntry();
        z.on('entry', (e: yauzl.Entry) => {
          z.openReadStream(e, (err2, s) => {
            if (err2 || !s) return reject(err2);
            const parts: Buffer[] = [];
            s.on('data', (d: Buffer) => parts.push(d));
            s.on('end', () => {
              const content = Buffer.concat(parts);
              if (zlib.crc32(content) !== e.crc32) return reject(new Error(`bad CRC for ${e.fileName}`));
              out.set(e.fileName, content);
              z.readEntry();
            });
          });
        });
        z.on('end', () => resolve(out));
        z.on('error', reject);
      });
    });
    expect([...entries.keys()].sort()).toEqual(['autres-documents/un (2).pdf', 'autres-documents/un.pdf']);
    expect([...entries.values()].some((b) => b.equals(pdf))).toBe(true);

    expect((await apiB.call('POST', '/v1/me/profile/close')).status).toBe(204);
    expect((await apiB.json('GET', '/v1/me/documents')).status).toBe(401);
    const after = await sendMail({
      port: t.gw.smtpPort!,
      pki: t.pki,
      cert: 'hopital-a.mssante.fr',
      from: 'dr.anne@hopital-a.mssante.fr',
      to: [`${B.ins}@patient.mssante.fr`],
    });
    expect(after.response).toMatch(/^550 5\.2\.1 /);
  });
});
