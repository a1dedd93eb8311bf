// NOTIFY_SMTP_URL: login codes leave through a real SMTP server (a sink here) instead of the .eml folder,
// and carry no health data.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { apiClient, importPatientsCsv, startTestGateway, waitFor, type TestGateway } from '../support/harness.js';

const received: { to: string[]; data: string }[] = [];
let sink: SMTPServer;
let t: TestGateway;
const ins = makeTestIns(4711);

beforeAll(async () => {
  sink = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, cb) {
      const parts: Buffer[] = [];
      stream.on('data', (d: Buffer) => parts.push(d));
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), data: Buffer.concat(parts).toString('utf8') });
        cb();
      });
    },
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
  const port = (sink.server.address() as AddressInfo).port;
  t = await startTestGateway({ env: { NOTIFY_SMTP_URL: `smtp://127.0.0.1:${port}` } });
  await importPatientsCsv(
    t,
    `ins,family_name,given_names,birth_date,email,state,provisional_code\n${ins},TEST-NOTIF,Nina,1985-06-07,nina@example.org,created,PROV-NINA-01\n`,
  );
});
afterAll(async () => {
  await t?.close();
  await new Promise<void>((r) => sink.close(() => r()));
});

describe('notification e-mails over SMTP', () => {
  it('sends the login code through NOTIFY_SMTP_URL, without health data', async () => {
    const api = apiClient(t.gw.apiPort!);
    expect(
      (await api.call('POST', '/v1/patient/activate', { ins, provisionalCode: 'PROV-NINA-01', birthDate: '1985-06-07', password: 'Mot-de-passe-de-Nina-5' }))
        .status,
    ).toBe(204);
    const l = await api.json<{ challengeId: string }>('POST', '/v1/patient/login', { ins, password: 'Mot-de-passe-de-Nina-5' });
    expect(l.status).toBe(200);
    const mail = await waitFor(async () => received.find((m) => m.to.includes('nina@example.org')), 10_000, 'the login code e-mail');
    const decoded = mail.data.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    const code = /code de connexion est : (\d{6})/.exec(Buffer.from(decoded, 'latin1').toString('utf8'))?.[1];
    expect(code).toMatch(/^\d{6}$/);
    expect(mail.data).not.toContain(ins);
    expect(mail.data).not.toContain('NOTIF');
    const v = await api.json('POST', '/v1/patient/login/verify', { challengeId: l.body.challengeId, code });
    expect(v.status).toBe(200);
    // nothing was written to the development folder
    await expect(fs.readdir(path.join(t.dataDir, 'notifications'))).rejects.toThrow();
  });
});
