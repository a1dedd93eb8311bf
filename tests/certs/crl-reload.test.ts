// The CRL reloader on real files, checked by real mutual-TLS handshakes (node:tls) with the CRLs it holds.
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CrlReloader,
  ISSUING_CA_SUBJECT,
  TrustMaterialError,
  createCrl,
  describeCrl,
  initDevelopmentPki,
  loadCrlFiles,
  loadTrustMaterial,
  renewDevelopmentCrl,
  splitPem,
  type PkiPaths,
} from '../../certs/index.js';
import { crlBundleRevokingNothing, makeTempDir, mutualTlsHandshake } from './helpers.js';
import { logs } from '../support/log-tap.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let paths: PkiPaths;
let ca: string[];
let serverBase: tls.TlsOptions;
let revokedBundle: string;
let crlFile: string;

const client = async (pair: { cert: string; key: string }) => ({
  cert: await readFile(pair.cert),
  key: await readFile(pair.key),
  ca: await readFile(paths.ca),
});

/** Replaces the CRL file the way an operator's job should: a complete file renamed over the old one. */
async function installCrl(text: string): Promise<void> {
  await writeFile(`${crlFile}.new`, text);
  await rename(`${crlFile}.new`, crlFile);
}

beforeAll(async () => {
  tmp = await makeTempDir('crl-reload');
  paths = await initDevelopmentPki(tmp.dir);
  ca = (await loadTrustMaterial({ caFile: paths.ca })).ca;
  serverBase = { cert: await readFile(paths.server.cert), key: await readFile(paths.server.key), ca };
  revokedBundle = await readFile(paths.crl, 'utf8');
  crlFile = path.join(tmp.dir, 'crls.pem');
});
afterAll(async () => tmp?.cleanup());

describe('CrlReloader', () => {
  it('puts a new revocation in force at the next check; a bad file or a failing listener keeps the CRLs in force', async () => {
    await installCrl(await crlBundleRevokingNothing(paths));
    const initial = (await loadTrustMaterial({ caFile: paths.ca, crlFiles: [crlFile] })).crl!;
    const log = logs();
    const reloader = new CrlReloader({ files: [crlFile], ca, initial, logger: log.logger });
    const seen: string[][] = [];
    reloader.onChange((crl) => seen.push(crl));
    const handshake = (pair: { cert: string; key: string }) => client(pair).then((c) => mutualTlsHandshake({ ...serverBase, crl: reloader.current() }, c));

    expect((await handshake(paths.revoked)).authorized).toBe(true);
    expect(await reloader.check()).toBe('unchanged');
    expect(seen).toEqual([]);

    await installCrl(revokedBundle);
    expect(await reloader.check()).toBe('reloaded');
    expect(seen).toHaveLength(1);
    expect(log.lines.find((l) => l.msg === 'CRLs reloaded')).toMatchObject({ crls: 2, files: 1 });
    expect((await handshake(paths.revoked)).authorizationError).toBe('CERT_REVOKED');
    expect((await handshake(paths.operators['hopital-a.mssante.fr'])).authorized).toBe(true);
    const inForce = reloader.current();

    // DER-looking garbage (node:tls refuses it), then no CRL at all: each time kept, alerted.
    const garbage = `-----BEGIN X509 CRL-----\n${Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x00]), Buffer.alloc(60, 7)]).toString('base64')}\n-----END X509 CRL-----\n`;
    for (const bad of [garbage, 'not a CRL\n']) {
      await installCrl(bad);
      expect(await reloader.check()).toBe('failed');
      expect(reloader.current()).toBe(inForce);
      expect((await handshake(paths.revoked)).authorizationError).toBe('CERT_REVOKED');
    }
    expect(log.alerts('CRL-RELOAD')).toHaveLength(2);
    expect(log.alerts('CRL-RELOAD')[0]).toMatchObject({ level: 50, err: expect.stringMatching(/node:tls/) });

    // A listener that cannot apply the set: not recorded as in force, tried again at the next check.
    const failing = new CrlReloader({ files: [crlFile], ca, initial: inForce, logger: log.logger });
    failing.onChange(() => {
      throw new Error('cannot apply');
    });
    await installCrl(await crlBundleRevokingNothing(paths));
    expect(await failing.check()).toBe('failed');
    expect(failing.current()).toBe(inForce);
    expect(log.alerts('CRL-RELOAD').at(-1)!.err).toBe('cannot apply');
  });

  it('alerts CRL-EXPIRED at every check while a CRL in force has passed its nextUpdate', async () => {
    await renewDevelopmentCrl(tmp.dir, new Date(Date.now() - 10 * 86_400_000));
    const stale = (await loadTrustMaterial({ caFile: paths.ca, crlFiles: [paths.crl] })).crl!;
    const log = logs();
    const reloader = new CrlReloader({ files: [paths.crl], ca, initial: stale, logger: log.logger });
    reloader.start(3_600_000); // the alert is also given at start
    await reloader.stop();
    expect(log.alerts('CRL-EXPIRED')).toHaveLength(2);
    expect(await reloader.check()).toBe('unchanged');
    expect(log.alerts('CRL-EXPIRED')).toHaveLength(4);
    expect(log.alerts('CRL-EXPIRED')[0]).toMatchObject({ issuer: expect.stringContaining(`CN=${ISSUING_CA_SUBJECT.CN}`), nextUpdate: expect.any(String) });
    await renewDevelopmentCrl(tmp.dir);
    expect(await reloader.check()).toBe('reloaded');
    expect(log.alerts('CRL-EXPIRED')).toHaveLength(4);
  });
});

describe('loadCrlFiles', () => {
  it('reads DER CRL files, as CAs publish them, as well as PEM bundles', async () => {
    const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const blocks = splitPem(revokedBundle, 'X509 CRL');
    const files = await Promise.all(
      blocks.map(async (pem, i) => {
        const f = path.join(tmp.dir, `ca-${i}.crl`);
        await writeFile(f, der(pem));
        return f;
      }),
    );
    const loaded = await loadCrlFiles(files);
    expect(loaded.map(der)).toEqual(blocks.map(der));
    const result = await mutualTlsHandshake({ ...serverBase, crl: loaded }, await client(paths.revoked));
    expect(result.authorizationError).toBe('CERT_REVOKED');
    const junk = path.join(tmp.dir, 'junk.crl');
    await writeFile(junk, Buffer.from([0x01, 0x02, 0x03]));
    await expect(loadCrlFiles([junk])).rejects.toThrow(/no PEM CRL found \(nor a DER one\)/);
  });
});

describe('describeCrl', () => {
  it('reads issuer, thisUpdate and nextUpdate, and refuses what is not a CRL', async () => {
    const thisUpdate = new Date('2025-03-13T02:00:00Z');
    const nextUpdate = new Date('2025-03-20T02:00:00Z');
    const pem = createCrl({
      issuerCertPem: await readFile(paths.issuingCa, 'utf8'),
      issuerKeyPem: await readFile(paths.issuingCaKey, 'utf8'),
      thisUpdate,
      nextUpdate,
      revoked: [{ serial: '0badc0de' }],
    });
    const info = describeCrl(pem);
    expect(info.thisUpdate.toISOString()).toBe(thisUpdate.toISOString());
    expect(info.nextUpdate?.toISOString()).toBe(nextUpdate.toISOString());
    expect(info.issuer).toMatch(/^CN=TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS,.*C=FR$/);
    const cert = (await readFile(paths.ca, 'utf8')).replace(/CERTIFICATE/g, 'X509 CRL');
    expect(() => describeCrl(cert)).toThrow(TrustMaterialError);
  });
});
