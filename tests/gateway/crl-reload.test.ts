// CRLs replaced under a running gateway (CRL_FILE re-read every LIMIT_CRL_RELOAD_MS): the SMTP ingress refuses a
// client certificate revoked after start without a restart and without dropping open sessions, the outbound
// relay refuses a destination whose certificate is revoked, and a CRL file that does not parse keeps the CRLs in
// force. Real gateway, real PostgreSQL, real mutual TLS with the development PKI; waits on the gateway's log
// lines and on database state, never on fixed delays.
import { rename, writeFile, mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { initDevelopmentPki, loadTrustMaterial, type PkiPaths } from '../../certs/index.js';
import { schema } from '../../db/index.js';
import { crlBundleRevokingNothing } from '../certs/helpers.js';
import {
  apiClient,
  importPatientsCsv,
  loginPatient,
  sendMail,
  sendToPatient,
  startTestGateway,
  waitFor,
  type ApiClient,
  type TestGateway,
} from '../support/harness.js';
import { RawSmtp } from '../support/raw-smtp.js';
import { startSink, type Sink } from '../relay/sink.js';
import { LogTap } from '../support/log-tap.js';

const P = { ins: makeTestIns(990_311), email: 'crl@example.org', birthDate: '1971-03-11', provisionalCode: 'PROV-CRL-0001', password: 'Mot-de-passe-CRL-01' };

let dataDir: string;
let pki: PkiPaths;
let crlFile: string;
let t: TestGateway;
let sink: Sink;
let api: ApiClient;
const tap = new LogTap();

async function installCrl(text: string): Promise<void> {
  await writeFile(`${crlFile}.new`, text);
  await rename(`${crlFile}.new`, crlFile);
}

const reloads = () => tap.count((l) => l.msg === 'CRLs reloaded');
const reloadFailures = () => tap.count((l) => l.alert === 'CRL-RELOAD');

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'mesgw-crl-'));
  pki = await initDevelopmentPki(path.join(dataDir, 'pki'));
  crlFile = path.join(dataDir, 'crls.pem');
  await installCrl(await crlBundleRevokingNothing(pki));
  // The professional's operator presents the revoked fixture (hopital-a's whitelisted subject): only a CRL refuses it.
  sink = await startSink({ serverCert: pki.revoked, ca: (await loadTrustMaterial({ caFile: pki.ca })).ca });
  t = await startTestGateway({
    dataDir,
    logDestination: tap,
    env: {
      LOG_LEVEL: 'info',
      CRL_FILE: crlFile,
      LIMIT_CRL_RELOAD_MS: '100',
      RELAY_ROUTES: `hopital-a.mssante.fr=127.0.0.1:${sink.port}`,
    },
  });
  await importPatientsCsv(
    t,
    `ins,family_name,given_names,birth_date,email,state,provisional_code\n${P.ins},TEST-CRL,C,${P.birthDate},${P.email},created,${P.provisionalCode}\n`,
  );
  api = apiClient(t.gw.apiPort!, await loginPatient(t, P));
});

afterAll(async () => {
  await t?.close();
  await sink?.close();
});

async function replyToFirstMessage(text: string): Promise<string> {
  const msg = await waitFor(async () => (await api.json<{ items: { id: string }[] }>('GET', '/v1/me/messages')).body.items[0], 30_000, 'a message');
  const r = await api.json<{ id: string }>('POST', `/v1/me/messages/${msg.id}/reply`, { text });
  expect(r.status).toBe(202);
  return r.body.id;
}

async function outboundRows() {
  return t.gw.database.db.select().from(schema.outboundMessages).where(eq(schema.outboundMessages.kind, 'patient'));
}

describe('CRL reload in a running gateway', () => {
  it('revokes in and out at the next reload, keeps open sessions, and keeps the CRLs in force on a bad file', async () => {
    // Before: nothing revoked, so the revoked fixture is let in, and the operator presenting it is delivered to.
    expect((await sendToPatient(t, P.ins, { subject: 'Avant révocation' })).ok).toBe(true);
    const before = await sendToPatient(t, P.ins, { cert: 'revoked', subject: 'Certificat pas encore révoqué' });
    expect(before.ok, before.response).toBe(true);
    await replyToFirstMessage('Première réponse');
    await waitFor(async () => sink.accepted.length === 1, 30_000, 'the first reply at the operator');

    // A session secured before the change, by a good operator.
    const open = await RawSmtp.connect(t.gw.smtpPort!, t.pki, 'hopital-a.mssante.fr');
    expect(open.secureEhlo).toMatch(/^250 /);

    const reloaded = reloads();
    await installCrl(await readFile(pki.crl, 'utf8')); // the development CRLs: the fixture is revoked
    await waitFor(async () => reloads() > reloaded, 20_000, 'the CRLs to be reloaded');

    // In: the revoked certificate is refused with the reason, without a restart; a good one still passes.
    const refused = await sendToPatient(t, P.ins, { cert: 'revoked', subject: 'Certificat révoqué' });
    expect(refused.ok).toBe(false);
    expect(refused.response).toMatch(/^554 5\.7\.1 .*\(CERT_REVOKED\).*\[GW-TLS-03\]/);
    expect((await sendToPatient(t, P.ins, { subject: 'Toujours accepté' })).ok).toBe(true);
    // The session opened before the reload is still up and still served.
    expect(await open.cmd('MAIL FROM:<dr.ouvert@hopital-a.mssante.fr>')).toMatch(/^250 /);
    expect(await open.cmd(`RCPT TO:<${P.ins}@patient.mssante.fr>`)).toMatch(/^250 /);
    expect(await open.cmd('QUIT')).toMatch(/^221 /);
    open.close();

    // Out: the operator's certificate is now revoked: the reply is not delivered, a temporary failure naming it.
    const secondId = await replyToFirstMessage('Deuxième réponse');
    const failedRow = await waitFor(
      async () => {
        const rows = await outboundRows();
        return rows.find((r) => r.status === 'queued' && r.attempts >= 1 && /CERT_REVOKED|certificate revoked/i.test(r.lastResponse ?? '')) ?? null;
      },
      30_000,
      'the second reply to fail on the revoked certificate',
    );
    expect(failedRow.status).toBe('queued'); // temporary: retried on the relay schedule
    expect(sink.accepted).toHaveLength(1);
    expect(secondId).toBeTruthy();

    // A CRL file that does not parse: the CRLs in force stay, with an alert.
    const failures = reloadFailures();
    await installCrl('-----BEGIN X509 CRL-----\nMIIBAAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n-----END X509 CRL-----\n');
    await waitFor(async () => reloadFailures() > failures, 20_000, 'the CRL-RELOAD alert');
    const still = await sendMail({ port: t.gw.smtpPort!, pki: t.pki, cert: 'revoked', from: 'labo@hopital-a.mssante.fr', to: [`${P.ins}@patient.mssante.fr`] });
    expect(still.response).toMatch(/CERT_REVOKED/);
    expect((await sendToPatient(t, P.ins, { subject: 'Après un mauvais fichier' })).ok).toBe(true);
    expect(tap.lines.find((l) => l.alert === 'CRL-RELOAD')).toMatchObject({ level: 50, err: expect.any(String) });
  });
});
