import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dnFromX509,
  initDevelopmentPki,
  issueCertificate,
  loadWhitelistFile,
  normalizeDn,
  splitPem,
  subjectToDn,
  type CertKeyPaths,
  type PkiPaths,
} from '../../certs/index.js';
import { issuedBy, keyMatches, makeTempDir, readCerts } from './helpers.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const DAY = 86_400_000;
const YEAR = 365.25 * DAY;

describe('initDevelopmentPki', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let paths: PkiPaths;
  let root: X509Certificate;
  let issuing: X509Certificate;

  beforeAll(async () => {
    tmp = await makeTempDir('certs-pki');
    paths = await initDevelopmentPki(tmp.dir);
    [root, issuing] = (await readCerts(paths.ca)) as [X509Certificate, X509Certificate];
  });
  afterAll(async () => tmp.cleanup());

  const leaves = (): [string, CertKeyPaths][] => [
    ['server', paths.server],
    ['hopital-a', paths.operators['hopital-a.mssante.fr']],
    ['cabinet-b', paths.operators['cabinet-b.mssante.fr']],
    ['expired', paths.expired],
    ['revoked', paths.revoked],
  ];

  it('writes keys 0600 and certificates 0644', async () => {
    const keys = [paths.rootKey, paths.issuingCaKey, paths.untrusted.client.key, ...leaves().map(([, p]) => p.key)];
    const certs = [
      paths.ca,
      paths.root,
      paths.issuingCa,
      paths.crl,
      paths.whitelist,
      paths.untrusted.ca,
      paths.untrusted.client.cert,
      ...leaves().map(([, p]) => p.cert),
    ];
    for (const file of keys) expect((await stat(file)).mode & 0o777, file).toBe(0o600);
    for (const file of certs) expect((await stat(file)).mode & 0o777, file).toBe(0o644);
  });

  it('ca.crt holds the root then the issuing CA, both CAs, with the IGC-Santé test names', async () => {
    expect(await readCerts(paths.ca)).toHaveLength(2);
    expect(root.ca && issuing.ca).toBe(true);
    expect(root.subject).toBe(root.issuer);
    expect(issuedBy(root, root)).toBe(true);
    expect(issuedBy(issuing, root)).toBe(true);
    expect(dnFromX509(root)).toBe(normalizeDn('CN=TEST AC RACINE IGC-SANTE ELEMENTAIRE,OU=IGC-SANTE TEST,OU=0002 187512751,O=ASIP-SANTE,C=FR'));
    expect(issuing.subject).toBe('C=FR\nO=ASIP-SANTE\nOU=0002 187512751\nOU=IGC-SANTE TEST\nCN=TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS');
    expect((await readCerts(paths.root))[0]!.fingerprint256).toBe(root.fingerprint256);
    expect((await readCerts(paths.issuingCa))[0]!.fingerprint256).toBe(issuing.fingerprint256);
    expect(issuing.checkPrivateKey(createPrivateKey(await readFile(paths.issuingCaKey)))).toBe(true);
    expect(root.checkPrivateKey(createPrivateKey(await readFile(paths.rootKey)))).toBe(true);
    for (const ca of [root, issuing]) {
      const years = (Date.parse(ca.validTo) - Date.parse(ca.validFrom)) / YEAR;
      expect(Math.round(years)).toBe(10);
      expect(Math.abs(Date.now() - DAY - Date.parse(ca.validFrom))).toBeLessThan(10 * 60_000);
    }
  });

  it('every leaf chains to the issuing CA, carries both EKUs, its key, and the CA in its chain file', async () => {
    for (const [name, pair] of leaves()) {
      const chain = await readCerts(pair.cert);
      expect(chain, name).toHaveLength(2);
      const leaf = chain[0]!;
      expect(chain[1]!.fingerprint256, name).toBe(issuing.fingerprint256);
      expect(issuedBy(leaf, issuing), name).toBe(true);
      expect(issuedBy(leaf, root), name).toBe(false);
      expect(leaf.ca, name).toBe(false);
      expect(leaf.keyUsage, name).toEqual(expect.arrayContaining([SERVER_AUTH, CLIENT_AUTH]));
      expect(await keyMatches(pair), name).toBe(true);
      expect(leaf.serialNumber, name).toMatch(/^[0-7][0-9A-F]{31}$/);
    }
  });

  it('the gateway certificate has the expected subject, SANs and 3-year validity', async () => {
    const [server] = await readCerts(paths.server.cert);
    expect(dnFromX509(server!)).toBe(normalizeDn('CN=mx.patient.mssante.fr,OU=300000000099622,O=GIP - TEST9962 MES GATEWAY,ST=Paris (75),C=FR'));
    expect(server!.checkHost('mx.patient.mssante.fr')).toBe('mx.patient.mssante.fr');
    expect(server!.checkHost('localhost')).toBe('localhost');
    expect(server!.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server!.checkIP('::1')).toBe('::1');
    expect(Math.round((Date.parse(server!.validTo) - Date.parse(server!.validFrom)) / YEAR)).toBe(3);
  });

  it('operator certificates follow the IGC-Santé subject pattern (cabinet-b with L=)', async () => {
    const [hopital] = await readCerts(paths.operators['hopital-a.mssante.fr'].cert);
    const [cabinet] = await readCerts(paths.operators['cabinet-b.mssante.fr'].cert);
    expect(dnFromX509(hopital!)).toMatch(/^CN=smtp\.hopital-a\.mssante\.fr,OU=3\d{14},O=hopital a test,ST=paris \(75\),C=fr$/);
    expect(dnFromX509(cabinet!)).toMatch(/^CN=smtp\.cabinet-b\.mssante\.fr,OU=1\d{9},O=cabinet b test,L=lyon,C=fr$/);
    expect(hopital!.checkHost('smtp.hopital-a.mssante.fr')).toBeDefined();
    expect(cabinet!.checkIP('127.0.0.1')).toBe('127.0.0.1');
  });

  it('the untrusted client impersonates hopital-a but does not chain to ca.crt', async () => {
    const [impostor] = await readCerts(paths.untrusted.client.cert);
    const [untrustedRoot] = await readCerts(paths.untrusted.ca);
    const [hopital] = await readCerts(paths.operators['hopital-a.mssante.fr'].cert);
    expect(dnFromX509(impostor!)).toBe(dnFromX509(hopital!));
    expect(issuedBy(impostor!, untrustedRoot!)).toBe(true);
    for (const anchor of [root, issuing]) {
      expect(impostor!.checkIssued(anchor)).toBe(false);
      expect(impostor!.verify(anchor.publicKey)).toBe(false);
    }
    expect(impostor!.keyUsage).toEqual(expect.arrayContaining([SERVER_AUTH, CLIENT_AUTH]));
    expect(await keyMatches(paths.untrusted.client)).toBe(true);
  });

  it('the expired fixture lies entirely in the past; the CRL bundle has one CRL per CA', async () => {
    const [expired] = await readCerts(paths.expired.cert);
    expect(Date.parse(expired!.validTo)).toBeLessThan(Date.now());
    expect(Date.parse(expired!.validFrom)).toBeLessThan(Date.parse(expired!.validTo));
    expect(splitPem(await readFile(paths.crl, 'utf8'), 'X509 CRL')).toHaveLength(2);
  });

  it('whitelist.xml lists the two operators and the gateway with their certificate DNs', async () => {
    const list = await loadWhitelistFile(paths.whitelist);
    const dn = async (file: string): Promise<string> => dnFromX509((await readCerts(file))[0]!);
    expect(list.byDomain).toEqual(
      new Map([
        ['hopital-a.mssante.fr', new Set([await dn(paths.operators['hopital-a.mssante.fr'].cert)])],
        ['cabinet-b.mssante.fr', new Set([await dn(paths.operators['cabinet-b.mssante.fr'].cert)])],
        ['patient.mssante.fr', new Set([await dn(paths.server.cert)])],
      ]),
    );
  });

  it('issues a leaf with the requested subject, usages, SANs, validity and serial', async () => {
    const issuerCertPem = await readFile(paths.issuingCa, 'utf8');
    const issuerKeyPem = await readFile(paths.issuingCaKey, 'utf8');
    const subject = { CN: 'smtp.client-only.example', OU: '1999000002', O: 'CLIENT, SEUL', L: 'Lille', C: 'FR' };
    const notBefore = new Date('2025-01-01T00:00:00Z');
    const notAfter = new Date('2026-01-01T00:00:00Z');
    const { certPem, keyPem } = issueCertificate({
      issuerCertPem,
      issuerKeyPem,
      subject,
      sans: ['smtp.client-only.example', '10.0.0.1'],
      usages: ['clientAuth'],
      notBefore,
      notAfter,
      serial: '0123456789abcdef',
    });
    const cert = new X509Certificate(certPem);
    expect(issuedBy(cert, new X509Certificate(issuerCertPem))).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    expect(cert.keyUsage).toEqual([CLIENT_AUTH]);
    expect(cert.subjectAltName).toBe('DNS:smtp.client-only.example, IP Address:10.0.0.1');
    expect(new Date(cert.validFrom).toISOString()).toBe(notBefore.toISOString());
    expect(new Date(cert.validTo).toISOString()).toBe(notAfter.toISOString());
    expect(cert.serialNumber).toBe('0123456789ABCDEF');
    expect(dnFromX509(cert)).toBe(normalizeDn(subjectToDn(subject)));
    expect(splitPem(certPem, 'CERTIFICATE')).toHaveLength(1);
  });

  it('is idempotent: a second call leaves ca.crt untouched', async () => {
    const before = await readFile(paths.ca, 'utf8');
    const mtime = (await stat(paths.ca)).mtimeMs;
    const again = await initDevelopmentPki(tmp.dir);
    expect(again).toEqual(paths);
    expect(await readFile(paths.ca, 'utf8')).toBe(before);
    expect((await stat(paths.ca)).mtimeMs).toBe(mtime);
  });
});
