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
 *
 * Failure semantics: `loadTrustMaterial` throws `TrustMaterialError` when a file holds no certificate/CRL,
 * a certificate does not parse or is not a CA, or a CRL block is not DER; file-system errors propagate.
 * `describePeer` never throws on what the peer sent: it returns null without a certificate and an empty
 * `subjectDn`/`issuerDn` when a name cannot be parsed, which matches no whitelist entry.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { TLSSocket } from 'node:tls';
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

  let crl: string[] | undefined;
  if (opts.crlFiles && opts.crlFiles.length > 0) {
    crl = [];
    for (const file of opts.crlFiles) {
      const blocks = splitPem(await readFile(file, 'utf8'), 'X509 CRL');
      if (blocks.length === 0) throw new TrustMaterialError(`${file}: no PEM CRL found`);
      blocks.forEach((block, index) => {
        const bytes = derOfPem(block);
        // node:crypto has no CRL parser; checking the outer SEQUENCE catches truncated or non-DER blocks early,
        // node:tls reports anything subtler when the secure context is created.
        if (bytes.length < 16 || bytes[0] !== 0x30) {
          throw new TrustMaterialError(`${file}: CRL #${index + 1} is not DER`);
        }
      });
      crl.push(...blocks);
    }
  }
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
    peer.authorizationError =
      error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : String(error);
  }
  return peer;
}
