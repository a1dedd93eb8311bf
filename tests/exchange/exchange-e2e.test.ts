// Mailbox rules and the way back, end to end: professionals write over SMTP (mutual TLS), the patient reads and
// answers through the API, and a second real SMTP server with mutual TLS plays the professional's operator.
import fs from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { simpleParser } from 'mailparser';
import { eq, isNull, sql, type SQL } from 'drizzle-orm';
import { verifyActivityChain } from '../../access/index.js';
import { schema } from '../../db/index.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { apiClient, importPatientsCsv, loginPatient, sendMail, startTestGateway, waitFor, type ApiClient, type TestGateway } from '../support/harness.js';
import { startOperatorSink, type OperatorSink } from '../support/operator-sink.js';
import { freePort } from '../support/ports.js';

let t: TestGateway;
let sink: OperatorSink;
let api: ApiClient;
const P = { ins: makeTestIns(5101), email: 'zoe@example.org', birthDate: '1988-08-08', provisionalCode: 'PROV-ZOE-001', password: 'Mot-de-passe-de-Zoe-7' };
const me = `${P.ins}@patient.mssante.fr`;

interface Item {
  id: string;
  subject: string;
  canReply: boolean;
  closedNotice: string | null;
  from: { displayName: string };
  status: string | null;
  threadId: string | null;
}

const pro = (o: Partial<Parameters<typeof sendMail>[0]> & { subject: string }) =>
  sendMail({ port: t.gw.smtpPort!, pki: t.pki, cert: 'hopital-a.mssante.fr', from: 'dr.durand@hopital-a.mssante.fr', to: [me], ...o });

async function inbox(): Promise<Item[]> {
  const r = await api.json<{ items: Item[] }>('GET', '/v1/me/messages');
  return r.body.items;
}

async function waitQueueEmpty(): Promise<void> {
  const token = (await fs.readFile(path.join(t.dataDir, 'admin.token'), 'utf8')).trim();
  await waitFor(
    async () => (await apiClient(t.gw.apiPort!, token).json<{ queued: number }>('GET', '/v1/admin/deliveries/stats')).body.queued === 0,
    30_000,
    'deliveries',
  );
}

const bySubject = async (subject: string) => (await inbox()).find((i) => i.subject === subject);

beforeAll(async () => {
  const sinkPort = await freePort();
  t = await startTestGateway({
    env: {
      RELAY_ROUTES: `hopital-a.mssante.fr=127.0.0.1:${sinkPort}`,
      RELAY_RETRY_SCHEDULE_MS: '300,300,300',
      NOTIFY_WINDOW_SECONDS: '3600',
      LIMIT_MAX_ATTACHMENTS: '20', // a limit only the worker's parser meets, after 250
    },
  });
  sink = await startOperatorSink(t.pki, sinkPort);
  await importPatientsCsv(
    t,
    `ins,family_name,given_names,birth_date,email,state,provisional_code\n${P.ins},TEST-ZOE,Zoe,${P.birthDate},${P.email},created,${P.provisionalCode}\n`,
  );
  const token = (await fs.readFile(path.join(t.dataDir, 'admin.token'), 'utf8')).trim();
  const dir = await apiClient(t.gw.apiPort!, token).call(
    'POST',
    '/v1/admin/directory/import',
    'address,rpps,profession_code,display_name\ndr.durand@hopital-a.mssante.fr,10001234567,10,Dr Claire Durand\n',
    { 'content-type': 'text/csv' },
  );
  expect(dir.status).toBe(200);
  api = apiClient(t.gw.apiPort!, await loginPatient(t, P));
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});
beforeEach(() => {
  sink.script = [];
  sink.hold = null;
});

describe('contacts and replies', () => {
  it('answers to the Reply-To when it is an MSSanté address, threaded, from the patient address', async () => {
    expect((await pro({ subject: 'Convocation IRM', replyTo: 'secretariat@hopital-a.mssante.fr', messageId: '<conv-1@hopital-a.mssante.fr>' })).ok).toBe(true);
    await waitQueueEmpty();
    const msg = (await bySubject('Convocation IRM'))!;
    expect(msg.canReply).toBe(true);
    expect(msg.from.displayName).toBe('Dr Claire Durand'); // from the directory, never the address
    const before = sink.received.length;
    const r = await api.json<{ id: string }>('POST', `/v1/me/messages/${msg.id}/reply`, { text: 'Merci, je serai présente.' });
    expect(r.status).toBe(202);
    const got = await waitFor(async () => sink.received[before] ?? null, 20_000, 'the reply at the operator');
    expect(got.to).toEqual(['secretariat@hopital-a.mssante.fr']);
    expect(got.from).toBe(me);
    expect(got.clientAuthorized).toBe(true);
    const parsed = await simpleParser(got.raw);
    expect(parsed.from?.value[0]?.address).toBe(me);
    expect(parsed.inReplyTo).toBe('<conv-1@hopital-a.mssante.fr>');
    expect(parsed.references).toContain('<conv-1@hopital-a.mssante.fr>');
    expect(parsed.subject).toBe('Re: Convocation IRM');
    expect(parsed.text?.trim()).toBe('Merci, je serai présente.');
    // the sent copy is in the sent folder, in the same thread
    const sent = await api.json<{ items: Item[] }>('GET', '/v1/me/messages?folder=sent');
    const copy = sent.body.items.find((i) => i.subject === 'Re: Convocation IRM')!;
    expect(copy.threadId).toBe(msg.threadId);
    await waitFor(
      async () => (await api.json<{ items: Item[] }>('GET', '/v1/me/messages?folder=sent')).body.items.find((i) => i.id === copy.id)?.status === 'sent',
      10_000,
      'status sent',
    );
    const thread = await api.json<{ items: Item[] }>('GET', `/v1/me/threads/${msg.threadId}`);
    expect(thread.body.items.map((i) => i.subject)).toEqual(['Convocation IRM', 'Re: Convocation IRM']);
  });

  it("refuses author fields outside the certificate's domains, and lists contacts without addresses", async () => {
    // A Reply-To outside the whitelist would take the patient's answers elsewhere; a From of another operator's
    // domain would show (and let [FIN] end) that operator's professional.
    const outside = await pro({ subject: 'Ordonnance', replyTo: 'someone@gmail.com' });
    expect(outside.ok).toBe(false);
    expect(outside.responseCode).toBe(550);
    expect(outside.response).toMatch(/5\.7\.1 .*\[GW-DATA-09\]/);
    const spoofed = await pro({
      subject: '[FIN]',
      raw: ['From: Dr B <dr.b@cabinet-b.mssante.fr>', `To: ${me}`, 'Subject: [FIN]', '', 'fin', ''].join('\r\n'),
    });
    expect(spoofed.ok).toBe(false);
    expect(spoofed.response).toMatch(/\[GW-DATA-09\]/);
    const twoFroms = await pro({
      subject: 'x',
      raw: ['From: <dr.durand@hopital-a.mssante.fr>', 'From: <dr.b@cabinet-b.mssante.fr>', `To: ${me}`, 'Subject: x', '', 'x', ''].join('\r\n'),
    });
    expect(twoFroms.response).toMatch(/5\.6\.0 .*\[GW-DATA-08\]/);
    expect((await pro({ subject: 'Ordonnance' })).ok).toBe(true);
    await waitQueueEmpty();
    expect((await inbox()).filter((i) => i.subject === 'Ordonnance')).toHaveLength(1);
    const contacts = await api.json<{ items: { id: string; displayName: string }[] }>('GET', '/v1/me/contacts');
    expect(JSON.stringify(contacts.body)).not.toContain('@');
    expect(contacts.body.items.map((c) => c.displayName)).toContain('Dr Claire Durand');
    const before = sink.received.length;
    const msg = (await bySubject('Ordonnance'))!;
    expect((await api.json('POST', `/v1/me/messages/${msg.id}/reply`, { text: 'Bien reçu' })).status).toBe(202);
    const got = await waitFor(async () => sink.received[before] ?? null, 20_000, 'the reply');
    expect(got.to).toEqual(['dr.durand@hopital-a.mssante.fr']);
  });
});

describe('[FIN] and X-MSS-MES', () => {
  it('closes earlier messages, is never shown, refuses replies, and a later message reopens', async () => {
    const from = 'dr.martin@hopital-a.mssante.fr';
    const contactCount = async () => (await api.json<{ items: unknown[] }>('GET', '/v1/me/contacts')).body.items.length;
    const initial = await contactCount();
    expect((await pro({ from, subject: 'Suivi 1', text: 'un' })).ok).toBe(true);
    expect((await pro({ from, subject: 'Suivi 2', text: 'deux' })).ok).toBe(true);
    expect((await pro({ from, subject: '  [FIN] ', text: 'fin' })).ok).toBe(true);
    await waitQueueEmpty();
    const items = await inbox();
    expect(items.find((i) => i.subject.includes('[FIN]'))).toBeUndefined();
    for (const s of ['Suivi 1', 'Suivi 2']) {
      const m = items.find((i) => i.subject === s)!;
      expect(m.canReply).toBe(false);
      expect(m.closedNotice).toMatch(/a mis fin à vos échanges\.$/);
    }
    const m1 = items.find((i) => i.subject === 'Suivi 1')!;
    const refused = await api.json<{ code: string; detail: string }>('POST', `/v1/me/messages/${m1.id}/reply`, { text: 'encore ?' });
    expect(refused.status).toBe(403);
    expect(refused.type).toMatch(/^application\/problem\+json/);
    expect(refused.body.detail).toMatch(/a mis fin à vos échanges/);
    expect(await contactCount()).toBe(initial); // dr.martin ended the exchange: not a contact any more
    const detail = await api.json<{ canReply: boolean; closedNotice: string }>('GET', `/v1/me/messages/${m1.id}`);
    expect(detail.body.canReply).toBe(false);

    expect((await pro({ from, subject: 'Suivi 3', text: 'trois' })).ok).toBe(true);
    await waitQueueEmpty();
    const after = await inbox();
    expect(after.find((i) => i.subject === 'Suivi 3')!.canReply).toBe(true);
    expect(after.find((i) => i.subject === 'Suivi 1')!.canReply).toBe(false);
    expect(await contactCount()).toBe(initial + 1);
  });

  it('a [FIN] from the doctor also closes what they sent with their secretariat as Reply-To', async () => {
    const doctor = 'dr.lambert@hopital-a.mssante.fr';
    const secretariat = 'secretariat.lambert@hopital-a.mssante.fr';
    const contacts = async () => (await api.json<{ items: { id: string; displayName: string }[] }>('GET', '/v1/me/contacts')).body.items;
    expect((await pro({ from: doctor, subject: 'Convocation Lambert', replyTo: secretariat })).ok).toBe(true);
    await waitQueueEmpty();
    const before = (await contacts()).length;
    const convocation = (await bySubject('Convocation Lambert'))!;
    expect(convocation.canReply).toBe(true);
    expect((await pro({ from: doctor, subject: '[FIN]' })).ok).toBe(true); // from the doctor's own address
    await waitQueueEmpty();
    const closed = (await bySubject('Convocation Lambert'))!;
    expect(closed.canReply).toBe(false);
    expect(closed.closedNotice).toMatch(/a mis fin à vos échanges\.$/);
    expect((await api.json('POST', `/v1/me/messages/${closed.id}/reply`, { text: 'encore ?' })).status).toBe(403);
    expect((await contacts()).length).toBe(before - 1); // the secretariat contact is ended too
    // A later message through the secretariat reopens, as before.
    expect((await pro({ from: doctor, subject: 'Nouvelle convocation Lambert', replyTo: secretariat })).ok).toBe(true);
    await waitQueueEmpty();
    expect((await bySubject('Nouvelle convocation Lambert'))!.canReply).toBe(true);
    expect((await contacts()).length).toBe(before);
  });

  it('X-MSS-MES: FIN makes only that message unanswerable', async () => {
    expect((await pro({ subject: 'Résultat sans réponse', headers: { 'X-MSS-MES': 'FIN' } })).ok).toBe(true);
    expect((await pro({ subject: 'Question ouverte' })).ok).toBe(true);
    await waitQueueEmpty();
    const closed = (await bySubject('Résultat sans réponse'))!;
    expect(closed.canReply).toBe(false);
    expect(closed.closedNotice).toBe("Ce message n'autorise pas la réponse.");
    expect((await bySubject('Question ouverte'))!.canReply).toBe(true);
    expect((await api.json('POST', `/v1/me/messages/${closed.id}/reply`, { text: 'x' })).status).toBe(403);
  });

  it('refuses writing to a contact that is not one of the patient', async () => {
    const r = await api.json<{ detail: string }>('POST', '/v1/me/messages', { contactId: '00000000-0000-4000-8000-000000000000', subject: 'x', text: 'y' });
    expect(r.status).toBe(403);
    expect(r.body.detail).toMatch(/uniquement contacter les professionnels/);
  });
});

describe('outbound relay', () => {
  it('survives two temporary refusals, then delivers once', async () => {
    const contacts = await api.json<{ items: { id: string; displayName: string }[] }>('GET', '/v1/me/contacts');
    const durand = contacts.body.items.find((c) => c.displayName === 'Dr Claire Durand')!;
    sink.script = ['451 4.3.0 Try again later', '451 4.3.0 Try again later'];
    const before = sink.received.length;
    const transfersBefore = sink.dataStarted;
    const r = await api.json<{ id: string }>('POST', '/v1/me/messages', { contactId: durand.id, subject: 'Question', text: 'Bonjour docteur' });
    expect(r.status).toBe(202);
    await waitFor(async () => sink.received.length > before, 30_000, 'the delivery after retries');
    // The relay records "sent" right after the operator's 250 and never sends a message that is no longer queued
    // (app/outbound-worker.ts processOutbound): once the sent folder says "sent", nothing more can leave.
    const status = async () => (await api.json<{ items: Item[] }>('GET', '/v1/me/messages?folder=sent')).body.items.find((i) => i.id === r.body.id)?.status;
    await waitFor(async () => (await status()) === 'sent', 10_000, 'the status "sent"');
    expect(sink.received.length).toBe(before + 1);
    expect(sink.dataStarted - transfersBefore).toBe(3); // the two refused transfers and the accepted one
    expect(sink.script).toHaveLength(0);
  });

  it('a permanent refusal puts a readable notice in the patient inbox', async () => {
    const contacts = await api.json<{ items: { id: string; displayName: string }[] }>('GET', '/v1/me/contacts');
    const durand = contacts.body.items.find((c) => c.displayName === 'Dr Claire Durand')!;
    sink.script = ['550 5.1.1 User unknown'];
    const r = await api.json<{ id: string }>('POST', '/v1/me/messages', { contactId: durand.id, subject: 'Message perdu', text: 'test' });
    expect(r.status).toBe(202);
    const notice = await waitFor(
      async () => (await inbox()).find((i) => i.subject === "Votre message n'a pas pu être distribué"),
      20_000,
      'the failure notice',
    );
    expect(notice.canReply).toBe(false);
    const full = await api.json<{ text: string }>('GET', `/v1/me/messages/${notice.id}`);
    expect(full.body.text).toContain('Message perdu');
    // A fixed French reason for the category, never the remote server's own text.
    expect(full.body.text).toContain("Motif : l'adresse du professionnel n'existe pas ou plus chez son opérateur de messagerie.");
    expect(full.body.text).not.toMatch(/550|5\.1\.1|User unknown/);
    const sent = await api.json<{ items: Item[] }>('GET', '/v1/me/messages?folder=sent');
    expect(sent.body.items.find((i) => i.id === r.body.id)?.status).toBe('failed');
  });
});

describe('receipts', () => {
  it('sends an RFC 8098 MDN when the patient first opens a message that asks for one', async () => {
    expect(
      (
        await pro({
          subject: 'Avec accusé',
          messageId: '<mdn-1@hopital-a.mssante.fr>',
          headers: { 'Disposition-Notification-To': 'dr.durand@hopital-a.mssante.fr' },
        })
      ).ok,
    ).toBe(true);
    await waitQueueEmpty();
    const msg = (await bySubject('Avec accusé'))!;
    const before = sink.received.length;
    const receipts = async () =>
      (
        await t.gw.database.pool.query<{ status: string }>(
          `SELECT o.status FROM outbound_messages o JOIN patients p ON p.id = o.patient_id WHERE p.ins = $1 AND o.kind = 'mdn'`,
          [P.ins],
        )
      ).rows;
    const receiptsBefore = (await receipts()).length;
    expect((await api.json('GET', `/v1/me/messages/${msg.id}`)).status).toBe(200);
    const mdn = await waitFor(async () => sink.received.slice(before).find((m) => m.from === ''), 20_000, 'the MDN');
    expect(mdn.to).toEqual(['dr.durand@hopital-a.mssante.fr']);
    const parsed = await simpleParser(mdn.raw);
    const ct = parsed.headers.get('content-type') as { value: string; params: Record<string, string> };
    expect(ct.value).toBe('multipart/report');
    expect(ct.params['report-type']).toBe('disposition-notification');
    const raw = mdn.raw.toString('utf8');
    expect(raw).toMatch(/Original-Message-ID: <mdn-1@hopital-a\.mssante\.fr>/);
    expect(raw).toMatch(new RegExp(`Final-Recipient: rfc822; ?${P.ins}@patient\\.mssante\\.fr`, 'i'));
    expect(raw).toMatch(/Disposition: automatic-action\/MDN-sent-automatically; displayed/);
    // Opening it again sends nothing more. A receipt is queued by the read itself, before it answers, and only by
    // the first (mailbox/reports-out.ts queueMdn claims mdn_queued_at): once the second read has answered, the
    // outbound rows hold every receipt there will be; once that one is recorded "sent", none is left to go.
    expect((await api.json('GET', `/v1/me/messages/${msg.id}`)).status).toBe(200);
    expect((await receipts()).length - receiptsBefore).toBe(1);
    await waitFor(async () => (await receipts()).every((r) => r.status === 'sent'), 10_000, 'the receipt recorded as sent');
    expect(sink.received.slice(before).filter((m) => m.from === '')).toHaveLength(1);
  });

  it('never asks for a receipt to a third party, and a hostile Disposition-Notification-To costs nothing', async () => {
    // 600 KiB without "@" (the old address regex took hours on it), then an address that is not the sender's.
    const hostile = await pro({
      subject: 'DNT hostile',
      messageId: '<dnt-1@hopital-a.mssante.fr>',
      headers: { 'Disposition-Notification-To': 'a'.repeat(600 * 1024) },
    });
    expect(hostile.ok).toBe(true);
    const third = await pro({
      subject: 'DNT tiers',
      messageId: '<dnt-2@hopital-a.mssante.fr>',
      headers: { 'Disposition-Notification-To': 'espion@cabinet-b.mssante.fr' },
    });
    expect(third.ok).toBe(true);
    await waitQueueEmpty();
    const rows = await t.gw.database.pool.query(
      `SELECT message_id_header, mdn_to FROM mailbox_messages WHERE message_id_header IN ('<dnt-1@hopital-a.mssante.fr>', '<dnt-2@hopital-a.mssante.fr>') ORDER BY message_id_header`,
    );
    expect(rows.rows).toEqual([
      { message_id_header: '<dnt-1@hopital-a.mssante.fr>', mdn_to: null },
      { message_id_header: '<dnt-2@hopital-a.mssante.fr>', mdn_to: null },
    ]);
  });

  it('sends an RFC 3464 DSN to the sender when a message that got 250 fails permanently', async () => {
    const parts = Array.from({ length: 25 }, (_, i) => ({ filename: `p${i}.pdf`, content: Buffer.from(`%PDF ${i}`) }));
    const before = sink.received.length;
    const r = await pro({ subject: 'Trop de parties', attachments: parts, messageId: '<too-many@hopital-a.mssante.fr>' });
    expect(r.ok).toBe(true);
    const dsn = await waitFor(async () => sink.received.slice(before).find((m) => m.from === ''), 30_000, 'the DSN');
    expect(dsn.to).toEqual(['dr.durand@hopital-a.mssante.fr']);
    const raw = dsn.raw.toString('utf8');
    expect(raw).toMatch(/report-type="?delivery-status"?/);
    expect(raw).toMatch(/Action: failed/);
    expect(raw).toMatch(/Status: 5\.\d\.\d/);
    expect(raw).toMatch(new RegExp(`Final-Recipient: rfc822; ?${P.ins}@patient\\.mssante\\.fr`, 'i'));
    expect(raw).toMatch(/Message-ID: <too-many@hopital-a\.mssante\.fr>/i);
    const parsed = await simpleParser(dsn.raw);
    expect(parsed.headers.get('auto-submitted')).toBe('auto-replied');
    // The patient learns that a message from Dr Durand could not be shown, and nothing of its content.
    const notice = await waitFor(
      async () => (await inbox()).find((i) => i.subject === "Un message n'a pas pu vous être présenté") ?? null,
      20_000,
      'the notice',
    );
    expect(notice.canReply).toBe(false);
    const full = await api.json<{ text: string; subject: string }>('GET', `/v1/me/messages/${notice.id}`);
    expect(full.body.text).toMatch(/^Dr Claire Durand vous a envoyé un message qui n'a pas pu vous être présenté/);
    expect(full.body.text).not.toMatch(/Trop de parties|p\d+\.pdf/);
  });

  it('matches an inbound DSN to the patient outbound message and shows it as its status', async () => {
    const sent = await api.json<{ items: (Item & { id: string })[] }>('GET', '/v1/me/messages?folder=sent');
    const target = sent.body.items.find((i) => i.subject === 'Question')!;
    // the Message-ID of that outbound message, as the operator received it
    const delivered = sink.received.map((m) => m.raw.toString('utf8')).find((s) => /Subject: Question\r\n/.test(s))!;
    const origId = /Message-ID: (<[^>]+>)/i.exec(delivered)![1]!;
    const boundary = 'b-dsn-1';
    const dsn = [
      `From: MAILER-DAEMON@hopital-a.mssante.fr`,
      `To: ${me}`,
      'Subject: Undelivered Mail Returned to Sender',
      'MIME-Version: 1.0',
      `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'The mailbox is full.',
      `--${boundary}`,
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.hopital-a.mssante.fr',
      '',
      'Final-Recipient: rfc822; dr.durand@hopital-a.mssante.fr',
      'Action: failed',
      'Status: 5.2.2',
      '',
      `--${boundary}`,
      'Content-Type: text/rfc822-headers',
      '',
      `Message-ID: ${origId}`,
      `From: ${me}`,
      'Subject: Question',
      '',
      `--${boundary}--`,
      '',
    ].join('\r\n');
    const r = await sendMail({ port: t.gw.smtpPort!, pki: t.pki, cert: 'hopital-a.mssante.fr', from: '', to: [me], raw: dsn });
    expect(r.ok).toBe(true);
    await waitQueueEmpty();
    await waitFor(
      async () => (await api.json<{ items: Item[] }>('GET', '/v1/me/messages?folder=sent')).body.items.find((i) => i.id === target.id)?.status === 'failed',
      10_000,
      'the status from the DSN',
    );
    expect((await inbox()).find((i) => i.subject === 'Undelivered Mail Returned to Sender')).toBeUndefined();
  });
});

describe('notifications', () => {
  it('500 messages within a minute produce at most one notification e-mail (window 3600 s)', async () => {
    const noticesTo = async (email: string) => {
      const dir = path.join(t.dataDir, 'notifications');
      const out: { subject: string; text: string }[] = [];
      for (const f of (await fs.readdir(dir)).filter((x) => x.endsWith('.eml'))) {
        const m = await simpleParser(await fs.readFile(path.join(dir, f)));
        if (m.to && !Array.isArray(m.to) && m.to.value[0]?.address === email && m.subject === 'Nouveau message dans Mon espace santé') {
          out.push({ subject: m.subject, text: m.text ?? '' });
        }
      }
      return out;
    };
    const notices = () => noticesTo(P.email);
    const witnesses = [makeTestIns(5102), makeTestIns(5103)].map((ins, i) => ({ ins, email: `temoin${i}@example.org` }));
    await importPatientsCsv(
      t,
      [
        'ins,family_name,given_names,birth_date,email,state,provisional_code',
        ...witnesses.map((w) => `${w.ins},TEST-TEMOIN,T,1980-01-01,${w.email},created,`),
      ].join('\n'),
    );
    await waitFor(async () => (await notices()).length >= 1, 15_000, 'the first notification');
    const before = (await notices()).length;
    let next = 0;
    const worker = async () => {
      while (next < 500) {
        next++;
        await pro({ subject: `Lot ${next}` });
      }
    };
    await Promise.all(Array.from({ length: 10 }, worker));
    await waitQueueEmpty();
    // A positive signal rather than a pause. The dispatcher runs one tick at a time, and a tick sends what it
    // claimed before the next one starts (app/notification-dispatcher.ts). A patient never notified is due at
    // once: the first witness's e-mail shows that a tick ran after all 500 deliveries; the second witness, written
    // to only then, is served by a later tick, so that first tick (and whatever it sent to Zoé) is over.
    for (const w of witnesses) {
      expect((await pro({ to: [`${w.ins}@patient.mssante.fr`], subject: 'Témoin' })).ok).toBe(true);
      await waitFor(async () => (await noticesTo(w.email)).length === 1, 30_000, `the notification of ${w.email}`);
    }
    const all = await notices();
    expect(all.length - before).toBeLessThanOrEqual(1);
    for (const n of all) {
      expect(n.text).toMatch(/nouveaux? messages?/);
      expect(n.text).not.toMatch(/Lot |Convocation|Durand|hopital/i); // no subject, no sender
    }
  }, 180_000);
});

describe('patient attachments, folders and history', () => {
  it('attaches documents from the vault to a reply, at most 5 MB in total', async () => {
    const small = Buffer.concat([Buffer.from('%PDF-1.7 '), crypto.randomBytes(50_000)]);
    const big = Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(5_200_000)]);
    expect(
      (
        await pro({
          subject: 'Pièces',
          attachments: [
            { filename: 'petit.pdf', content: small },
            { filename: 'gros.pdf', content: big },
          ],
        })
      ).ok,
    ).toBe(true);
    await waitQueueEmpty();
    const m = (await inbox()).find((i) => i.subject === 'Pièces') as Item & { attachments: { id: string; filename: string }[] };
    const petit = m.attachments.find((a) => a.filename === 'petit.pdf')!;
    const gros = m.attachments.find((a) => a.filename === 'gros.pdf')!;
    const tooBig = await api.json<{ detail: string }>('POST', `/v1/me/messages/${m.id}/reply`, { text: 'avec', documentIds: [petit.id, gros.id] });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.detail).toBe('La taille du ou des documents dépasse la limite autorisée.');
    const before = sink.received.length;
    expect((await api.json('POST', `/v1/me/messages/${m.id}/reply`, { text: 'avec la pièce', documentIds: [petit.id] })).status).toBe(202);
    const got = await waitFor(async () => sink.received[before] ?? null, 20_000, 'the reply with its attachment');
    const parsed = await simpleParser(got.raw);
    expect(parsed.attachments).toHaveLength(1);
    expect(parsed.attachments[0]!.filename).toBe('petit.pdf');
    expect(parsed.attachments[0]!.content.equals(small)).toBe(true);
    const other = await api.json('POST', `/v1/me/messages/${m.id}/reply`, { text: 'x', documentIds: ['00000000-0000-4000-8000-000000000000'] });
    expect(other.status).toBe(404);
  });

  it('marks read and unread, and deletes softly (documents stay)', async () => {
    expect((await pro({ subject: 'À supprimer', attachments: [{ filename: 'garde.pdf', content: Buffer.from('%PDF keep') }] })).ok).toBe(true);
    await waitQueueEmpty();
    const m = (await inbox()).find((i) => i.subject === 'À supprimer')! as Item & { read: boolean };
    expect(m.read).toBe(false);
    expect((await api.call('PATCH', `/v1/me/messages/${m.id}`, { read: true })).status).toBe(204);
    expect(((await inbox()).find((i) => i.id === m.id) as Item & { read: boolean }).read).toBe(true);
    expect((await api.call('PATCH', `/v1/me/messages/${m.id}`, { read: false })).status).toBe(204);
    expect(((await inbox()).find((i) => i.id === m.id) as Item & { read: boolean }).read).toBe(false);
    expect((await api.call('DELETE', `/v1/me/messages/${m.id}`)).status).toBe(204);
    expect((await inbox()).find((i) => i.id === m.id)).toBeUndefined();
    expect((await api.json('GET', `/v1/me/messages/${m.id}`)).status).toBe(404);
    const docs = await t.gw.database.db.select().from(schema.documents).where(eq(schema.documents.mailboxMessageId, m.id));
    expect(docs).toHaveLength(1);
  });

  it('records [FIN] and X-MSS-MES in the hash-chained activity history', async () => {
    const db = t.gw.database.db;
    await waitFor(async () => (await db.select().from(schema.activityEvents).where(isNull(schema.activityEvents.hash))).length === 0, 15_000, 'sealing');
    const events = await db.select().from(schema.activityEvents).orderBy(schema.activityEvents.id);
    const kinds = events.map((e) => e.kind);
    expect(kinds).toContain('exchange-ended');
    expect(kinds).toContain('reply-forbidden-by-sender');
    expect(events.find((e) => e.kind === 'exchange-ended')!.actor).toBe('dr.martin@hopital-a.mssante.fr');
    const patientId = events[0]!.patientId;
    const keyring = t.gw.keyring;
    expect(await verifyActivityChain(db, keyring, patientId)).toBeNull(); // 500+ concurrent deliveries, one linear chain
    const own = events.filter((e) => e.patientId === patientId); // the notification test's witnesses have events too
    const victim = own[Math.floor(own.length / 2)]!;
    // The table refuses any change to an event, and any deletion.
    const refusal = (q: Promise<unknown>) =>
      q.then(
        () => 'accepted',
        (e: Error & { cause?: Error }) => e.cause?.message ?? e.message,
      );
    expect(
      await refusal(db.update(schema.activityEvents).set({ actor: 'someone.else@hopital-a.mssante.fr' }).where(eq(schema.activityEvents.id, victim.id))),
    ).toMatch(/append-only/);
    expect(await refusal(db.delete(schema.activityEvents).where(eq(schema.activityEvents.id, victim.id)))).toMatch(/append-only: DELETE refused/);
    expect(await refusal(db.execute(sql`TRUNCATE activity_events`))).toMatch(/append-only: TRUNCATE refused/);
    // Someone who can switch triggers off (a superuser) is caught by the chain and its signed head.
    const asSuperuser = (q: SQL) =>
      db.transaction(async (tx) => {
        await tx.execute(sql`SET LOCAL session_replication_role = replica`);
        await tx.execute(q);
      });
    await asSuperuser(sql`UPDATE activity_events SET actor = 'someone.else@hopital-a.mssante.fr' WHERE id = ${victim.id}`);
    expect(await verifyActivityChain(db, keyring, patientId)).toBe(victim.chainSeq);
    await asSuperuser(sql`UPDATE activity_events SET actor = ${victim.actor} WHERE id = ${victim.id}`);
    expect(await verifyActivityChain(db, keyring, patientId)).toBeNull();
    // Cutting the newest events off leaves a chain whose links hold, but not its signed head.
    const last = events.filter((e) => e.patientId === patientId).sort((a, b) => b.chainSeq! - a.chainSeq!)[0]!;
    const saved = (await db.select().from(schema.activityEvents).where(eq(schema.activityEvents.id, last.id)))[0]!;
    await asSuperuser(sql`DELETE FROM activity_events WHERE id = ${last.id}`);
    expect(await verifyActivityChain(db, keyring, patientId)).toBe(last.chainSeq);
    // Rewriting the head as well needs the key, which is not in the database.
    await asSuperuser(sql`UPDATE activity_heads SET chain_seq = chain_seq - 1, hash = ${saved.prevHash} WHERE patient_id = ${patientId}`);
    expect(await verifyActivityChain(db, keyring, patientId)).toBe(1);
  });
});
