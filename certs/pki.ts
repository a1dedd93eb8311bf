/**
 * A development PKI shaped like IGC-Santé (two-level chain "TEST AC RACINE IGC-SANTE ELEMENTAIRE" →
 * "TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS"), the gateway's certificate, two operator certificates, an
 * impersonation attempt from an unrelated root, expired and revoked fixtures, a CRL and a matching whitelist.
 *
 * Guarantees:
 * - node-forge only builds certificate structures; keys come from node:crypto (RSA-2048), the RSA signing is
 *   done by node:crypto (sha256WithRSAEncryption), and every check of the result is left to node:crypto /
 *   node:tls. It is loaded on the first certificate or CRL minted, never by importing this module, so a
 *   process that mints nothing (production) never loads it.
 * - Every file is written atomically (temporary file + rename) with mode 0600 for keys and 0644 for the rest;
 *   `ca.crt` is written last, so its presence means the folder is complete. A folder without `ca.crt` is
 *   regenerated entirely; with `ca.crt` and no `force`, nothing is touched.
 * - Concurrent initialisations of one folder are serialised by a lock directory, so two processes starting at
 *   once never mix the keys of one run with the certificates of the other.
 * - The CRL bundle holds one CRL per CA (issuing CA: lists the revoked fixture; root: empty), because node:tls
 *   turns on CRL checking for the whole chain as soon as any CRL is given. It expires after 7 days;
 *   `renewDevelopmentCrl` re-signs it.
 *
 * Failure semantics: file-system errors propagate unchanged (partial output never includes `ca.crt`);
 * invalid PEM input to `issueCertificate`/`createCrl` throws from the PEM decoder; a lock left by a crashed
 * process is taken over after 60 s.
 */
import { randomBytes, generateKeyPair, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type Forge from 'node-forge';
import { escapeDnValue } from './dn.js';
import { buildWhitelistXml } from './whitelist.js';

// node-forge is loaded on first use, when a certificate or a CRL is minted (the development PKI, tests), never at
// import: a production process, which only loads trust material (certs/trust.ts, node:crypto), never runs it
// (tests/app/build.test.ts checks the compiled gateway's module list).
const requireCjs = createRequire(import.meta.url);
let forgeModule: typeof Forge | undefined;
const forge = (): typeof Forge => (forgeModule ??= requireCjs('node-forge') as typeof Forge);
// ASN.1 universal tags of the DN string types (X.680), so that naming a subject needs no node-forge.
const TAG_UTF8_STRING = 12;
const TAG_PRINTABLE_STRING = 19;

export type CertificateUsage = 'serverAuth' | 'clientAuth';

export interface CertificateSubject {
  CN: string;
  /** One or more OUs, in RFC 4514 order (most specific first). */
  OU?: string | string[];
  O: string;
  ST?: string;
  L?: string;
  C: string;
}

export interface IssueCertificateOptions {
  issuerCertPem: string;
  issuerKeyPem: string;
  subject: CertificateSubject;
  /** DNS names and IP addresses; defaults to the CN. */
  sans?: string[];
  /** Defaults to both, as MSSanté servers act as SMTP client and server. */
  usages?: CertificateUsage[];
  notBefore?: Date;
  notAfter?: Date;
  /** Hex; defaults to 16 random bytes, positive. */
  serial?: string;
}

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
}

export interface CertKeyPaths {
  /** Leaf followed by the issuing CA, usable as `cert` for node:tls. */
  cert: string;
  key: string;
}

export interface PkiPaths {
  dir: string;
  /** Trust anchors: root then issuing CA. */
  ca: string;
  root: string;
  rootKey: string;
  issuingCa: string;
  issuingCaKey: string;
  server: CertKeyPaths;
  operators: { 'hopital-a.mssante.fr': CertKeyPaths; 'cabinet-b.mssante.fr': CertKeyPaths };
  untrusted: { ca: string; client: CertKeyPaths };
  expired: CertKeyPaths;
  revoked: CertKeyPaths;
  /** PEM bundle: issuing-CA CRL (lists `revoked`) then root CRL (empty). */
  crl: string;
  whitelist: string;
}

export interface InitPkiOptions {
  force?: boolean;
  gatewayHostname?: string;
  /** Called each time the lock is found held by another process, before waiting again (tests observe the wait). */
  onLockBusy?: () => void;
}

export const DEFAULT_GATEWAY_HOSTNAME = 'mx.patient.mssante.fr';

export const ROOT_SUBJECT: CertificateSubject = {
  CN: 'TEST AC RACINE IGC-SANTE ELEMENTAIRE',
  OU: ['IGC-SANTE TEST', '0002 187512751'],
  O: 'ASIP-SANTE',
  C: 'FR',
};

export const ISSUING_CA_SUBJECT: CertificateSubject = {
  CN: 'TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS',
  OU: ['IGC-SANTE TEST', '0002 187512751'],
  O: 'ASIP-SANTE',
  C: 'FR',
};

export const UNTRUSTED_ROOT_SUBJECT: CertificateSubject = { CN: 'AC NON IGC-SANTE', O: 'UNTRUSTED TEST', C: 'FR' };

export function gatewaySubject(hostname: string = DEFAULT_GATEWAY_HOSTNAME): CertificateSubject {
  return { CN: hostname, OU: '300000000099622', O: 'GIP - TEST9962 MES GATEWAY', ST: 'Paris (75)', C: 'FR' };
}

// Fictional structure ids with the real prefixes: '3' + SIRET (15 chars), '1' + FINESS (10 chars).
export const OPERATOR_SUBJECTS = {
  'hopital-a.mssante.fr': {
    CN: 'smtp.hopital-a.mssante.fr',
    OU: '399999999900011',
    O: 'HOPITAL A TEST',
    ST: 'Paris (75)',
    C: 'FR',
  },
  // L= instead of ST=, as some real whitelist entries have.
  'cabinet-b.mssante.fr': {
    CN: 'smtp.cabinet-b.mssante.fr',
    OU: '1999000001',
    O: 'CABINET B TEST',
    L: 'Lyon',
    C: 'FR',
  },
} as const satisfies Record<string, CertificateSubject>;

/** RFC 4514 string of a subject, in the case written (most specific first). */
export function subjectToDn(subject: CertificateSubject): string {
  return subjectAttributes(subject)
    .reverse()
    .map((a) => `${a.shortName}=${escapeDnValue(a.value)}`)
    .join(',');
}

interface ForgeAttr {
  shortName: string;
  value: string;
  valueTagClass: number;
}

// Certificate (DER) order, root-most first: C, ST, L, O, OU..., CN.
function subjectAttributes(subject: CertificateSubject): ForgeAttr[] {
  const utf8 = (shortName: string, value: string): ForgeAttr => ({ shortName, value, valueTagClass: TAG_UTF8_STRING });
  const attrs: ForgeAttr[] = [{ shortName: 'C', value: subject.C, valueTagClass: TAG_PRINTABLE_STRING }];
  if (subject.ST !== undefined) attrs.push(utf8('ST', subject.ST));
  if (subject.L !== undefined) attrs.push(utf8('L', subject.L));
  attrs.push(utf8('O', subject.O));
  const ous = subject.OU === undefined ? [] : Array.isArray(subject.OU) ? subject.OU : [subject.OU];
  for (const ou of [...ous].reverse()) attrs.push(utf8('OU', ou));
  attrs.push(utf8('CN', subject.CN));
  return attrs;
}

interface KeyPairPem {
  publicKeyPem: string;
  privateKeyPem: string;
}

const RSA_OPTIONS = {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
} as const;

function newKeyPairSync(): KeyPairPem {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', RSA_OPTIONS);
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

const generateKeyPairAsync = promisify(generateKeyPair);

// Runs on the libuv pool, so the keys of a whole PKI are generated in parallel.
async function newKeyPair(): Promise<KeyPairPem> {
  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', RSA_OPTIONS);
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

/** 16 random bytes with the top bit cleared (positive) and the next one set (minimal DER, exactly 16 bytes). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}

const DAY = 24 * 60 * 60 * 1000;

function addYears(date: Date, years: number): Date {
  const d = new Date(date);
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d;
}

const pemLf = (pem: string): string => pem.replace(/\r\n/g, '\n');

function issuerKeyIdentifier(issuer: Forge.pki.Certificate): string {
  const ext = issuer.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  return ext?.subjectKeyIdentifier ? forge().util.hexToBytes(ext.subjectKeyIdentifier) : issuer.generateSubjectKeyIdentifier().getBytes();
}

// Exported by node-forge at run time but missing from @types/node-forge.
interface ForgeTbs {
  getTBSCertificate(cert: Forge.pki.Certificate): Forge.asn1.Asn1;
}

interface BuildOptions {
  subject: CertificateSubject;
  publicKeyPem: string;
  /** Absent: self-signed with `signingKeyPem`. */
  issuerCertPem?: string;
  signingKeyPem: string;
  ca?: { pathLen?: number };
  usages?: CertificateUsage[];
  sans?: string[];
  notBefore: Date;
  notAfter: Date;
  serial?: string;
}

function buildCertificate(opts: BuildOptions): string {
  const cert = forge().pki.createCertificate();
  cert.publicKey = forge().pki.publicKeyFromPem(opts.publicKeyPem);
  cert.serialNumber = opts.serial ?? randomSerial();
  cert.validity.notBefore = opts.notBefore;
  cert.validity.notAfter = opts.notAfter;
  cert.setSubject(subjectAttributes(opts.subject));
  const issuer = opts.issuerCertPem ? forge().pki.certificateFromPem(opts.issuerCertPem) : undefined;
  cert.setIssuer(issuer ? issuer.subject.attributes : subjectAttributes(opts.subject));

  const extensions: object[] = [];
  if (opts.ca) {
    extensions.push(
      {
        name: 'basicConstraints',
        cA: true,
        critical: true,
        ...(opts.ca.pathLen === undefined ? {} : { pathLenConstraint: opts.ca.pathLen }),
      },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    );
  } else {
    const usages = opts.usages ?? ['serverAuth', 'clientAuth'];
    const sans = opts.sans ?? [opts.subject.CN];
    extensions.push(
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    );
    if (usages.length > 0) {
      extensions.push({
        name: 'extKeyUsage',
        serverAuth: usages.includes('serverAuth'),
        clientAuth: usages.includes('clientAuth'),
      });
    }
    if (sans.length > 0) {
      extensions.push({
        name: 'subjectAltName',
        altNames: sans.map((san) => (isIP(san) ? { type: 7, ip: san } : { type: 2, value: san })),
      });
    }
  }
  extensions.push({ name: 'subjectKeyIdentifier' });
  // forge's `keyIdentifier: true` would use the subject's own key, which is wrong for anything not self-signed.
  extensions.push({ name: 'authorityKeyIdentifier', keyIdentifier: issuer ? issuerKeyIdentifier(issuer) : true });
  cert.setExtensions(extensions);
  // Same steps as forge's cert.sign(), but the RSA operation runs in node:crypto: forge's pure-JS signature
  // costs ~70 ms per certificate.
  cert.siginfo.algorithmOid = forge().pki.oids.sha256WithRSAEncryption!;
  cert.signatureOid = forge().pki.oids.sha256WithRSAEncryption!;
  cert.tbsCertificate = (forge().pki as unknown as ForgeTbs).getTBSCertificate(cert);
  const tbsDer = Buffer.from(forge().asn1.toDer(cert.tbsCertificate).getBytes(), 'binary');
  cert.signature = cryptoSign('sha256', tbsDer, opts.signingKeyPem).toString('binary');
  return pemLf(forge().pki.certificateToPem(cert));
}

function leafValidity(now = new Date()): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(now.getTime() - DAY);
  return { notBefore, notAfter: addYears(notBefore, 3) };
}

function caValidity(now = new Date()): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(now.getTime() - DAY);
  return { notBefore, notAfter: addYears(notBefore, 10) };
}

function issueWithKey(opts: IssueCertificateOptions, keyPair: KeyPairPem): IssuedCertificate {
  const defaults = leafValidity();
  const certPem = buildCertificate({
    subject: opts.subject,
    publicKeyPem: keyPair.publicKeyPem,
    issuerCertPem: opts.issuerCertPem,
    signingKeyPem: opts.issuerKeyPem,
    usages: opts.usages,
    sans: opts.sans,
    notBefore: opts.notBefore ?? defaults.notBefore,
    notAfter: opts.notAfter ?? defaults.notAfter,
    serial: opts.serial,
  });
  return { certPem, keyPem: keyPair.privateKeyPem };
}

/** Issues a leaf certificate (new RSA-2048 key) signed by the given CA. Returns the leaf alone, not a chain. */
export function issueCertificate(opts: IssueCertificateOptions): IssuedCertificate {
  return issueWithKey(opts, newKeyPairSync());
}

export interface RevokedEntry {
  /** Hex serial, as in `X509Certificate.serialNumber`. */
  serial: string;
  revokedAt?: Date;
  /** RFC 5280 CRLReason code (1 = keyCompromise). */
  reason?: number;
}

export interface CreateCrlOptions {
  issuerCertPem: string;
  issuerKeyPem: string;
  revoked?: RevokedEntry[];
  thisUpdate?: Date;
  /** Defaults to thisUpdate + 7 days. */
  nextUpdate?: Date;
  crlNumber?: number;
}

const OID_SHA256_RSA = '1.2.840.113549.1.1.11';
const OID_AKI = '2.5.29.35';
const OID_CRL_NUMBER = '2.5.29.20';
const OID_CRL_REASON = '2.5.29.21';

const universal = (type: number, value: string): Forge.asn1.Asn1 => forge().asn1.create(forge().asn1.Class.UNIVERSAL, type, false, value);
const seq = (value: Forge.asn1.Asn1[]): Forge.asn1.Asn1 => forge().asn1.create(forge().asn1.Class.UNIVERSAL, forge().asn1.Type.SEQUENCE, true, value);
const oid = (id: string): Forge.asn1.Asn1 => universal(forge().asn1.Type.OID, forge().asn1.oidToDer(id).getBytes());
const der = (node: Forge.asn1.Asn1): string => forge().asn1.toDer(node).getBytes();

// RFC 5280 §4.1.2.5: UTCTime up to 2049, GeneralizedTime from 2050.
function time(date: Date): Forge.asn1.Asn1 {
  return date.getUTCFullYear() < 2050
    ? universal(forge().asn1.Type.UTCTIME, forge().asn1.dateToUtcTime(date))
    : universal(forge().asn1.Type.GENERALIZEDTIME, forge().asn1.dateToGeneralizedTime(date));
}

function integerFromHex(hex: string): Forge.asn1.Asn1 {
  let clean = hex.replace(/[^0-9a-f]/gi, '').replace(/^0+(?=[0-9a-f])/i, '');
  if (clean.length % 2) clean = `0${clean}`;
  let bytes = forge().util.hexToBytes(clean);
  if (bytes.charCodeAt(0) & 0x80) bytes = `\x00${bytes}`;
  return universal(forge().asn1.Type.INTEGER, bytes);
}

function extension(id: string, value: Forge.asn1.Asn1): Forge.asn1.Asn1 {
  return seq([oid(id), universal(forge().asn1.Type.OCTETSTRING, der(value))]);
}

// The issuer Name is copied byte for byte from the CA certificate, so that CRL lookup by issuer cannot be
// thrown off by a re-encoding (string type, attribute order).
function subjectNameAsn1(certPem: string): Forge.asn1.Asn1 {
  const certAsn1 = forge().asn1.fromDer(forge().pem.decode(certPem)[0]!.body);
  const tbs = (certAsn1.value as Forge.asn1.Asn1[])[0]!;
  const fields = tbs.value as Forge.asn1.Asn1[];
  const hasVersion = fields[0]!.tagClass === forge().asn1.Class.CONTEXT_SPECIFIC;
  return fields[(hasVersion ? 1 : 0) + 4]!;
}

/** Builds and signs an X.509 v2 CRL (node-forge has no CRL builder). Returns PEM ("X509 CRL"). */
export function createCrl(opts: CreateCrlOptions): string {
  const thisUpdate = opts.thisUpdate ?? new Date();
  const nextUpdate = opts.nextUpdate ?? new Date(thisUpdate.getTime() + 7 * DAY);
  const algorithm = seq([oid(OID_SHA256_RSA), universal(forge().asn1.Type.NULL, '')]);
  const issuer = forge().pki.certificateFromPem(opts.issuerCertPem);

  const tbsFields: Forge.asn1.Asn1[] = [
    universal(forge().asn1.Type.INTEGER, forge().asn1.integerToDer(1).getBytes()), // v2
    algorithm,
    subjectNameAsn1(opts.issuerCertPem),
    time(thisUpdate),
    time(nextUpdate),
  ];
  const revoked = opts.revoked ?? [];
  // RFC 5280 §5.1.2.6: the field is absent, not empty, when nothing is revoked.
  if (revoked.length > 0) {
    tbsFields.push(
      seq(
        revoked.map((entry) => {
          const fields = [integerFromHex(entry.serial), time(entry.revokedAt ?? thisUpdate)];
          if (entry.reason !== undefined) {
            const reason = universal(forge().asn1.Type.ENUMERATED, String.fromCharCode(entry.reason));
            fields.push(seq([extension(OID_CRL_REASON, reason)]));
          }
          return seq(fields);
        }),
      ),
    );
  }
  const aki = seq([forge().asn1.create(forge().asn1.Class.CONTEXT_SPECIFIC, 0, false, issuerKeyIdentifier(issuer))]);
  const crlNumber = universal(
    forge().asn1.Type.INTEGER,
    forge()
      .asn1.integerToDer(opts.crlNumber ?? 1)
      .getBytes(),
  );
  const crlExtensions = seq([extension(OID_AKI, aki), extension(OID_CRL_NUMBER, crlNumber)]);
  tbsFields.push(forge().asn1.create(forge().asn1.Class.CONTEXT_SPECIFIC, 0, true, [crlExtensions]));

  const tbsDer = der(seq(tbsFields));
  const signature = cryptoSign('sha256', Buffer.from(tbsDer, 'binary'), opts.issuerKeyPem).toString('binary');
  const crl = seq([forge().asn1.fromDer(tbsDer), algorithm, universal(forge().asn1.Type.BITSTRING, `\x00${signature}`)]);
  return pemLf(forge().pem.encode({ type: 'X509 CRL', body: der(crl) }));
}

export function pkiPaths(dir: string): PkiPaths {
  const p = (...parts: string[]): string => path.join(dir, ...parts);
  const pair = (...parts: string[]): CertKeyPaths => ({ cert: p(...parts) + '.crt', key: p(...parts) + '.key' });
  return {
    dir,
    ca: p('ca.crt'),
    root: p('root.crt'),
    rootKey: p('root.key'),
    issuingCa: p('issuing-ca.crt'),
    issuingCaKey: p('issuing-ca.key'),
    server: pair('server'),
    operators: {
      'hopital-a.mssante.fr': pair('operators', 'hopital-a.mssante.fr'),
      'cabinet-b.mssante.fr': pair('operators', 'cabinet-b.mssante.fr'),
    },
    untrusted: { ca: p('untrusted', 'ca.crt'), client: pair('untrusted', 'client') },
    expired: pair('extra', 'expired'),
    revoked: pair('extra', 'revoked'),
    crl: p('crl.pem'),
    whitelist: p('whitelist.xml'),
  };
}

/** Writes `file` through a temporary name and a rename, with exactly `mode` whatever the umask. */
export async function writeAtomic(file: string, data: string, mode: number): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    await writeFile(tmp, data, { mode, flag: 'wx' });
    // The creation mode is filtered by the umask; keys must end up 0600 whatever it is.
    await chmod(tmp, mode);
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

const LOCK_STALE_MS = 60_000;

async function withLock<T>(dir: string, fn: () => Promise<T>, onBusy?: () => void): Promise<T> {
  const lock = path.join(dir, '.init.lock');
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const info = await stat(lock).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > LOCK_STALE_MS) {
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      onBusy?.();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

interface CrlMaterial {
  rootCertPem: string;
  rootKeyPem: string;
  issuingCertPem: string;
  issuingKeyPem: string;
  /** The revoked fixture (a chain file is fine: its first certificate is the leaf). */
  revokedCertPem: string;
}

function crlBundle(material: CrlMaterial, now: Date): string {
  const revokedSerial = forge().pki.certificateFromPem(material.revokedCertPem).serialNumber;
  const issuingCrl = createCrl({
    issuerCertPem: material.issuingCertPem,
    issuerKeyPem: material.issuingKeyPem,
    revoked: [{ serial: revokedSerial, revokedAt: new Date(now.getTime() - 60_000), reason: 1 }],
    thisUpdate: new Date(now.getTime() - 60_000),
    crlNumber: Math.floor(now.getTime() / 1000),
  });
  const rootCrl = createCrl({
    issuerCertPem: material.rootCertPem,
    issuerKeyPem: material.rootKeyPem,
    thisUpdate: new Date(now.getTime() - 60_000),
    crlNumber: Math.floor(now.getTime() / 1000),
  });
  return issuingCrl + rootCrl;
}

/**
 * Creates the development PKI under `dir` (see the file header). Returns the paths whether it generated
 * anything or found a complete folder.
 */
export async function initDevelopmentPki(dir: string, opts: InitPkiOptions = {}): Promise<PkiPaths> {
  const paths = pkiPaths(dir);
  if (!opts.force && existsSync(paths.ca)) return paths;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return withLock(
    dir,
    async () => {
      // Another process may have finished while we waited for the lock.
      if (!opts.force && existsSync(paths.ca)) return paths;
      for (const sub of ['operators', 'untrusted', 'extra']) {
        await mkdir(path.join(dir, sub), { recursive: true, mode: 0o700 });
      }

      const hostname = opts.gatewayHostname ?? DEFAULT_GATEWAY_HOSTNAME;
      const keyNames = ['root', 'issuing', 'server', 'hopital', 'cabinet', 'untrustedRoot', 'impostor', 'expired', 'revoked'] as const;
      const generated = await Promise.all(keyNames.map(() => newKeyPair()));
      type KeyName = (typeof keyNames)[number];
      const key = (name: KeyName): KeyPairPem => generated[keyNames.indexOf(name)]!;
      const now = new Date();

      const rootCertPem = buildCertificate({
        subject: ROOT_SUBJECT,
        publicKeyPem: key('root').publicKeyPem,
        signingKeyPem: key('root').privateKeyPem,
        ca: {},
        ...caValidity(now),
      });
      const issuingCertPem = buildCertificate({
        subject: ISSUING_CA_SUBJECT,
        publicKeyPem: key('issuing').publicKeyPem,
        issuerCertPem: rootCertPem,
        signingKeyPem: key('root').privateKeyPem,
        ca: { pathLen: 0 },
        ...caValidity(now),
      });
      const untrustedRootPem = buildCertificate({
        subject: UNTRUSTED_ROOT_SUBJECT,
        publicKeyPem: key('untrustedRoot').publicKeyPem,
        signingKeyPem: key('untrustedRoot').privateKeyPem,
        ca: {},
        ...caValidity(now),
      });

      const trusted = { issuerCertPem: issuingCertPem, issuerKeyPem: key('issuing').privateKeyPem };
      const chain = (leaf: IssuedCertificate): string => leaf.certPem + issuingCertPem;
      const operatorLeaf = (subject: CertificateSubject, keyName: KeyName, extra: Partial<IssueCertificateOptions> = {}) =>
        issueWithKey({ ...trusted, subject, sans: [subject.CN, 'localhost', '127.0.0.1'], ...extra }, key(keyName));

      const gwSubject = gatewaySubject(hostname);
      const hopitalSubject = OPERATOR_SUBJECTS['hopital-a.mssante.fr'];
      const cabinetSubject = OPERATOR_SUBJECTS['cabinet-b.mssante.fr'];
      const server = operatorLeaf(gwSubject, 'server', { sans: [hostname, 'localhost', '127.0.0.1', '::1'] });
      const hopital = operatorLeaf(hopitalSubject, 'hopital');
      const cabinet = operatorLeaf(cabinetSubject, 'cabinet');
      // The negative fixtures all carry hopital-a's whitelisted subject, so that each one fails for one reason only.
      const impostor = operatorLeaf(hopitalSubject, 'impostor', {
        issuerCertPem: untrustedRootPem,
        issuerKeyPem: key('untrustedRoot').privateKeyPem,
      });
      const expired = operatorLeaf(hopitalSubject, 'expired', {
        notBefore: new Date(now.getTime() - 400 * DAY),
        notAfter: new Date(now.getTime() - 30 * DAY),
      });
      const revoked = operatorLeaf(hopitalSubject, 'revoked');

      const crl = crlBundle(
        {
          rootCertPem,
          rootKeyPem: key('root').privateKeyPem,
          issuingCertPem,
          issuingKeyPem: key('issuing').privateKeyPem,
          revokedCertPem: revoked.certPem,
        },
        now,
      );

      const whitelist = buildWhitelistXml(
        [
          { domain: 'hopital-a.mssante.fr', dn: subjectToDn(hopitalSubject), description: 'Hôpital A (développement)' },
          { domain: 'cabinet-b.mssante.fr', dn: subjectToDn(cabinetSubject), description: 'Cabinet B (développement)' },
          {
            domain: 'patient.mssante.fr',
            dn: subjectToDn(gwSubject),
            description: 'Domaine de messagerie MSSanté Usagers (passerelle de développement)',
          },
        ],
        now,
      );

      const KEY = 0o600;
      const CERT = 0o644;
      const files: [string, string, number][] = [
        [paths.rootKey, key('root').privateKeyPem, KEY],
        [paths.root, rootCertPem, CERT],
        [paths.issuingCaKey, key('issuing').privateKeyPem, KEY],
        [paths.issuingCa, issuingCertPem, CERT],
        [paths.server.key, server.keyPem, KEY],
        [paths.server.cert, chain(server), CERT],
        [paths.operators['hopital-a.mssante.fr'].key, hopital.keyPem, KEY],
        [paths.operators['hopital-a.mssante.fr'].cert, chain(hopital), CERT],
        [paths.operators['cabinet-b.mssante.fr'].key, cabinet.keyPem, KEY],
        [paths.operators['cabinet-b.mssante.fr'].cert, chain(cabinet), CERT],
        [paths.untrusted.ca, untrustedRootPem, CERT],
        [paths.untrusted.client.key, impostor.keyPem, KEY],
        [paths.untrusted.client.cert, impostor.certPem, CERT],
        [paths.expired.key, expired.keyPem, KEY],
        [paths.expired.cert, chain(expired), CERT],
        [paths.revoked.key, revoked.keyPem, KEY],
        [paths.revoked.cert, chain(revoked), CERT],
        [paths.crl, crl, CERT],
        [paths.whitelist, whitelist, CERT],
      ];
      // A forced regeneration must not leave the previous ca.crt pointing at keys that are being replaced.
      if (opts.force) await rm(paths.ca, { force: true });
      await Promise.all(files.map(([file, data, mode]) => writeAtomic(file, data, mode)));
      await writeAtomic(paths.ca, rootCertPem + issuingCertPem, CERT);
      return paths;
    },
    opts.onLockBusy,
  );
}

/** Re-signs `crl.pem` of a development PKI (its CRLs expire 7 days after issue). */
export async function renewDevelopmentCrl(dir: string, now: Date = new Date()): Promise<string> {
  const paths = pkiPaths(dir);
  const files = [paths.root, paths.rootKey, paths.issuingCa, paths.issuingCaKey, paths.revoked.cert];
  const [rootCertPem, rootKeyPem, issuingCertPem, issuingKeyPem, revokedCertPem] = await Promise.all(files.map((f) => readFile(f, 'utf8')));
  const crl = crlBundle(
    {
      rootCertPem: rootCertPem!,
      rootKeyPem: rootKeyPem!,
      issuingCertPem: issuingCertPem!,
      issuingKeyPem: issuingKeyPem!,
      revokedCertPem: revokedCertPem!,
    },
    now,
  );
  await writeAtomic(paths.crl, crl, 0o644);
  return paths.crl;
}
