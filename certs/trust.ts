/**
 * Peer-verification material for node:tls, and a summary of what a peer presented.
 *
 * Guarantees:
 * - Verification itself is left entirely to node:tls (chain, validity, CRLs) and node:crypto; this file only
 *   loads and describes. `ca` and `crl` are split into one PEM block per entry, the form node:tls expects
 *   (it reads a single CRL per entry).
 * - Every trust anchor is parsed by node:crypto and must be a CA certificate: a leaf dropped into the CA file
 *   is refused rather than silently trusted.
 * - When CRLs are given, node:tls checks revocation for every certificate of the chain, so each CA below a
 *   root needs a current CRL from its issuer; a missing or expired CRL makes every peer fail verification
 *   (fail closed), it never disables the check.
 * - `checkTrustUsable` builds a throw-away secure context, so material node:tls would refuse is found before it
 *   replaces the material in force (the CRL reloader, certs/revocation.ts, relies on it); `describeCrl` only
 *   reads a CRL's issuer and dates (for the expiry alert), it never decides anything about a peer.
 *
 * Failure semantics: `loadTrustMaterial` throws `TrustMaterialError` when a file holds no certificate/CRL,
 * a certificate does not parse or is not a CA, a CRL block is not DER, or node:tls refuses the whole (a CRL
 * that is DER but not a CRL); file-system errors propagate. `describeCrl` throws `TrustMaterialError` on
 * anything that is not a CRL.
 * `describePeer` never throws on what the peer sent: it returns null without a certificate and an empty
 * `subjectDn`/`issuerDn` when a name cannot be parsed, which matches no whitelist entry.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import tls, { type TLSSocket } from 'node:tls';
import { DER_TAG, derChildren, derNameText, derTime, isUniversal, readDer, type DerElement } from './der.js';
import { dnFromX509, issuerDnFromX509 } from './dn.js';

export class TrustMaterialError extends Error {
  override readonly name = 'TrustMaterialError';
}

export interface TrustMaterial {
  /** One PEM certificate per entry, for the `ca` option of node:tls. */
  ca: string[];
  /** One PEM CRL per entry, for the `crl` option; undefined when no CRL file was given. */
  crl: string[] | undefined;
  anchors: X509Certificate[];
}

export interface PeerCertificate {
  authorized: boolean;
  authorizationError?: string;
  /** Canonical (normalizeDn) subject; empty when unparseable. */
  subjectDn: string;
  /** Canonical issuer; empty when unparseable. */
  issuerDn: string;
  fingerprint256: string;
  validFrom: Date;
  validTo: Date;
  /** Upper-case hex, as printed by node:crypto. */
  serialNumber: string;
}

/** Extracts the PEM blocks of one type (`CERTIFICATE`, `X509 CRL`), ignoring text around them. */
export function splitPem(text: string, type: string): string[] {
  const escaped = type.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`-----BEGIN ${escaped}-----\\r?\\n[\\s\\S]*?-----END ${escaped}-----`, 'g');
  return (text.match(re) ?? []).map((block) => `${block.replace(/\r\n/g, '\n')}\n`);
}

function derOfPem(block: string): Buffer {
  const body = block.replace(/-----(BEGIN|END) [^-]+-----/g, '').replace(/\s+/g, '');
  return Buffer.from(body, 'base64');
}

const pemOfDer = (der: Buffer): string =>
  `-----BEGIN X509 CRL-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END X509 CRL-----\n`;

/**
 * Reads CRL files into one PEM block per entry, the form node:tls takes. A file is PEM (one or more CRLs) or a
 * single DER CRL, the form CAs publish at their distribution points (IGC-Santé's `.crl` files).
 */
export async function loadCrlFiles(files: string[]): Promise<string[]> {
  const crl: string[] = [];
  for (const file of files) {
    const bytes = await readFile(file);
    let blocks = splitPem(bytes.toString('latin1'), 'X509 CRL');
    if (blocks.length === 0 && bytes[0] === 0x30) blocks = [pemOfDer(bytes)];
    if (blocks.length === 0) throw new TrustMaterialError(`${file}: no PEM CRL found (nor a DER one)`);
    blocks.forEach((block, index) => {
      const bytes = derOfPem(block);
      // node:crypto has no CRL parser; checking the outer SEQUENCE catches truncated or non-DER blocks early,
      // node:tls reports anything subtler when the secure context is created (checkTrustUsable).
      if (bytes.length < 16 || bytes[0] !== 0x30) {
        throw new TrustMaterialError(`${file}: CRL #${index + 1} is not DER`);
      }
    });
    crl.push(...blocks);
  }
  return crl;
}

/**
 * Builds a throw-away node:tls secure context from the material, so that anything OpenSSL would refuse (a CRL
 * that is DER but not a CertificateList, a broken certificate) is found before the material replaces the one
 * in force. Throws `TrustMaterialError`.
 */
export function checkTrustUsable(material: { ca: string[]; crl?: string[] }): void {
  try {
    tls.createSecureContext({ ca: material.ca, ...(material.crl ? { crl: material.crl } : {}) });
  } catch (err) {
    throw new TrustMaterialError(`trust material refused by node:tls: ${(err as Error).message}`);
  }
}

export interface CrlInfo {
  /** Issuer as `CN=…,O=…` (most specific first), for messages only; empty when unreadable. */
  issuer: string;
  thisUpdate: Date;
  /** Absent in the CRL: no announced expiry. */
  nextUpdate: Date | null;
}

/**
 * Reads issuer, thisUpdate and nextUpdate of one PEM CRL (RFC 5280 §5.1: TBSCertList = version?, signature,
 * issuer, thisUpdate, nextUpdate?, ...). Reading only, with the DER reader of certs/der.ts (no ASN.1 library on
 * the serving path): the signature is checked by node:tls when the CRL is used. Throws `TrustMaterialError`
 * when the structure is not a CRL.
 */
export function describeCrl(pem: string): CrlInfo {
  let tbs: DerElement[];
  try {
    const root = readDer(derOfPem(pem));
    const first = derChildren(root)[0];
    if (!isUniversal(first, DER_TAG.SEQUENCE)) throw new Error('no TBSCertList');
    tbs = derChildren(first);
  } catch (err) {
    throw new TrustMaterialError(`not a CRL: ${(err as Error).message}`);
  }
  let i = isUniversal(tbs[0], DER_TAG.INTEGER) ? 1 : 0;
  i += 1; // signature AlgorithmIdentifier
  const issuerNode = tbs[i++];
  const time = (el: DerElement | undefined): Date | null => {
    try {
      return derTime(el);
    } catch (err) {
      throw new TrustMaterialError(`not a CRL: ${(err as Error).message}`);
    }
  };
  const thisUpdate = time(tbs[i++]);
  if (!thisUpdate) throw new TrustMaterialError('not a CRL: no thisUpdate');
  const nextUpdate = time(tbs[i]);
  let issuer = '';
  try {
    if (issuerNode) issuer = derNameText(issuerNode);
  } catch {
    /* messages only */
  }
  return { issuer, thisUpdate, nextUpdate };
}

export async function loadTrustMaterial(opts: { caFile: string; crlFiles?: string[] }): Promise<TrustMaterial> {
  const caText = await readFile(opts.caFile, 'utf8');
  const ca = splitPem(caText, 'CERTIFICATE');
  if (ca.length === 0) throw new TrustMaterialError(`${opts.caFile}: no PEM certificate found`);
  const anchors = ca.map((pem, index) => {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch (err) {
      const reason = (err as Error).message;
      throw new TrustMaterialError(`${opts.caFile}: certificate #${index + 1} does not parse: ${reason}`);
    }
    if (!cert.ca) {
      const name = cert.subject.replace(/\n/g, ', ');
      throw new TrustMaterialError(`${opts.caFile}: certificate #${index + 1} (${name}) is not a CA`);
    }
    return cert;
  });

  const crl = opts.crlFiles && opts.crlFiles.length > 0 ? await loadCrlFiles(opts.crlFiles) : undefined;
  checkTrustUsable({ ca, crl });
  return { ca, crl, anchors };
}

function safeDn(read: () => string): string {
  try {
    return read();
  } catch {
    return '';
  }
}

/** What the peer of a TLS socket presented, and whether node:tls accepted it; null when it sent nothing. */
export function describePeer(socket: TLSSocket): PeerCertificate | null {
  const cert = socket.getPeerX509Certificate();
  if (!cert) return null;
  const peer: PeerCertificate = {
    authorized: socket.authorized === true,
    subjectDn: safeDn(() => dnFromX509(cert)),
    issuerDn: safeDn(() => issuerDnFromX509(cert)),
    fingerprint256: cert.fingerprint256,
    validFrom: new Date(cert.validFrom),
    validTo: new Date(cert.validTo),
    serialNumber: cert.serialNumber,
  };
  // At run time node sets a string code here, although the typings say Error.
  const error = socket.authorizationError as unknown;
  if (!peer.authorized && error) {
    peer.authorizationError = error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : String(error);
  }
  return peer;
}
