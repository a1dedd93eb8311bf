// The organisation API end to end (SPEC §6.3, issue 11 item 3): a mutual-TLS listener where hospital systems and
// the insurer, with their IGC-Santé organisation certificate from the development PKI, deposit documents in bulk
// (multipart, one result per document), idempotently, within the deposit grid and the patient's blocks.
import crypto, { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { createCrl, initDevelopmentPki, pkiPaths, type DevOrganisation } from '../../certs/index.js';
import { apiClient, importPatientsCsv, loginPatient, startTestGateway, waitFor, type ApiClient, type TestGateway } from '../support/harness.js';

let t: TestGateway;
let patient: ApiClient;
const P = { ins: makeTestIns(9301), email: 'p9301@example.org', birthDate: '1971-03-03', provisionalCode: 'PROV-O-9301', password: 'Mot-de-passe-O-9301' };
const P2 = makeTestIns(9302);
const CLOSED = makeTestIns(9303);
const INSURER_ID = '399999999900029';

type Client = DevOrganisation | 'hopital-a' | 'untrusted' | 'revoked' | null;

async function tlsOptions(client: Client): Promise<https.RequestOptions> {
  const pki = t.pki;
  const pair =
    client === null
      ? null
      : client === 'hopital-a'
        ? path.join(pki, 'operators', 'hopital-a.mssante.fr')
        : client === 'untrusted'
          ? path.join(pki, 'untrusted', 'client')
          : client === 'revoked'
            ? path.join(pki, 'extra', 'revoked')
            : path.join(pki, 'organisations', client);
  return {
    host: '127.0.0.1',
    port: t.gw.organisationApiPort!,
    servername: 'localhost',
    ca: await fs.readFile(path.join(pki, 'ca.crt')),
    ...(pair ? { cert: await fs.readFile(`${pair}.crt`), key: await fs.readFile(`${pair}.key`) } : {}),
    agent: false,
  };
}

interface Answer<T> {
  status: number;
  type: string;
  body: T;
}

async function request<T>(client: Client, method: string, url: string, body?: { contentType: string; data: Buffer }): Promise<Answer<T>> {
  const opts = await tlsOptions(client);
  return new Promise((resolve, reject) => {
    const req = https.request(
      { ...opts, method, path: url, headers: body ? { 'content-type': body.contentType, 'content-length': body.data.length } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, type: String(res.headers['content-type'] ?? ''), body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as T }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body?.data);
  });
}

type Part = { name: 'document'; json: unknown } | { name: 'document'; raw: string } | { name: 'file'; filename: string; type: string; content: Buffer };

function multipart(parts: Part[]): { contentType: string; data: Buffer } {
  const boundary = `----mesgw${crypto.randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    if (p.name === 'document') {
      chunks.push(
        Buffer.from(
          `--${boundary}\r\ncontent-disposition: form-data; name="document"\r\ncontent-type: application/json\r\n\r\n${'raw' in p ? p.raw : JSON.stringify(p.json)}\r\n`,
        ),
      );
    } else {
      chunks.push(
        Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${p.filename}"\r\ncontent-type: ${p.type}\r\n\r\n`),
        p.content,
        Buffer.from('\r\n'),
      );
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, data: Buffer.concat(chunks) };
}

interface Result {
  index: number;
  key: string | null;
  status: string;
  documentId: string | null;
  code: string | null;
  detail: string | null;
}
interface Batch {
  results: Result[];
  summary: { filed: number; alreadyFiled: number; refused: number; failed: number };
}

const pdf = (n: number) => Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(n)]);
const doc = (meta: Record<string, unknown>, content: Buffer, filename = 'document.pdf'): Part[] => [
  { name: 'document', json: meta },
  { name: 'file', filename, type: 'application/pdf', content },
];
const deposit = (client: Client, parts: Part[]) => request<Batch>(client, 'POST', '/v1/organisation/documents', multipart(parts));
const myDocuments = async () =>
  (await patient.json<{ items: { id: string; title: string; rubric: string; author: { kind: string; displayName: string } }[] }>('GET', '/v1/me/documents'))
    .body.items;

beforeAll(async () => {
  // The PKI first, so the CRL the listener loads is the development one that lists the revoked fixture.
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-org-'));
  const pki = path.join(dataDir, 'pki');
  await initDevelopmentPki(pki);
  // The organisations' certificates are issued by the gateway's start (a development PKI, PRO_API_MTLS_PORT set).
  t = await startTestGateway({
    dataDir,
    env: {
      PRO_API_MTLS_PORT: '0',
      API_EXPOSE: 'docs',
      INSURER_ORGANISATIONS: INSURER_ID,
      CRL_FILE: path.join(pki, 'crl.pem'),
      LIMIT_CRL_RELOAD_MS: '200',
      NOTIFY_WINDOW_SECONDS: '3600',
    },
  });
  await importPatientsCsv(
    t,
    [
      'ins,family_name,given_names,birth_date,email,state,provisional_code',
      `${P.ins},TEST-ORG,P,${P.birthDate},${P.email},created,${P.provisionalCode}`,
      `${P2},TEST-ORG,Q,1972-04-04,q9302@example.org,created,`,
      `${CLOSED},TEST-ORG,R,1973-05-05,r9303@example.org,closed,`,
    ].join('\n'),
  );
  patient = apiClient(t.gw.apiPort!, await loginPatient(t, P));
});
afterAll(async () => {
  await t?.close();
});

describe('organisation identity over mutual TLS', () => {
  it('names the establishment of a FINESS certificate and the insurer of a listed SIRET', async () => {
    const chu = await request<Record<string, unknown>>('chu-test', 'GET', '/v1/organisation');
    expect(chu.status).toBe(200);
    expect(chu.body).toEqual({ structureId: '1990000011', kind: 'establishment', finess: '990000011', name: 'CHU TEST' });
    const insurer = await request<Record<string, unknown>>('assurance-maladie-test', 'GET', '/v1/organisation');
    expect(insurer.body).toEqual({ structureId: INSURER_ID, kind: 'insurer', finess: null, name: 'CAISSE TEST ASSURANCE MALADIE' });
  });

  it('answers problem+json, saying why, without a certificate, with an untrusted or revoked one, or one naming no health organisation', async () => {
    const none = await request<{ code: string }>(null, 'GET', '/v1/organisation');
    expect([none.status, none.body.code, none.type]).toEqual([401, 'API-ORG-01', 'application/problem+json; charset=utf-8']);
    const untrusted = await request<{ code: string; detail: string }>('untrusted', 'GET', '/v1/organisation');
    expect([untrusted.status, untrusted.body.code]).toEqual([401, 'API-ORG-02']);
    const revoked = await request<{ code: string; detail: string }>('revoked', 'GET', '/v1/organisation');
    expect([revoked.status, revoked.body.code]).toEqual([401, 'API-ORG-02']);
    expect(revoked.body.detail).toContain('CERT_REVOKED');
    // An operator's SIRET certificate is valid IGC-Santé, but no establishment and not the insurer.
    const operator = await request<{ code: string; detail: string }>('hopital-a', 'GET', '/v1/organisation');
    expect([operator.status, operator.body.code]).toEqual([403, 'API-ORG-03']);
    expect(operator.body.detail).toContain('not-health-organisation');
    // Nothing of the organisation API is served on the patient listener.
    expect((await apiClient(t.gw.apiPort!).json('GET', '/v1/organisation')).status).toBe(404);
  });
});

describe('bulk deposits', () => {
  const a = pdf(30_000);
  const b = pdf(12_000);
  const batch = (): Part[] => [
    ...doc({ key: 'chu-2026-0001', ins: P.ins, title: 'Consignes de pré-admission', typeCode: '11488-4' }, a, 'preadmission.pdf'),
    ...doc({ key: 'chu-2026-0002', ins: P2, title: 'Consentement éclairé', rubric: 'pieces-administratives' }, b, 'consentement.pdf'),
    ...doc({ key: 'chu-2026-0003', ins: makeTestIns(9399), title: 'Inconnu' }, pdf(1000)),
    ...doc({ key: 'chu-2026-0004', ins: CLOSED, title: 'Profil fermé' }, pdf(1000)),
    { name: 'document', json: { ins: P.ins, title: 'Sans clé' } },
    { name: 'file', filename: 'sans-cle.pdf', type: 'application/pdf', content: pdf(1000) },
    ...doc({ key: 'chu-2026-0005', ins: P.ins, title: 'Exécutable' }, Buffer.concat([Buffer.from('MZ'), crypto.randomBytes(3000)]), 'rapport.pdf'),
    { name: 'file', filename: 'orphelin.pdf', type: 'application/pdf', content: pdf(1000) },
    ...doc({ key: 'chu-2026-0006', ins: P.ins, title: 'Rubrique inconnue', rubric: 'nulle-part' }, pdf(1000)),
    { name: 'document', json: { key: 'chu-2026-0007', ins: P.ins } },
  ];

  it('files each document of a batch as the establishment and answers one result per document, in order', async () => {
    const before = (await myDocuments()).length;
    const r = await deposit('chu-test', batch());
    expect(r.status).toBe(200);
    expect(r.body.results.map((x) => [x.index, x.key, x.status, x.code])).toEqual([
      [0, 'chu-2026-0001', 'filed', null],
      [1, 'chu-2026-0002', 'filed', null],
      [2, 'chu-2026-0003', 'refused', 'API-ORG-17'],
      [3, 'chu-2026-0004', 'refused', 'API-ORG-17'],
      [4, null, 'refused', 'API-ORG-10'],
      [5, 'chu-2026-0005', 'refused', 'API-ORG-14'],
      [6, null, 'refused', 'API-ORG-10'],
      [7, 'chu-2026-0006', 'refused', 'API-ORG-12'],
      [8, 'chu-2026-0007', 'refused', 'API-ORG-11'],
    ]);
    expect(r.body.summary).toEqual({ filed: 2, alreadyFiled: 0, refused: 7, failed: 0 });
    // The unknown patient and the closed profile get the same answer (no oracle).
    expect(r.body.results[2]!.detail).toBe(r.body.results[3]!.detail);

    const mine = await myDocuments();
    expect(mine.length).toBe(before + 1);
    const filed = mine.find((d) => d.id === r.body.results[0]!.documentId)!;
    expect(filed).toMatchObject({ title: 'Consignes de pré-admission', rubric: 'comptes-rendus', author: { kind: 'establishment', displayName: 'CHU TEST' } });
    const content = await patient.call('GET', `/v1/me/documents/${filed.id}/content`);
    expect(Buffer.from(await content.arrayBuffer()).equals(a)).toBe(true);
    const history = await patient.json<{ items: { action: string; actor: { displayName: string; kind: string }; documentId: string | null }[] }>(
      'GET',
      '/v1/me/activity',
    );
    expect(history.body.items.some((e) => e.documentId === filed.id && e.actor.displayName === 'CHU TEST' && e.actor.kind === 'organisation')).toBe(true);
  });

  it('a resent batch files nothing twice; a key reused for other content is refused', async () => {
    const before = (await myDocuments()).length;
    const first = (await deposit('chu-test', batch())).body;
    expect(first.results.slice(0, 2).map((x) => x.status)).toEqual(['already-filed', 'already-filed']);
    expect(first.summary).toEqual({ filed: 0, alreadyFiled: 2, refused: 7, failed: 0 });
    expect((await myDocuments()).length).toBe(before);
    const again = await deposit('chu-test', doc({ key: 'chu-2026-0001', ins: P.ins, title: 'Autre contenu' }, pdf(500)));
    expect(again.body.results.map((x) => [x.status, x.code])).toEqual([['refused', 'API-ORG-19']]);
    const otherPatient = await deposit('chu-test', doc({ key: 'chu-2026-0001', ins: P2, title: 'Même contenu, autre patient' }, a));
    expect(otherPatient.body.results[0]!.code).toBe('API-ORG-19');
    // Keys are per organisation: the clinic's chu-2026-0001 is its own document.
    const clinic = await deposit('clinique-test', doc({ key: 'chu-2026-0001', ins: P.ins, title: 'Courrier de la clinique', typeCode: '11490-0' }, a));
    expect(clinic.body.results[0]!.status).toBe('filed');
    expect((await myDocuments()).length).toBe(before + 1);
  });

  it('a batch cut off mid-way leaves whole documents only, and resending it completes it', async () => {
    const first = pdf(40_000);
    const second = pdf(400_000);
    const parts = [
      ...doc({ key: 'cut-0001', ins: P.ins, title: 'Avant la coupure' }, first),
      ...doc({ key: 'cut-0002', ins: P.ins, title: 'Pendant la coupure' }, second),
    ];
    const body = multipart(parts);
    const cutAt = body.data.indexOf(second) + 100_000;
    const opts = await tlsOptions('chu-test');
    const before = (await myDocuments()).length;
    await new Promise<void>((resolve) => {
      const req = https.request({
        ...opts,
        method: 'POST',
        path: '/v1/organisation/documents',
        headers: { 'content-type': body.contentType, 'content-length': body.data.length },
      });
      req.on('error', () => resolve());
      req.write(body.data.subarray(0, cutAt));
      // Cut the connection once the first document is filed (the second is streaming into the store).
      void waitFor(async () => (await myDocuments()).some((d) => d.title === 'Avant la coupure'), 20_000, 'first document filed').then(() => {
        (req.socket as TLSSocket).destroy();
      });
    });
    expect((await myDocuments()).filter((d) => d.title === 'Pendant la coupure')).toEqual([]);
    const resent = await deposit('chu-test', parts);
    expect(resent.body.results.map((x) => x.status)).toEqual(['already-filed', 'filed']);
    const after = await myDocuments();
    expect(after.length).toBe(before + 2);
    expect(after.filter((d) => d.title === 'Avant la coupure').length).toBe(1);
  });

  it('keeps a hidden deposit from the patient', async () => {
    const r = await deposit(
      'chu-test',
      doc({ key: 'hidden-0001', ins: P.ins, title: 'Résultat à annoncer', typeCode: '11502-2', hiddenFromPatient: true }, pdf(2000)),
    );
    expect(r.body.results[0]!.status).toBe('filed');
    expect((await myDocuments()).map((d) => d.id)).not.toContain(r.body.results[0]!.documentId);
    // A reveal date hides it until then (revealed by the lifecycle job, tests/access/hidden-documents); a bad one is refused.
    const dated = await deposit('chu-test', [
      ...doc({ key: 'hidden-0002', ins: P.ins, title: 'À annoncer le 1er', revealAt: new Date(Date.now() + 86_400_000).toISOString() }, pdf(2000)),
      ...doc({ key: 'hidden-0003', ins: P.ins, title: 'Date passée', revealAt: '2020-01-01' }, pdf(2000)),
    ]);
    expect(dated.body.results.map((x) => [x.status, x.code])).toEqual([
      ['filed', null],
      ['refused', 'API-ORG-22'],
    ]);
    expect((await myDocuments()).map((d) => d.id)).not.toContain(dated.body.results[0]!.documentId);
  });

  it('the insurer deposits its historique des soins and vaccination certificates, nothing else', async () => {
    const r = await deposit('assurance-maladie-test', [
      ...doc({ key: 'cnam-hs-1', ins: P.ins, title: 'Historique des soins', typeCode: 'REMB' }, pdf(3000)),
      ...doc({ key: 'cnam-vac-1', ins: P.ins, title: 'Certificat de vaccination', typeCode: '11369-6' }, pdf(3000)),
      ...doc({ key: 'cnam-cr-1', ins: P.ins, title: 'Compte rendu', typeCode: '11502-2' }, pdf(3000)),
      ...doc({ key: 'cnam-x-1', ins: P.ins, title: 'Sans type', rubric: 'autres-documents' }, pdf(3000)),
    ]);
    expect(r.body.results.map((x) => [x.status, x.code])).toEqual([
      ['filed', null],
      ['filed', null],
      ['refused', 'API-ORG-18'],
      ['refused', 'API-ORG-18'],
    ]);
    const hs = (await myDocuments()).find((d) => d.id === r.body.results[0]!.documentId)!;
    expect(hs).toMatchObject({ rubric: 'pieces-administratives', author: { kind: 'insurer', displayName: 'CAISSE TEST ASSURANCE MALADIE' } });
  });

  it('a patient who blocked an establishment gets nothing from it, and the refusal is in the history', async () => {
    expect((await patient.call('POST', '/v1/me/access/blocked-establishments', { finess: '990000011' })).status).toBe(204);
    const r = await deposit('chu-test', doc({ key: 'blocked-0001', ins: P.ins, title: 'Après blocage' }, pdf(2000)));
    expect(r.body.results.map((x) => [x.status, x.code])).toEqual([['refused', 'API-ORG-17']]);
    expect((await myDocuments()).some((d) => d.title === 'Après blocage')).toBe(false);
    const history = await patient.json<{ items: { action: string; actor: { displayName: string } }[] }>('GET', '/v1/me/activity');
    expect(history.body.items.some((e) => e.actor.displayName === 'CHU TEST' && e.action === 'access-refused')).toBe(true);
    // The clinic (another FINESS) still deposits.
    const clinic = await deposit('clinique-test', doc({ key: 'after-block-1', ins: P.ins, title: 'De la clinique' }, pdf(2000)));
    expect(clinic.body.results[0]!.status).toBe('filed');
  });

  it('documents its routes in its own OpenAPI (on the mutual-TLS listener, with API_EXPOSE=docs)', async () => {
    const doc = await request<{ paths: Record<string, Record<string, { summary?: string }>> }>('chu-test', 'GET', '/docs/json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths).sort()).toEqual(['/v1/organisation', '/v1/organisation/documents']);
    expect(doc.body.paths['/v1/organisation/documents']!.post!.summary).toContain('idempot');
  });

  it('refuses a body that is not multipart', async () => {
    const r = await request<{ code: string }>('chu-test', 'POST', '/v1/organisation/documents', { contentType: 'application/json', data: Buffer.from('{}') });
    expect([r.status, r.body.code]).toEqual([400, 'API-ORG-04']);
  });
});

describe('revocation kept current', () => {
  it('refuses an organisation whose certificate a CRL installed after start revokes, without a restart', async () => {
    const pki = pkiPaths(t.pki);
    const [root, rootKey, issuing, issuingKey, chu, revoked] = await Promise.all(
      [pki.root, pki.rootKey, pki.issuingCa, pki.issuingCaKey, path.join(t.pki, 'organisations', 'chu-test.crt'), pki.revoked.cert].map((f) =>
        fs.readFile(f, 'utf8'),
      ),
    );
    const serial = (pem: string) => new X509Certificate(pem).serialNumber;
    expect((await request('chu-test', 'GET', '/v1/organisation')).status).toBe(200);
    const bundle =
      createCrl({ issuerCertPem: issuing!, issuerKeyPem: issuingKey!, crlNumber: 2, revoked: [{ serial: serial(revoked!) }, { serial: serial(chu!) }] }) +
      createCrl({ issuerCertPem: root!, issuerKeyPem: rootKey!, crlNumber: 2 });
    await fs.writeFile(`${pki.crl}.tmp`, bundle);
    await fs.rename(`${pki.crl}.tmp`, pki.crl);
    const refused = await waitFor(
      async () => {
        const r = await request<{ code: string; detail: string }>('chu-test', 'GET', '/v1/organisation');
        return r.status === 401 ? r : null;
      },
      20_000,
      'chu-test refused after the CRL reload',
    );
    expect(refused.body.code).toBe('API-ORG-02');
    expect(refused.body.detail).toContain('CERT_REVOKED');
    expect((await request('clinique-test', 'GET', '/v1/organisation')).status).toBe(200);
  });
});
