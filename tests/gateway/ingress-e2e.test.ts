// End to end on real PostgreSQL, real Redis and real mutual TLS: the SMTP ingress's accept/refuse decisions,
// then the patient reading the message and downloading its attachment through the API.
import crypto from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { RawSmtp } from '../support/raw-smtp.js';
import { apiClient, importPatientsCsv, loginPatient, sendMail, startTestGateway, waitFor, type TestGateway } from '../support/harness.js';

const insCreated = makeTestIns(101);
const insActive = makeTestIns(102);
const insPending = makeTestIns(103);
const insOpposed = makeTestIns(104);
const insClosed = makeTestIns(105);
const insCorsicaA = '284052A32102552'; // CNAM key vector (2A -> 19)
const insCorsicaB = (() => {
  // a 2B INS built from the same digits, with its computed key
  const first13 = '284052B321025';
  const n = BigInt(first13.replace('2B', '18'));
  return `${first13}${String(97n - (n % 97n)).padStart(2, '0')}`;
})();

const csv = [
  'ins,family_name,given_names,birth_date,email,state,provisional_code',
  `${insCreated},TEST-CREE,Alice,1980-01-02,alice@example.org,created,PROV-ALICE-1`,
  `${insActive},TEST-ACTIF,Bruno,1975-03-04,bruno@example.org,created,PROV-BRUNO-1`,
  `${insPending},TEST-ATTENTE,Chloe,1990-05-06,chloe@example.org,pending,PROV-CHLOE-1`,
  `${insOpposed},TEST-OPPOSE,David,1960-07-08,david@example.org,opposed,`,
  `${insClosed},TEST-FERME,Emma,1955-09-10,emma@example.org,closed,`,
  `${insCorsicaA},TEST-CORSE,Fanny,1984-05-01,fanny@example.org,active,`,
  `${insCorsicaB},TEST-CORSE,Gilles,1984-05-01,gilles@example.org,created,`,
].join('\n');

let t: TestGateway;
const to = (ins: string) => `${ins}@patient.mssante.fr`;

beforeAll(async () => {
  // This suite runs its jobs on Redis (REDIS_URL), the other suites on the default PostgreSQL queue backend.
  t = await startTestGateway({ queues: 'redis', env: { API_EXPOSE: 'metrics' } });
  await importPatientsCsv(t, csv);
});
afterAll(async () => {
  await t?.close();
});

const send = (o: Partial<Parameters<typeof sendMail>[0]> & { to: string[] }) =>
  sendMail({ port: t.gw.smtpPort!, pki: t.pki, cert: 'hopital-a.mssante.fr', from: 'dr.house@hopital-a.mssante.fr', ...o });

describe('SMTP ingress', () => {
  it('accepts a message from a listed operator, and the patient downloads the attachment byte-identical', async () => {
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(700_000)]);
    const r = await send({
      to: [to(insActive)],
      subject: 'Résultats de votre IRM',
      text: 'Bonjour, veuillez trouver le compte rendu.',
      attachments: [{ filename: 'compte-rendu-irm.pdf', content: pdf, contentType: 'application/pdf' }],
    });
    expect(r.response).toMatch(/^250 2\.0\.0 [0-9A-Z]+ .*\[GW-DATA-00\]$/);
    expect(r.ok).toBe(true);

    const token = await loginPatient(t, {
      ins: insActive,
      email: 'bruno@example.org',
      birthDate: '1975-03-04',
      provisionalCode: 'PROV-BRUNO-1',
      password: 'Un-mot-de-passe-solide-42',
    });
    const api = apiClient(t.gw.apiPort!, token);
    const list = await waitFor(
      async () => {
        const l = await api.json<{
          items: { id: string; subject: string; from: { displayName: string }; attachments: { id: string; filename: string; size: number }[] }[];
        }>('GET', '/v1/me/messages');
        return l.body.items.length > 0 ? l.body : null;
      },
      30_000,
      'the message in the mailbox',
    );
    expect(list.items).toHaveLength(1);
    const msg = list.items[0]!;
    expect(msg.subject).toBe('Résultats de votre IRM');
    expect(msg.attachments).toHaveLength(1);
    expect(msg.attachments[0]!.filename).toBe('compte-rendu-irm.pdf');
    expect(msg.attachments[0]!.size).toBe(pdf.length);

    const full = await api.json<{ text: string }>('GET', `/v1/me/messages/${msg.id}`);
    expect(full.status).toBe(200);
    expect(full.body.text).toContain('veuillez trouver le compte rendu');

    const dl = await api.call('GET', `/v1/me/messages/${msg.id}/attachments/${msg.attachments[0]!.id}`);
    expect(dl.status).toBe(200);
    const bytes = Buffer.from(await dl.arrayBuffer());
    expect(crypto.createHash('sha256').update(bytes).digest('hex')).toBe(crypto.createHash('sha256').update(pdf).digest('hex'));
  });

  it('refuses a session without a client certificate before MAIL FROM is accepted', async () => {
    const r = await send({ cert: null, to: [to(insCreated)] });
    expect(r.ok).toBe(false);
    expect(r.response).toMatch(/^554 5\.7\.1 .*\[GW-TLS-02\]/);
  });

  it('refuses a certificate from an untrusted CA, even with a listed subject', async () => {
    const r = await send({ cert: 'untrusted', to: [to(insCreated)] });
    expect(r.ok).toBe(false);
    expect(r.response).toMatch(/^554 5\.7\.1 .*\[GW-TLS-03\]/);
  });

  it('refuses an expired certificate', async () => {
    const r = await send({ cert: 'expired', to: [to(insCreated)] });
    expect(r.response).toMatch(/^554 5\.7\.1 .*\[GW-TLS-03\]/);
  });

  it('refuses a sender domain that is not listed', async () => {
    const r = await send({ from: 'someone@not-mssante.example', to: [to(insCreated)] });
    expect(r.response).toMatch(/^550 5\.7\.1 .*\[GW-MAIL-01\]/);
  });

  it("refuses a listed domain presented with the other operator's certificate", async () => {
    const r = await send({ cert: 'cabinet-b.mssante.fr', from: 'dr.x@hopital-a.mssante.fr', to: [to(insCreated)] });
    expect(r.response).toMatch(/^550 5\.7\.1 .*\[GW-MAIL-02\]/);
  });

  it('refuses a wrong INS key with 550 5.1.3', async () => {
    const good = insCreated;
    const badKey = good.slice(0, 13) + String((Number(good.slice(13)) % 97) + 1).padStart(2, '0');
    const r = await send({ to: [to(badKey)] });
    expect(r.response).toMatch(/^550 5\.1\.3 .*\[GW-RCPT-02\]/);
  });

  it('accepts valid Corsican INS, 2A and 2B, also in lower case', async () => {
    for (const ins of [insCorsicaA, insCorsicaB, insCorsicaA.toLowerCase(), insCorsicaB.toLowerCase()]) {
      const r = await send({ to: [to(ins)] });
      expect(r.response, ins).toMatch(/^250 2\.0\.0 /);
    }
  });

  it('answers unknown, pending and opposed with the same 550 5.1.1 text', async () => {
    const unknown = makeTestIns(999_001);
    const replies = [];
    for (const ins of [unknown, insPending, insOpposed]) {
      const r = await send({ to: [to(ins)] });
      expect(r.ok).toBe(false);
      replies.push(r.response);
    }
    expect(replies[0]).toMatch(/^550 5\.1\.1 .*\[GW-RCPT-03\]$/);
    expect(new Set(replies).size).toBe(1);
  });

  it('refuses a closed mailbox with 550 5.2.1', async () => {
    const r = await send({ to: [to(insClosed)] });
    expect(r.response).toMatch(/^550 5\.2\.1 .*\[GW-RCPT-04\]/);
  });

  it('accepts created and active profiles', async () => {
    expect((await send({ to: [to(insCreated)] })).ok).toBe(true);
    expect((await send({ to: [to(insCorsicaA)] })).ok).toBe(true); // imported active
  });

  it('re-checks at the end of DATA a recipient remembered from RCPT: closed meanwhile elsewhere → 451, nothing kept', async () => {
    const ins = makeTestIns(171);
    await importPatientsCsv(
      t,
      `ins,family_name,given_names,birth_date,email,state,provisional_code\n${ins},TEST-RECHECK,Hugo,1970-01-01,hugo@example.org,created,\n`,
    );
    expect((await send({ to: [to(ins)] })).response).toMatch(/^250 /); // its acceptance is now remembered
    // Closed by another process (straight in the database: this process's cache is not told).
    await t.gw.database.pool.query(`UPDATE patients SET state = 'closed' WHERE ins = $1`, [ins]);
    const before = await t.gw.database.pool.query('SELECT count(*)::int AS n FROM inbound_messages');
    const r = await send({ to: [to(ins)], subject: 'après fermeture' });
    expect(r.response).toMatch(/^451 4\.3\.0 .*\[GW-DATA-06\]$/);
    const after = await t.gw.database.pool.query('SELECT count(*)::int AS n FROM inbound_messages');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('refuses recipients outside the patient domain (no relaying)', async () => {
    const r = await send({ to: ['dr.who@hopital-a.mssante.fr'] });
    expect(r.response).toMatch(/^550 5\.7\.1 .*\[GW-RCPT-01\]/);
  });

  it('refuses bare LF line endings in DATA', async () => {
    const c = await RawSmtp.connect(t.gw.smtpPort!, t.pki, 'hopital-a.mssante.fr');
    try {
      expect(await c.cmd('MAIL FROM:<dr.house@hopital-a.mssante.fr>')).toMatch(/^250/);
      expect(await c.cmd(`RCPT TO:<${to(insCreated)}>`)).toMatch(/^250/);
      expect(await c.cmd('DATA')).toMatch(/^354/);
      await c.write(`From: dr.house@hopital-a.mssante.fr\r\nSubject: test\r\n\r\nline one\nline two\r\n.\r\n`);
      expect(await c.reply()).toMatch(/^550 5\.5\.2 .*\[GW-DATA-02\]/);
      // the session stays usable and a clean message still goes through
      expect(await c.cmd('MAIL FROM:<dr.house@hopital-a.mssante.fr>')).toMatch(/^250/);
      expect(await c.cmd(`RCPT TO:<${to(insCreated)}>`)).toMatch(/^250/);
      expect(await c.cmd('DATA')).toMatch(/^354/);
      await c.write(`From: dr.house@hopital-a.mssante.fr\r\nSubject: test\r\n\r\nline one\r\n.\r\n`);
      expect(await c.reply()).toMatch(/^250 2\.0\.0 /);
    } finally {
      c.close();
    }
  });

  it('refuses before 250 a message with more MIME parts than the limit, and keeps nothing', async () => {
    const before = await t.gw.database.pool.query('SELECT count(*)::int AS n FROM inbound_messages');
    const parts = Array.from({ length: 1000 }, (_, i) => `--p\r\nContent-Type: text/plain\r\n\r\n${i}\r\n`).join('');
    const c = await RawSmtp.connect(t.gw.smtpPort!, t.pki, 'hopital-a.mssante.fr');
    try {
      expect(await c.cmd('MAIL FROM:<dr.house@hopital-a.mssante.fr>')).toMatch(/^250/);
      expect(await c.cmd(`RCPT TO:<${to(insCreated)}>`)).toMatch(/^250/);
      expect(await c.cmd('DATA')).toMatch(/^354/);
      await c.write(`From: dr.house@hopital-a.mssante.fr\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n${parts}--p--\r\n.\r\n`);
      expect(await c.reply()).toMatch(/^550 5\.6\.0 .*\[GW-DATA-10\]/);
    } finally {
      c.close();
    }
    const after = await t.gw.database.pool.query('SELECT count(*)::int AS n FROM inbound_messages');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('refuses a bare CR in DATA like a bare LF, and keeps nothing', async () => {
    const before = await t.gw.database.pool.query('SELECT count(*)::int AS n FROM inbound_messages');
    const c = await RawSmtp.connect(t.gw.smtpPort!, t.pki, 'hopital-a.mssante.fr');
    try {
      expect(await c.cmd('MAIL FROM:<dr.house@hopital-a.mssante.fr>')).toMatch(/^250/);
      expect(await c.cmd(`RCPT TO:<${to(insCreated)}>`)).toMatch(/^250/);
      expect(await c.cmd('DATA')).toMatch(/^354/);
      await c.write(`From: dr.house@hopital-a.mssante.fr\r\nSubject: test\r\n\r\nline one\rMAIL FROM:<x@y>\r\n.\r\n`);
      expect(await c.reply()).toMatch(/^550 5\.5\.2 .*\[GW-DATA-07\]/);
    } finally {
      c.close();
    }
    const after = await t.gw.database.pool.query('SELECT count(*)::int AS n FROM inbound_messages');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('refuses a message announced over SIZE at MAIL FROM with 552 5.3.4', async () => {
    const c = await RawSmtp.connect(t.gw.smtpPort!, t.pki, 'hopital-a.mssante.fr');
    try {
      expect(await c.cmd('MAIL FROM:<dr.house@hopital-a.mssante.fr> SIZE=30000000')).toMatch(/^552 5\.3\.4 .*\[GW-DATA-01\]/);
    } finally {
      c.close();
    }
  });

  it('refuses an oversized message while streaming, without buffering it', async () => {
    const sendBig = async () => {
      const c = await RawSmtp.connect(t.gw.smtpPort!, t.pki, 'hopital-a.mssante.fr');
      try {
        expect(await c.cmd('MAIL FROM:<dr.house@hopital-a.mssante.fr>')).toMatch(/^250/);
        expect(await c.cmd(`RCPT TO:<${to(insCreated)}>`)).toMatch(/^250/);
        expect(await c.cmd('DATA')).toMatch(/^354/);
        await c.write('From: dr.house@hopital-a.mssante.fr\r\nSubject: big\r\n\r\n');
        const line = `${'A'.repeat(76)}\r\n`;
        const block = Buffer.from(line.repeat(Math.floor(65536 / line.length)));
        const total = 200 * 1024 * 1024; // 8 times the limit: buffering it would show at once, whatever the noise
        for (let sent = 0; sent < total; sent += block.length) await c.write(block);
        await c.write('.\r\n');
        expect(await c.reply(60_000)).toMatch(/^552 5\.3\.4 .*\[GW-DATA-01\]/);
      } finally {
        c.close();
      }
    };
    // Live memory (after a full GC) of the whole process, client and gateway together: garbage is not growth.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const mem = () => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    await sendBig(); // warm-up: connection pools and buffers reach their working size once
    const baseline = mem();
    let peak = baseline;
    const series: number[] = [];
    const sampler = setInterval(() => {
      const v = mem();
      series.push(Math.round((v - baseline) / 1e6));
      peak = Math.max(peak, v);
    }, 200);
    try {
      await sendBig();
      if (process.env.MEM_DEBUG) console.log('MEMSERIES', series.join(','));
    } finally {
      clearInterval(sampler);
    }
    // A buffered message would add its 200 MiB; streaming keeps the growth to a few chunks, plus what full GCs
    // leave around in this busy process (client, gateway, pools: ±20 MB measured), far below the message size.
    expect(peak - baseline).toBeLessThan(48 * 1024 * 1024);
  });

  it('counts replies by code and suffix in /metrics, without personal data', async () => {
    const res = await fetch(`http://127.0.0.1:${t.gw.apiPort}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/mesgw_smtp_replies_total\{code="550",suffix="GW-RCPT-03"\} [1-9]/);
    expect(text).toMatch(/mesgw_smtp_replies_total\{code="250",suffix="GW-DATA-00"\} [1-9]/);
    expect(text).toMatch(/mesgw_queue_jobs\{queue="inbound-delivery",state="/);
    // The whitelist's age, from its generation date (the development list is generated at start: minutes at most).
    const age = Number(/^mesgw_whitelist_age_seconds (\S+)$/m.exec(text)?.[1]);
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(24 * 3600);
    expect(text).not.toContain(insCreated);
  });
});

describe('embedded defaults smoke (private PostgreSQL, queues in PostgreSQL)', () => {
  it('accepts, processes and serves a message on the zero-setup defaults', async () => {
    const e = await startTestGateway({ embedded: true });
    try {
      const ins = makeTestIns(4242);
      await importPatientsCsv(
        e,
        `ins,family_name,given_names,birth_date,email,state,provisional_code\n${ins},TEST-EMBED,Iris,1991-02-03,iris@example.org,created,PROV-IRIS-01\n`,
      );
      const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(300_000)]);
      const base = { port: e.gw.smtpPort!, pki: e.pki, cert: 'hopital-a.mssante.fr' as const, from: 'dr.x@hopital-a.mssante.fr' };
      const r = await sendMail({ ...base, to: [to(ins)], attachments: [{ filename: 'ordonnance.pdf', content: pdf }] });
      expect(r.response).toMatch(/^250 2\.0\.0 /);
      expect((await sendMail({ ...base, to: [to(makeTestIns(4243))] })).response).toMatch(/^550 5\.1\.1 /);
      const token = await loginPatient(e, {
        ins,
        email: 'iris@example.org',
        birthDate: '1991-02-03',
        provisionalCode: 'PROV-IRIS-01',
        password: 'Motdepasse-tres-long-9',
      });
      const api = apiClient(e.gw.apiPort!, token);
      const items = await waitFor(
        async () => {
          const l = await api.json<{ items: { id: string; attachments: { id: string }[] }[] }>('GET', '/v1/me/messages');
          return l.body.items.length ? l.body.items : null;
        },
        30_000,
        'the message on the embedded defaults',
      );
      const dl = await api.call('GET', `/v1/me/messages/${items[0]!.id}/attachments/${items[0]!.attachments[0]!.id}`);
      expect(Buffer.from(await dl.arrayBuffer()).equals(pdf)).toBe(true);
    } finally {
      await e.close();
    }
  });
});
