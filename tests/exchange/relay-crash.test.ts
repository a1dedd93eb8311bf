// kill -9 of the gateway while the professional's operator holds the reply to DATA of a patient's message:
// after a restart the message is delivered, exactly once.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { initDevelopmentPki } from '../../certs/index.js';
import { apiClient, createTestDatabase, loginPatient, sendMail, waitFor, type TestGateway } from '../support/harness.js';
import { startOperatorSink } from '../support/operator-sink.js';
import { freePort } from '../support/ports.js';
import { killGroup, startChildGateway, waitHealthy } from '../support/child-gateway.js';

describe('outbound relay crash', () => {
  it('neither loses nor duplicates a patient message when the gateway dies mid-delivery', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-relaycrash-'));
    await initDevelopmentPki(path.join(dataDir, 'pki'));
    const sink = await startOperatorSink(path.join(dataDir, 'pki'));
    const smtpPort = await freePort();
    const apiPort = await freePort();
    const env = {
      DATA_DIR: dataDir,
      SMTP_PORT: String(smtpPort),
      API_PORT: String(apiPort),
      LOG_LEVEL: 'warn',
      DATABASE_URL: await createTestDatabase(),
      REDIS_URL: process.env.TEST_REDIS_URL!,
      REDIS_PREFIX: `rc${crypto.randomBytes(3).toString('hex')}`,
      RELAY_ROUTES: `hopital-a.mssante.fr=127.0.0.1:${sink.port}`,
      RELAY_RETRY_SCHEDULE_MS: '500,500,500',
    };
    let child = startChildGateway(env);
    try {
      await waitHealthy(apiPort, child);
      const token = (await fs.readFile(path.join(dataDir, 'admin.token'), 'utf8')).trim();
      const P = { ins: makeTestIns(6101), email: 'rc@example.org', birthDate: '1977-07-07', provisionalCode: 'PROV-RC-0001', password: 'Mot-de-passe-crash-8' };
      const imp = await apiClient(apiPort, token).call(
        'POST',
        '/v1/admin/patients/import',
        `ins,family_name,given_names,birth_date,email,state,provisional_code\n${P.ins},TEST-RC,Rc,${P.birthDate},${P.email},created,${P.provisionalCode}\n`,
        { 'content-type': 'text/csv' },
      );
      expect(imp.status).toBe(200);
      const sent = await sendMail({
        port: smtpPort,
        pki: path.join(dataDir, 'pki'),
        cert: 'hopital-a.mssante.fr',
        from: 'dr.crash@hopital-a.mssante.fr',
        to: [`${P.ins}@patient.mssante.fr`],
        subject: 'Avant la panne',
      });
      expect(sent.ok).toBe(true);
      const fake = { gw: { apiPort }, dataDir } as unknown as TestGateway;
      const api = apiClient(apiPort, await loginPatient(fake, P));
      const msg = await waitFor(async () => (await api.json<{ items: { id: string }[] }>('GET', '/v1/me/messages')).body.items[0], 30_000, 'the message');

      let release!: () => void;
      sink.hold = new Promise<void>((r) => (release = r));
      const reply = await api.json<{ id: string }>('POST', `/v1/me/messages/${msg.id}/reply`, { text: 'Réponse pendant la panne' });
      expect(reply.status).toBe(202);
      await waitFor(async () => sink.dataReceived >= 1, 20_000, 'the whole reply at the operator, its answer held');
      const closedBefore = sink.sessionsClosed;
      await killGroup(child);
      // the operator notices the dead connection before it would have answered
      await waitFor(async () => sink.sessionsClosed > closedBefore, 10_000, 'the operator to see the connection drop');
      sink.hold = null;
      release();
      expect(sink.received).toHaveLength(0);

      child = startChildGateway(env);
      await waitHealthy(apiPort, child);
      const got = await waitFor(async () => sink.received[0], 90_000, 'the retried delivery after restart');
      expect(got.from).toBe(`${P.ins}@patient.mssante.fr`);
      // The relay records "sent" right after the operator's 250 and never sends a message that is no longer
      // queued (app/outbound-worker.ts processOutbound): once the sent folder says "sent", the count is final.
      const api2 = apiClient(apiPort, await loginPatient(fake, { ...P, provisionalCode: undefined }));
      await waitFor(
        async () => (await api2.json<{ items: { status: string }[] }>('GET', '/v1/me/messages?folder=sent')).body.items[0]?.status === 'sent',
        20_000,
        'the status "sent"',
      );
      expect(sink.received).toHaveLength(1);
    } finally {
      await killGroup(child);
      await sink.close();
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  }, 240_000);
});
