// Attachments through SMTP into the vault, with a real clamd on loopback: IHE XDM archives are classified by
// their metadata, an archive for another patient files nothing and its sender is told, the EICAR test file is
// quarantined, and with the scanner down nothing is filed unscanned.
import { eq } from 'drizzle-orm';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { schema } from '../../db/index.js';
import { EICAR, startClamd, type ClamdHandle } from '../support/clamd.js';
import { apiClient, importPatientsCsv, loginPatient, sendMail, startTestGateway, waitFor, type ApiClient, type TestGateway } from '../support/harness.js';
import { startOperatorSink, type OperatorSink } from '../support/operator-sink.js';
import { freePort } from '../support/ports.js';
import { cx, pdfBytes, RECIPIENT, xdmZip } from './xdm/fixtures.js';
import { buildZip, deflatedZeros } from './xdm/zip-writer.js';

let t: TestGateway;
let clamd: ClamdHandle;
let sink: OperatorSink;
let api: ApiClient;
const P = { ins: RECIPIENT, email: 'xdm@example.org', birthDate: '1975-05-05', provisionalCode: 'PROV-XDM-001', password: 'Mot-de-passe-XDM-01' };

interface Doc {
  id: string;
  rubric: string;
  title: string;
  mediaType: string;
}

const send = (subject: string, attachments: { filename: string; content: Buffer; contentType?: string }[]) =>
  sendMail({
    port: t.gw.smtpPort!,
    pki: t.pki,
    cert: 'hopital-a.mssante.fr',
    from: 'labo@hopital-a.mssante.fr',
    to: [`${P.ins}@patient.mssante.fr`],
    subject,
    attachments,
    messageId: `<${subject.replace(/\W/g, '')}@hopital-a.mssante.fr>`,
  });

async function messageBySubject(subject: string) {
  return waitFor(
    async () => {
      const l = await api.json<{ items: { id: string; subject: string; attachments: { id: string; filename: string }[] }[] }>('GET', '/v1/me/messages');
      return l.body.items.find((i) => i.subject === subject) ?? null;
    },
    30_000,
    `the message "${subject}"`,
  );
}

beforeAll(async () => {
  clamd = await startClamd();
  const sinkPort = await freePort();
  t = await startTestGateway({ env: { CLAMD_ADDRESS: `127.0.0.1:${clamd.port}`, RELAY_ROUTES: `hopital-a.mssante.fr=127.0.0.1:${sinkPort}` } });
  sink = await startOperatorSink(t.pki, sinkPort);
  await importPatientsCsv(
    t,
    `ins,family_name,given_names,birth_date,email,state,provisional_code\n${P.ins},TEST-XDM,X,${P.birthDate},${P.email},created,${P.provisionalCode}\n`,
  );
  api = apiClient(t.gw.apiPort!, await loginPatient(t, P));
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
  await clamd?.stop();
});

describe('vault intake', () => {
  it('files the documents of an IHE XDM archive under the rubric of their metadata', async () => {
    expect((await send('Résultats XDM', [{ filename: 'IHE_XDM.ZIP', content: xdmZip(), contentType: 'application/zip' }])).ok).toBe(true);
    const m = await messageBySubject('Résultats XDM');
    expect(m.attachments.map((a) => a.filename).sort()).toEqual(['DOC0001.XML', 'DOC0002.PDF']);
    const docs = (await api.json<{ items: Doc[] }>('GET', '/v1/me/documents?rubric=resultats-de-biologie')).body.items;
    expect(docs.map((d) => d.title).sort()).toEqual(['Bilan sanguin (PDF)', 'Bilan sanguin du 12/03/2024']);
    expect(docs.find((d) => d.title === 'Bilan sanguin (PDF)')!.mediaType).toBe('application/pdf');
  });

  it('files nothing from an archive that names another patient, and tells the sender', async () => {
    const other = makeTestIns(777_001);
    const zip = xdmZip({ setPatientId: cx(other) });
    expect(
      (
        await send('Mauvais patient', [
          { filename: 'IHE_XDM.ZIP', content: zip, contentType: 'application/zip' },
          { filename: 'lettre.pdf', content: pdfBytes('Lettre') },
        ])
      ).ok,
    ).toBe(true);
    const m = await messageBySubject('Mauvais patient');
    expect(m.attachments.map((a) => a.filename)).toEqual(['lettre.pdf']);
    const full = await api.json<{ text: string }>('GET', `/v1/me/messages/${m.id}`);
    expect(full.body.text).toMatch(/IHE_XDM\.ZIP.*retirée/);
    const notice = await waitFor(async () => sink.received.find((r) => r.to.includes('labo@hopital-a.mssante.fr')), 20_000, 'the notice to the sender');
    expect(notice.from).toBe('');
    const parsed = await simpleParser(notice.raw);
    expect(parsed.subject).toMatch(/KO Intégration/);
    expect(parsed.inReplyTo).toBe('<Mauvaispatient@hopital-a.mssante.fr>');
    expect(parsed.text).not.toContain(other); // never echoes what the archive said
  });

  it('refuses a zip bomb and a ../ path inside an XDM archive, filing nothing from them', async () => {
    const { compressed, crc32 } = await deflatedZeros(100 * 1000 * 1000);
    const bomb = xdmZip({ extra: [{ name: 'IHE_XDM/SUBSET01/ZEROS.BIN', method: 'deflate', compressed, crc32, uncompressedSize: 100 * 1000 * 1000 }] });
    const evil = xdmZip({ extra: [{ name: '../evil.txt', data: Buffer.from('x') }] });
    for (const [subject, zip] of [
      ['Bombe', bomb],
      ['Chemin', evil],
    ] as const) {
      const before = sink.received.length;
      expect((await send(subject, [{ filename: 'IHE_XDM.ZIP', content: zip, contentType: 'application/zip' }])).ok).toBe(true);
      const m = await messageBySubject(subject);
      expect(m.attachments).toHaveLength(0);
      const notice = await waitFor(async () => sink.received.slice(before).find((r) => r.from === ''), 20_000, 'the notice');
      expect((await simpleParser(notice.raw)).subject).toMatch(/KO Intégration/);
    }
  });

  it('bounds the bytes inflated per message: archives that each pass their own caps cannot add up', async () => {
    // Entries under 1 MiB skip the ratio cap; 45 of them inflate ~45 MB from a few KB, under one archive's caps.
    const { compressed, crc32 } = await deflatedZeros(1000 * 1000);
    const padded = () =>
      xdmZip({
        extra: Array.from({ length: 45 }, (_, i) => ({
          name: `IHE_XDM/SUBSET01/PAD${i}.BIN`,
          method: 'deflate' as const,
          compressed,
          crc32,
          uncompressedSize: 1000 * 1000,
        })),
      });
    const before = sink.received.length;
    const attachments = [
      { filename: 'PREMIER.ZIP', content: padded(), contentType: 'application/zip' },
      { filename: 'SECOND.ZIP', content: padded(), contentType: 'application/zip' },
    ];
    expect((await send('Deux archives', attachments)).ok).toBe(true);
    const m = await messageBySubject('Deux archives');
    expect(m.attachments.map((a) => a.filename).sort()).toEqual(['DOC0001.XML', 'DOC0002.PDF']);
    const full = await api.json<{ text: string }>('GET', `/v1/me/messages/${m.id}`);
    expect(full.body.text).toMatch(/SECOND\.ZIP.*retirée/);
    const notice = await waitFor(async () => sink.received.slice(before).find((r) => r.from === ''), 20_000, 'the notice');
    expect((await simpleParser(notice.raw)).subject).toMatch(/KO Intégration/);
  });

  it('files a message to several patients from one parse: one blob per document, the archive only for its patient', async () => {
    const others = [makeTestIns(777_101), makeTestIns(777_102)];
    await importPatientsCsv(
      t,
      `ins,family_name,given_names,birth_date,email,state,provisional_code\n${others.map((ins, i) => `${ins},TEST-MULTI,M${i},1980-01-0${i + 1},m${i}@example.org,active,`).join('\n')}\n`,
    );
    const r = await sendMail({
      port: t.gw.smtpPort!,
      pki: t.pki,
      cert: 'hopital-a.mssante.fr',
      from: 'labo@hopital-a.mssante.fr',
      to: [P.ins, ...others].map((ins) => `${ins}@patient.mssante.fr`),
      subject: 'Pour trois',
      attachments: [
        { filename: 'IHE_XDM.ZIP', content: xdmZip(), contentType: 'application/zip' },
        { filename: 'lettre.pdf', content: pdfBytes('Lettre commune') },
      ],
    });
    expect(r.ok).toBe(true);
    const db = t.gw.database.pool;
    const rows = await waitFor(
      async () => {
        const q = await db.query<{ ins: string; n: number; blobs: string[] }>(
          `SELECT p.ins, count(d.id)::int AS n, array_agg(d.blob_id::text ORDER BY d.position) AS blobs
           FROM deliveries dl JOIN patients p ON p.id = dl.patient_id JOIN inbound_messages m ON m.id = dl.message_id
           JOIN mailbox_messages mm ON mm.delivery_id = dl.id LEFT JOIN documents d ON d.mailbox_message_id = mm.id
          WHERE m.queue_id = $1 GROUP BY p.ins`,
          [r.queueId],
        );
        return q.rows.length === 3 ? q.rows : null;
      },
      30_000,
      'the three deliveries',
    );
    const byIns = new Map(rows.map((x) => [x.ins, x]));
    // The archive names the first patient only: its two documents are filed for her, the letter for everyone.
    expect(byIns.get(P.ins)!.n).toBe(3);
    for (const ins of others) expect(byIns.get(ins)!.n).toBe(1);
    const letterBlobs = new Set(rows.map((x) => x.blobs[x.blobs.length - 1]));
    expect(letterBlobs.size).toBe(1); // one blob for the letter, referenced by the three patients' documents
  });

  it('quarantines the EICAR test file and files the clean attachment', async () => {
    expect(
      (
        await send('Avec virus', [
          { filename: 'eicar.com.pdf', content: EICAR },
          { filename: 'propre.pdf', content: pdfBytes('Propre') },
        ])
      ).ok,
    ).toBe(true);
    const m = await messageBySubject('Avec virus');
    expect(m.attachments.map((a) => a.filename)).toEqual(['propre.pdf']);
    const full = await api.json<{ text: string }>('GET', `/v1/me/messages/${m.id}`);
    expect(full.body.text).toMatch(/eicar\.com\.pdf.*virus/);
  });

  it('refuses executables and unknown binaries', async () => {
    expect((await send('Exécutable', [{ filename: 'facture.pdf', content: Buffer.concat([Buffer.from('MZ'), Buffer.alloc(3000, 1)]) }])).ok).toBe(true);
    const m = await messageBySubject('Exécutable');
    expect(m.attachments).toHaveLength(0);
  });

  it('files a plain ZIP only when every member would be filed on its own', async () => {
    const clean = buildZip([{ name: 'bilan.pdf', data: pdfBytes('Bilan'), method: 'deflate' }]);
    const hiding = buildZip([
      { name: 'bilan.pdf', data: pdfBytes('Bilan'), method: 'deflate' },
      { name: 'ordonnance.pdf.exe', data: Buffer.concat([Buffer.from('MZ'), Buffer.alloc(3000, 1)]), method: 'deflate' },
    ]);
    expect(
      (
        await send('Archives', [
          { filename: 'propre.zip', content: clean },
          { filename: 'piege.zip', content: hiding },
        ])
      ).ok,
    ).toBe(true);
    const m = await messageBySubject('Archives');
    expect(m.attachments.map((a) => a.filename)).toEqual(['propre.zip']);
    const full = await api.json<{ text: string }>('GET', `/v1/me/messages/${m.id}`);
    expect(full.body.text).toMatch(/piege\.zip.*n'est pas accepté/);
  });

  it('with the scanner down, files nothing unscanned: the delivery waits', async () => {
    await clamd.stop();
    const sent = await send('Pendant la panne', [{ filename: 'attente.pdf', content: pdfBytes('Attente') }]);
    expect(sent.ok).toBe(true);
    // A positive signal rather than a pause: the worker's attempt failed on the scanner and is waiting for its
    // retry (the job of this delivery in BullMQ's PostgreSQL tables, schema bullmq, with the reason it failed).
    const [delivery] = (
      await t.gw.database.pool.query<{ id: string }>('SELECT d.id FROM deliveries d JOIN inbound_messages m ON m.id = d.message_id WHERE m.queue_id = $1', [
        sent.queueId,
      ])
    ).rows;
    const failed = await waitFor(
      async () =>
        (
          await t.gw.database.pool.query<{ attempts_made: number; failed_reason: string | null; state: string }>(
            `SELECT attempts_made, failed_reason, state::text FROM bullmq.job WHERE data->'deliveryIds' ? $1 OR data->>'deliveryId' = $1`,
            [delivery!.id],
          )
        ).rows.find((j) => j.attempts_made >= 1),
      30_000,
      'the failed attempt',
    );
    expect(failed.failed_reason).toMatch(/virus scanner unavailable/);
    expect(failed.state).not.toBe('completed');
    const list = await api.json<{ items: { subject: string }[] }>('GET', '/v1/me/messages');
    expect(list.body.items.find((i) => i.subject === 'Pendant la panne')).toBeUndefined();
    const queued = await t.gw.database.db.select().from(schema.deliveries).where(eq(schema.deliveries.status, 'queued'));
    expect(queued.length).toBeGreaterThanOrEqual(1);
    const docs = (await api.json<{ items: { title: string }[] }>('GET', '/v1/me/documents')).body.items;
    expect(docs.find((d) => d.title === 'attente.pdf')).toBeUndefined();
  });
});
