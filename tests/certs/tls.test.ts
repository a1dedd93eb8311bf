import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TrustMaterialError,
  dnFromX509,
  initDevelopmentPki,
  isSenderAuthorised,
  loadTrustMaterial,
  loadWhitelistFile,
  normalizeDn,
  renewDevelopmentCrl,
  type PkiPaths,
  type TrustMaterial,
  type Whitelist,
} from '../../certs/index.js';
import { makeTempDir, mutualTlsHandshake, readCerts } from './helpers.js';

const ISSUING_DN = normalizeDn('CN=TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS,OU=IGC-SANTE TEST,OU=0002 187512751,O=ASIP-SANTE,C=FR');

describe('mutual TLS with the development PKI (node:tls verification)', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let paths: PkiPaths;
  let trust: TrustMaterial;
  let whitelist: Whitelist;
  let serverBase: tls.TlsOptions;
  let clientCa: string;

  const client = async (pair: { cert: string; key: string }) => ({
    cert: await readFile(pair.cert),
    key: await readFile(pair.key),
    ca: clientCa,
  });

  beforeAll(async () => {
    tmp = await makeTempDir('certs-tls');
    paths = await initDevelopmentPki(tmp.dir);
    trust = await loadTrustMaterial({ caFile: paths.ca, crlFiles: [paths.crl] });
    whitelist = await loadWhitelistFile(paths.whitelist);
    serverBase = { cert: await readFile(paths.server.cert), key: await readFile(paths.server.key), ca: trust.ca };
    clientCa = await readFile(paths.ca, 'utf8');
  });
  afterAll(async () => tmp.cleanup());

  it('loadTrustMaterial splits the bundles into single PEM entries', () => {
    expect(trust.ca).toHaveLength(2);
    expect(trust.anchors.map((a) => dnFromX509(a))).toEqual([
      normalizeDn('CN=TEST AC RACINE IGC-SANTE ELEMENTAIRE,OU=IGC-SANTE TEST,OU=0002 187512751,O=ASIP-SANTE,C=FR'),
      ISSUING_DN,
    ]);
    expect(trust.crl).toHaveLength(2);
    for (const crl of trust.crl!) expect(crl.match(/BEGIN X509 CRL/g)).toHaveLength(1);
  });

  it('accepts the whitelisted operator: authorized, right DN, whitelist says ok, and the client trusts the gateway', async () => {
    const result = await mutualTlsHandshake(serverBase, await client(paths.operators['hopital-a.mssante.fr']));
    expect(result.authorized).toBe(true);
    expect(result.clientAuthorizedServer).toBe(true);
    const [leaf] = await readCerts(paths.operators['hopital-a.mssante.fr'].cert);
    expect(result.peer).toMatchObject({
      authorized: true,
      subjectDn: 'CN=smtp.hopital-a.mssante.fr,OU=399999999900011,O=hopital a test,ST=paris (75),C=fr',
      issuerDn: ISSUING_DN,
      fingerprint256: leaf!.fingerprint256,
      serialNumber: leaf!.serialNumber,
    });
    expect(result.peer!.authorizationError).toBeUndefined();
    expect(result.peer!.validFrom.getTime()).toBe(Date.parse(leaf!.validFrom));
    expect(result.peer!.validTo.getTime()).toBeGreaterThan(Date.now());
    expect(isSenderAuthorised(whitelist, 'hopital-a.mssante.fr', result.peer!.subjectDn)).toBe('ok');
    expect(isSenderAuthorised(whitelist, 'cabinet-b.mssante.fr', result.peer!.subjectDn)).toBe('dn-not-listed-for-domain');
  });

  it('accepts cabinet-b (L= subject) and matches its whitelist entry', async () => {
    const result = await mutualTlsHandshake(serverBase, await client(paths.operators['cabinet-b.mssante.fr']));
    expect(result.authorized).toBe(true);
    expect(isSenderAuthorised(whitelist, 'cabinet-b.mssante.fr', result.peer!.subjectDn)).toBe('ok');
  });

  it('refuses the impostor from an unrelated root even though its DN is whitelisted', async () => {
    const result = await mutualTlsHandshake(serverBase, await client(paths.untrusted.client));
    expect(result.authorized).toBe(false);
    expect(result.peer?.authorized).toBe(false);
    expect(result.peer?.authorizationError).toMatch(/UNABLE_TO_(VERIFY_LEAF_SIGNATURE|GET_ISSUER_CERT)/);
    // The DN alone would pass: the chain verdict is what must be checked first.
    expect(isSenderAuthorised(whitelist, 'hopital-a.mssante.fr', result.peer!.subjectDn)).toBe('ok');
  });

  it('refuses the expired certificate', async () => {
    const result = await mutualTlsHandshake(serverBase, await client(paths.expired));
    expect(result.authorized).toBe(false);
    expect(result.authorizationError).toBe('CERT_HAS_EXPIRED');
    expect(result.peer?.validTo.getTime()).toBeLessThan(Date.now());
  });

  it('refuses the revoked certificate when the CRLs are given, and still accepts a good one', async () => {
    const withCrl = { ...serverBase, crl: trust.crl };
    const revoked = await mutualTlsHandshake(withCrl, await client(paths.revoked));
    expect(revoked.authorized).toBe(false);
    expect(revoked.authorizationError).toBe('CERT_REVOKED');
    const good = await mutualTlsHandshake(withCrl, await client(paths.operators['hopital-a.mssante.fr']));
    expect(good.authorized).toBe(true);
    // Without CRLs node:tls has no way to know: this is why the CRL must be configured.
    const noCrl = await mutualTlsHandshake(serverBase, await client(paths.revoked));
    expect(noCrl.authorized).toBe(true);
  });

  it('fails closed when a CRL is stale, and renewDevelopmentCrl restores service', async () => {
    await renewDevelopmentCrl(tmp.dir, new Date(Date.now() - 10 * 86_400_000));
    const stale = await loadTrustMaterial({ caFile: paths.ca, crlFiles: [paths.crl] });
    const refused = await mutualTlsHandshake({ ...serverBase, crl: stale.crl }, await client(paths.operators['hopital-a.mssante.fr']));
    expect(refused.authorized).toBe(false);
    expect(refused.authorizationError).toBe('CRL_HAS_EXPIRED');

    await renewDevelopmentCrl(tmp.dir);
    const fresh = await loadTrustMaterial({ caFile: paths.ca, crlFiles: [paths.crl] });
    const accepted = await mutualTlsHandshake({ ...serverBase, crl: fresh.crl }, await client(paths.operators['hopital-a.mssante.fr']));
    expect(accepted.authorized).toBe(true);
    const revoked = await mutualTlsHandshake({ ...serverBase, crl: fresh.crl }, await client(paths.revoked));
    expect(revoked.authorizationError).toBe('CERT_REVOKED');
  });

  it('describePeer returns null when the client sends no certificate', async () => {
    const result = await mutualTlsHandshake(serverBase, { ca: clientCa });
    expect(result.peer).toBeNull();
    expect(result.authorized).toBe(false);
  });

  it('loadTrustMaterial refuses leaves as anchors, empty files and non-CRL files', async () => {
    await expect(loadTrustMaterial({ caFile: paths.operators['hopital-a.mssante.fr'].cert })).rejects.toThrow(/is not a CA/);
    const empty = path.join(tmp.dir, 'empty.pem');
    await writeFile(empty, 'nothing here\n');
    await expect(loadTrustMaterial({ caFile: empty })).rejects.toThrow(TrustMaterialError);
    await expect(loadTrustMaterial({ caFile: paths.ca, crlFiles: [paths.ca] })).rejects.toThrow(/no PEM CRL/);
    const broken = path.join(tmp.dir, 'broken.pem');
    await writeFile(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    await expect(loadTrustMaterial({ caFile: broken })).rejects.toThrow(/does not parse/);
    const noCrl = await loadTrustMaterial({ caFile: paths.ca });
    expect(noCrl.crl).toBeUndefined();
  });
});
