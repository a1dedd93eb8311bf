// No INS in the logs at info level: a whole gateway flow (import, SMTP delivery, activation, login, the patient's
// mailbox, the professional API, the operator API, a query string and an unknown path carrying an INS) is run
// against a gateway whose every log line is kept, then the whole log is searched for each INS used.
import fs from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueDevToken } from '../../access/pro-auth/index.js';
import { makeTestIns } from '../../access/rules/ins.js';
import { apiClient, importPatientsCsv, loginPatient, sendToPatient, startTestGateway, waitFor, type TestGateway } from '../support/harness.js';

let t: TestGateway;
let log = '';
const P = { ins: makeTestIns(8801), email: 'logs-p@example.org', birthDate: '1966-06-06', provisionalCode: 'PROV-LOGS-01', password: 'Mot-de-passe-Logs-01' };
const Q = makeTestIns(8802); // a second patient, only named in URLs
const UNKNOWN = makeTestIns(8803); // imported by no one

beforeAll(async () => {
  const stream = new PassThrough();
  stream.on('data', (d: Buffer) => (log += d.toString()));
  t = await startTestGateway({ env: { LOG_LEVEL: 'info' }, logDestination: stream });
  await importPatientsCsv(
    t,
    `ins,family_name,given_names,birth_date,email,state,provisional_code\n${P.ins},TEST-LOGS,P,${P.birthDate},${P.email},created,${P.provisionalCode}\n${Q},TEST-LOGS,Q,1967-07-07,logs-q@example.org,created,PROV-LOGS-02\n`,
  );
});
afterAll(async () => {
  await t?.close();
});

describe('logs at info level', () => {
  it('never carry an INS: requests are logged by route pattern, without path parameters or query strings', async () => {
    expect((await sendToPatient(t, P.ins, { subject: 'Résultats' })).ok).toBe(true);
    expect((await sendToPatient(t, UNKNOWN, { subject: 'Personne' })).ok).toBe(false);
    const patient = apiClient(t.gw.apiPort!, await loginPatient(t, P));
    await waitFor(async () => (await patient.json<{ items: unknown[] }>('GET', '/v1/me/messages')).body.items.length > 0, 30_000, 'the message');
    expect((await patient.json('GET', `/v1/me/messages?cursor=${P.ins}`)).status).toBe(400);
    const pro = apiClient(t.gw.apiPort!, issueDevToken({ dir: path.join(t.pki, 'oidc'), rpps: '10001234567', profession: '10', name: 'Dr Logs' }));
    for (const ins of [P.ins, Q, UNKNOWN]) await pro.call('GET', `/v1/patients/${ins}/documents?ins=${ins}`);
    const admin = apiClient(t.gw.apiPort!, (await fs.readFile(path.join(t.dataDir, 'admin.token'), 'utf8')).trim());
    expect((await admin.json('POST', `/v1/admin/patients/${Q}/state`, { state: 'closed' })).status).toBe(200);
    expect((await admin.json('POST', `/v1/admin/patients/${UNKNOWN}/state`, { state: 'closed' })).status).toBe(404);
    expect((await patient.json('GET', `/v1/nowhere/${P.ins}`)).status).toBe(404);

    await waitFor(async () => log.includes('/nowhere') || log.includes('(no route)'), 10_000, 'the last request in the log');
    for (const ins of [P.ins, Q, UNKNOWN]) {
      const lines = log.split('\n').filter((l) => l.includes(ins));
      expect(lines, `log lines with the INS ${ins}`).toEqual([]);
    }
    // The requests were logged all the same (at info), by their route patterns.
    expect(log).toContain('incoming request');
    expect(log).toContain('"route":"/v1/admin/patients/:ins/state"');
    expect(log).toContain('"route":"/v1/patients/:ins/documents"');
    expect(log).toContain('"route":"/v1/me/messages"');
    expect(log).toContain('"route":"(no route)"');
  }, 120_000);
});
