/**
 * Shared helpers for the certs tests: throw-away folders, a real mutual-TLS handshake on 127.0.0.1, and a CRL
 * bundle of the development PKI that revokes nothing.
 * The handshake resolves with what the server saw; it rejects if the server reports a TLS error or nothing
 * happens within 5 s, so a hang cannot pass as a result.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { createCrl, describePeer, splitPem, type CertKeyPaths, type PeerCertificate, type PkiPaths } from '../../certs/index.js';

export async function makeTempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function readCerts(file: string): Promise<X509Certificate[]> {
  return splitPem(await readFile(file, 'utf8'), 'CERTIFICATE').map((pem) => new X509Certificate(pem));
}

/** Issued by `issuer` in both senses: names chain and the signature verifies with its key. */
export const issuedBy = (leaf: X509Certificate, issuer: X509Certificate): boolean => leaf.checkIssued(issuer) && leaf.verify(issuer.publicKey);

export async function keyMatches(pair: CertKeyPaths): Promise<boolean> {
  const [leaf] = await readCerts(pair.cert);
  return leaf!.checkPrivateKey(createPrivateKey(await readFile(pair.key)));
}

export interface HandshakeResult {
  /** `socket.authorized` on the server side. */
  authorized: boolean;
  authorizationError: string | undefined;
  peer: PeerCertificate | null;
  /** Whether the client accepted the server's certificate (its own `authorized`). */
  clientAuthorizedServer: boolean;
}

export async function mutualTlsHandshake(
  server: tls.TlsOptions,
  client: { cert?: string | Buffer; key?: string | Buffer; ca: string | Buffer | (string | Buffer)[]; servername?: string },
): Promise<HandshakeResult> {
  const srv = tls.createServer({ ...server, requestCert: true, rejectUnauthorized: false });
  try {
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const { port } = srv.address() as AddressInfo;
    const seen = new Promise<Omit<HandshakeResult, 'clientAuthorizedServer'>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('handshake timed out')), 5000);
      srv.on('secureConnection', (s: tls.TLSSocket) => {
        clearTimeout(timer);
        resolve({
          authorized: s.authorized,
          authorizationError: s.authorizationError ? String(s.authorizationError) : undefined,
          peer: describePeer(s),
        });
        s.end();
      });
      srv.on('tlsClientError', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: client.ca,
      cert: client.cert,
      key: client.key,
      servername: client.servername ?? 'localhost',
      rejectUnauthorized: false,
    });
    const clientSide = new Promise<boolean>((resolve, reject) => {
      socket.once('secureConnect', () => resolve(socket.authorized));
      socket.on('error', reject);
    });
    try {
      const [result, clientAuthorizedServer] = await Promise.all([seen, clientSide]);
      return { ...result, clientAuthorizedServer };
    } finally {
      socket.destroy();
    }
  } finally {
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
}

/** A CRL bundle of the development PKI (issuing CA, then root) that revokes nothing: the state before a revocation. */
export async function crlBundleRevokingNothing(paths: PkiPaths, thisUpdate = new Date(Date.now() - 60_000)): Promise<string> {
  const [root, rootKey, issuing, issuingKey] = await Promise.all(
    [paths.root, paths.rootKey, paths.issuingCa, paths.issuingCaKey].map((f) => readFile(f, 'utf8')),
  );
  return (
    createCrl({ issuerCertPem: issuing!, issuerKeyPem: issuingKey!, thisUpdate, crlNumber: 1 }) +
    createCrl({ issuerCertPem: root!, issuerKeyPem: rootKey!, thisUpdate, crlNumber: 1 })
  );
}
