// WHITELIST_URL in a running gateway: the list is downloaded from a real HTTPS server (development PKI certificate,
// trusted through WHITELIST_CA_FILE) as the gateway starts, replaces the last good copy on disk and the list the
// SMTP ingress checks senders against; a non-HTTPS WHITELIST_URL stops the start. Waits on the gateway's log.
import { mkdtemp, readFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { OPERATOR_SUBJECTS, buildWhitelistXml, gatewaySubject, initDevelopmentPki, subjectToDn, type PkiPaths } from '../../certs/index.js';
import { sendMail, startTestGateway, waitFor, type TestGateway } from '../support/harness.js';
import { LogTap } from '../support/log-tap.js';

let dataDir: string;
let pki: PkiPaths;
let server: https.Server;
let url: string;
let served: string;
let t: TestGateway | undefined;
const tap = new LogTap();
const unknownPatient = `${makeTestIns(990_411)}@patient.mssante.fr`;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'mesgw-wlurl-'));
  pki = await initDevelopmentPki(path.join(dataDir, 'pki'));
  // The published list no longer has cabinet-b; it is newer than the one pki init wrote.
  served = buildWhitelistXml(
    [
      { domain: 'hopital-a.mssante.fr', dn: subjectToDn(OPERATOR_SUBJECTS['hopital-a.mssante.fr']) },
      { domain: 'patient.mssante.fr', dn: subjectToDn(gatewaySubject()) },
    ],
    new Date(Date.now() + 2_000),
  );
  server = https.createServer({ key: await readFile(pki.server.key), cert: await readFile(pki.server.cert) }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/xml' });
    res.end(served);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/listeblanchemssante.xml`;
});

afterAll(async () => {
  await t?.close();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('WHITELIST_URL in a running gateway', () => {
  it('refuses to start on a non-HTTPS WHITELIST_URL', async () => {
    await expect(startTestGateway({ dataDir, env: { WHITELIST_URL: url.replace('https:', 'http:'), WHITELIST_CA_FILE: pki.ca } })).rejects.toThrow(
      /WHITELIST_URL: only https/,
    );
  });

  it('downloads the list at start, installs it as the last good copy and checks senders against it', async () => {
    const send = (cert: 'hopital-a.mssante.fr' | 'cabinet-b.mssante.fr') =>
      sendMail({ port: t!.gw.smtpPort!, pki: t!.pki, cert, from: `dr@${cert}`, to: [unknownPatient] });
    t = await startTestGateway({
      dataDir,
      logDestination: tap,
      env: { LOG_LEVEL: 'info', WHITELIST_URL: url, WHITELIST_CA_FILE: pki.ca, API_EXPOSE: 'metrics' },
    });
    await waitFor(async () => tap.lines.some((l) => l.msg === 'whitelist downloaded and installed'), 20_000, 'the download');
    expect(await readFile(pki.whitelist, 'utf8')).toBe(served);
    // cabinet-b is no longer listed: refused at MAIL FROM; hopital-a still passes MAIL FROM (refused at RCPT only).
    expect((await send('cabinet-b.mssante.fr')).response).toMatch(/\[GW-MAIL-01\]/);
    expect((await send('hopital-a.mssante.fr')).response).toMatch(/^550 5\.1\.1 /);
    const metrics = await (await fetch(`http://127.0.0.1:${t.gw.apiPort}/metrics`)).text();
    expect(Number(/^mesgw_whitelist_age_seconds (\S+)$/m.exec(metrics)?.[1])).toBeLessThan(60);
    expect(tap.lines.filter((l) => l.alert)).toEqual([]);
  });
});
