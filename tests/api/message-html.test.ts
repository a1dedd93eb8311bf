// HTML bodies and inline (cid:) images, end to end: SMTP over mutual TLS → delivery → patient API.
//
// Guarantees checked:
// - GET /v1/me/messages/{id} returns `html` exactly as received (the server neither rewrites `cid:` links nor
//   sanitizes: the browser does, with DOMPurify in a sandboxed frame), and `html: null` for a text-only message.
// - Each attachment of that response carries `contentId` (the MIME Content-ID without angle brackets, null when
//   the part had none) and `contentType` (as declared by the sender), so `cid:` images map to the attachment's
//   download URL, which serves the exact bytes.
// - The listing keeps its shape: no body, no `html`, no `contentId`/`contentType`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { apiClient, importPatientsCsv, loginPatient, sendMail, startTestGateway, waitFor, type ApiClient, type TestGateway } from '../support/harness.js';

let t: TestGateway;
let api: ApiClient;
const P = {
  ins: makeTestIns(9720),
  email: 'html-helene@example.org',
  birthDate: '1988-02-29',
  provisionalCode: 'PROV-HTML-9720',
  password: 'Mot-de-passe-html-9720',
};
const FROM = 'dr.martin@hopital-a.mssante.fr';
const CID = 'logo-9720.part1@hopital-a.mssante.fr';
// a 1×1 PNG
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const PDF = Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const HTML = `<html><body><p>Bonjour <b>H&eacute;l&egrave;ne</b>,</p><img src="cid:${CID}" alt="logo"><script>alert(1)</script></body></html>`;

const b64 = (b: Buffer) => b.toString('base64').replace(/.{1,76}/g, '$&\r\n');

function htmlMessage(subject: string): string {
  return [
    `From: Dr Martin <${FROM}>`,
    `To: <${P.ins}@patient.mssante.fr>`,
    `Subject: ${subject}`,
    `Message-ID: <${subject.replace(/\W/g, '')}.9720@hopital-a.mssante.fr>`,
    'Date: Mon, 02 Feb 2026 10:00:00 +0100',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="mix"',
    '',
    '--mix',
    'Content-Type: multipart/related; boundary="rel"',
    '',
    '--rel',
    'Content-Type: multipart/alternative; boundary="alt"',
    '',
    '--alt',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Bonjour Hélène,',
    '--alt',
    'Content-Type: text/html; charset=utf-8',
    '',
    HTML,
    '--alt--',
    '--rel',
    'Content-Type: image/png; name="logo.png"',
    'Content-Transfer-Encoding: base64',
    `Content-ID: <${CID}>`,
    'Content-Disposition: inline; filename="logo.png"',
    '',
    b64(PNG),
    '--rel--',
    '--mix',
    'Content-Type: application/pdf; name="ordonnance.pdf"',
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: attachment; filename="ordonnance.pdf"',
    '',
    b64(PDF),
    '--mix--',
    '',
  ].join('\r\n');
}

interface Att {
  id: string;
  filename: string;
  size: number;
  mediaType: string;
  contentId?: string | null;
  contentType?: string | null;
}
interface Item {
  id: string;
  subject: string;
  attachments: Att[];
  html?: string | null;
  text?: string;
}

beforeAll(async () => {
  t = await startTestGateway();
  await importPatientsCsv(
    t,
    [
      'ins,family_name,given_names,birth_date,email,state,provisional_code',
      `${P.ins},TEST-HTML,Helene,${P.birthDate},${P.email},created,${P.provisionalCode}`,
    ].join('\n'),
  );
  api = apiClient(t.gw.apiPort!, await loginPatient(t, P));
  const base = { port: t.gw.smtpPort!, pki: t.pki, cert: 'hopital-a.mssante.fr' as const, from: FROM, to: [`${P.ins}@patient.mssante.fr`] };
  expect((await sendMail({ ...base, raw: htmlMessage('Compte rendu HTML') })).ok).toBe(true);
  expect((await sendMail({ ...base, subject: 'Texte seul', text: 'Bonjour, sans HTML.' })).ok).toBe(true);
});
afterAll(async () => {
  await t?.close();
});

const listed = () =>
  waitFor(
    async () => {
      const l = await api.json<{ items: Item[] }>('GET', '/v1/me/messages');
      return l.body.items.length === 2 ? l.body.items : null;
    },
    30_000,
    'both messages delivered',
  );

describe('GET /v1/me/messages/{id}', () => {
  it('returns the HTML body as received and the Content-ID of the inline image', async () => {
    const item = (await listed()).find((i) => i.subject === 'Compte rendu HTML')!;
    const r = await api.json<Item>('GET', `/v1/me/messages/${item.id}`);
    expect(r.status).toBe(200);
    expect(r.body.html).toContain(`<img src="cid:${CID}" alt="logo">`);
    expect(r.body.html).toContain('<script>alert(1)</script>'); // raw: sanitizing is the client's job
    expect(r.body.text).toContain('Bonjour Hélène');
    const byName = new Map(r.body.attachments.map((a) => [a.filename, a]));
    expect(byName.get('logo.png')).toMatchObject({ contentId: CID, contentType: 'image/png', mediaType: 'image/png', size: PNG.length });
    expect(byName.get('ordonnance.pdf')).toMatchObject({ contentId: null, contentType: 'application/pdf', mediaType: 'application/pdf' });

    const img = await api.call('GET', `/v1/me/messages/${item.id}/attachments/${byName.get('logo.png')!.id}`);
    expect(img.status).toBe(200);
    expect(Buffer.from(await img.arrayBuffer()).equals(PNG)).toBe(true);
  });

  it('returns html null for a text-only message', async () => {
    const item = (await listed()).find((i) => i.subject === 'Texte seul')!;
    const r = await api.json<Item>('GET', `/v1/me/messages/${item.id}`);
    expect(r.status).toBe(200);
    expect(r.body.html).toBeNull();
    expect(r.body.text).toContain('sans HTML');
  });

  it('keeps the listing without bodies or detail-only attachment fields', async () => {
    for (const i of await listed()) {
      expect(i).not.toHaveProperty('html');
      expect(i).not.toHaveProperty('text');
      for (const a of i.attachments) expect(Object.keys(a).sort()).toEqual(['filename', 'id', 'mediaType', 'size']);
    }
  });
});
