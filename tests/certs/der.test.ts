// The DER reader behind describeCrl (certs/der.ts), checked against node-forge's ASN.1 codec (a test may load it;
// the serving path does not) and node:crypto: the same names, dates and OIDs for the structures they build, and
// refusals of what is not DER.
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { DER_TAG, DerError, derChildren, derNameText, derOid, derTime, readDer, readDerElement } from '../../certs/der.js';
import { createCrl, issueCertificate, ISSUING_CA_SUBJECT } from '../../certs/index.js';
import { describeCrl, TrustMaterialError } from '../../certs/trust.js';

const { asn1 } = forge;
const derOf = (node: forge.asn1.Asn1): Buffer => Buffer.from(asn1.toDer(node).getBytes(), 'binary');
const universal = (type: number, value: string | forge.asn1.Asn1[], constructed = false) => asn1.create(asn1.Class.UNIVERSAL, type, constructed, value);

/** A self-signed CA: an RSA key from node:crypto, the certificate built and signed by node-forge (made once). */
let caCache: { certPem: string; keyPem: string } | undefined;
function makeCa() {
  if (caCache) return caCache;
  const keyPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const privateKey = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(privateKey.n, privateKey.e);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date('2024-01-01T00:00:00Z');
  cert.validity.notAfter = new Date('2034-01-01T00:00:00Z');
  const attrs = [
    { shortName: 'C', value: 'FR' },
    { shortName: 'O', value: 'ASIP-SANTE' },
    { shortName: 'OU', value: 'IGC-SANTE TEST' },
    { shortName: 'CN', value: 'TEST AC RACINE IGC-SANTE ELEMENTAIRE' },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([{ name: 'basicConstraints', cA: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true }, { name: 'subjectKeyIdentifier' }]);
  cert.sign(privateKey, forge.md.sha256.create());
  caCache = { certPem: forge.pki.certificateToPem(cert), keyPem };
  return caCache;
}

describe('DER reader', () => {
  it('reads a CRL as node-forge does: issuer, thisUpdate, nextUpdate', () => {
    const ca = makeCa();
    const thisUpdate = new Date('2049-12-31T23:59:59Z'); // last UTCTime year
    const nextUpdate = new Date('2050-01-01T00:00:00Z'); // first GeneralizedTime year (RFC 5280)
    const pem = createCrl({ issuerCertPem: ca.certPem, issuerKeyPem: ca.keyPem, thisUpdate, nextUpdate, revoked: [{ serial: '0badc0de' }] });
    const info = describeCrl(pem);
    expect(info.thisUpdate.toISOString()).toBe(thisUpdate.toISOString());
    expect(info.nextUpdate?.toISOString()).toBe(nextUpdate.toISOString());
    const forgeNames = forge.pki.certificateFromPem(ca.certPem).subject.attributes.map((a) => `${a.shortName}=${String(a.value)}`);
    expect(info.issuer).toBe(forgeNames.reverse().join(','));
    expect(info.issuer).toBe('CN=TEST AC RACINE IGC-SANTE ELEMENTAIRE,OU=IGC-SANTE TEST,O=ASIP-SANTE,C=FR');
  });

  it('names the subjects certs/pki.ts issues (UTF8String, PrintableString, several OUs) as node:crypto reads them', () => {
    const ca = makeCa();
    const leaf = issueCertificate({
      issuerCertPem: ca.certPem,
      issuerKeyPem: ca.keyPem,
      subject: { ...ISSUING_CA_SUBJECT, CN: 'Établissement « test »', L: 'Île-de-France' },
    });
    const root = readDer(Buffer.from(forge.pem.decode(leaf.certPem)[0]!.body, 'binary'));
    const tbs = derChildren(derChildren(root)[0]!);
    const subject = tbs[5]!; // version, serial, signature, issuer, validity, subject
    // node:crypto (OpenSSL) as the reference: one attribute per line, root-most first.
    const expected = new X509Certificate(leaf.certPem).subject.split('\n').reverse().join(',');
    expect(derNameText(subject)).toBe(expected);
    expect(derNameText(subject)).toMatch(/^CN=Établissement « test »,OU=IGC-SANTE TEST,OU=0002 187512751,O=ASIP-SANTE,L=Île-de-France,C=FR$/);
    expect(derNameText(tbs[3]!)).toBe('CN=TEST AC RACINE IGC-SANTE ELEMENTAIRE,OU=IGC-SANTE TEST,O=ASIP-SANTE,C=FR');
  });

  it('decodes OIDs, including arcs of several bytes and the 2.x root', () => {
    for (const oid of ['2.5.4.3', '1.2.840.113549.1.1.11', '1.2.250.1.71.4.2.1', '2.999.3', '0.9.2342.19200300.100.1.25']) {
      const el = readDer(derOf(universal(asn1.Type.OID, asn1.oidToDer(oid).getBytes())));
      expect(derOid(el)).toBe(oid);
    }
  });

  it('reads UTCTime years 50–99 as 19xx and 00–49 as 20xx, and refuses unreadable times', () => {
    const time = (tag: number, text: string) => derTime(readDer(derOf(universal(tag, text))));
    expect(time(DER_TAG.UTC_TIME, '500101000000Z')?.toISOString()).toBe('1950-01-01T00:00:00.000Z');
    expect(time(DER_TAG.UTC_TIME, '491231235959Z')?.toISOString()).toBe('2049-12-31T23:59:59.000Z');
    expect(time(DER_TAG.GENERALIZED_TIME, '20500101000000Z')?.toISOString()).toBe('2050-01-01T00:00:00.000Z');
    expect(time(DER_TAG.INTEGER, '\x01')).toBeNull();
    expect(() => time(DER_TAG.UTC_TIME, '5001010000Z')).toThrow(DerError);
    expect(() => time(DER_TAG.UTC_TIME, '500101000000+0100')).toThrow(DerError);
  });

  it('refuses what is not DER: truncation, indefinite lengths, trailing octets, children overflowing', () => {
    const seq = derOf(universal(asn1.Type.SEQUENCE, [universal(asn1.Type.INTEGER, '\x05')], true));
    expect(derChildren(readDer(seq))).toHaveLength(1);
    expect(() => readDer(seq.subarray(0, seq.length - 1))).toThrow(/truncated/);
    expect(() => readDer(Buffer.concat([seq, Buffer.from([0])]))).toThrow(/trailing/);
    expect(() => readDer(Buffer.from([0x30, 0x80, 0x00, 0x00]))).toThrow(/indefinite/);
    expect(() => readDer(Buffer.from([0x30, 0x85, 1, 0, 0, 0, 0]))).toThrow(/too large/);
    expect(() => derChildren(readDer(Buffer.from([0x30, 0x03, 0x02, 0x05, 0x01])))).toThrow(/truncated/);
    expect(() => derChildren(readDerElement(Buffer.from([0x02, 0x01, 0x05])))).toThrow(/not constructed/);
    // describeCrl turns all of that into TrustMaterialError.
    const pem = (der: Buffer) => `-----BEGIN X509 CRL-----\n${der.toString('base64')}\n-----END X509 CRL-----\n`;
    expect(() => describeCrl(pem(Buffer.from([0x30, 0x80, 0x00, 0x00])))).toThrow(TrustMaterialError);
    expect(() => describeCrl(pem(seq))).toThrow(TrustMaterialError);
  });

  it('reads long-form lengths (a CRL of many entries)', () => {
    const ca = makeCa();
    const revoked = Array.from({ length: 400 }, (_, i) => ({ serial: (i + 1).toString(16).padStart(8, '0') }));
    const pem = createCrl({
      issuerCertPem: ca.certPem,
      issuerKeyPem: ca.keyPem,
      thisUpdate: new Date('2026-01-01T00:00:00Z'),
      nextUpdate: new Date('2026-01-08T00:00:00Z'),
      revoked,
    });
    const info = describeCrl(pem);
    expect(info.thisUpdate.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(info.issuer).toMatch(/^CN=TEST AC RACINE/);
  });
});
