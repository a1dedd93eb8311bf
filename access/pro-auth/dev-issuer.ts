/**
 * A development OpenID Connect issuer for professionals' bearer tokens (SPEC §6.3), node:crypto only.
 *
 * It stands in for the professional identity provider (Pro Santé Connect in production) on development and
 * test machines: it signs RS256 JWTs carrying the RPPS identifier and the TRE_G15 profession code, and
 * publishes its public key as a JWKS that `verifyProToken`/`loadJwks` consume exactly like a real IdP's.
 *
 * Files under `dir` (e.g. `$DATA_DIR/pki/oidc`, created 0700):
 *   issuer.key   RSA-2048 private key, PKCS#8 PEM, mode 0600
 *   jwks.json    `{ keys: [ public JWK with kid, alg RS256, use sig ] }`
 *   issuer.json  `{ issuer, kid }`
 * The `kid` is the RFC 7638 JWK thumbprint of the public key, so it follows from the key alone.
 *
 * Guarantees:
 * - `ensureDevIssuer` is idempotent: an existing key is never replaced. Concurrent first calls are safe: the
 *   key is published with link(2), which fails when the name exists, so exactly one key wins and every caller
 *   reads that one; jwks.json and issuer.json are derived from it and written by rename (atomic).
 * - The key file is 0600; an existing one readable by group/others is narrowed to 0600.
 * - Tokens always carry iss, aud, sub (= RPPS), iat, exp, jti, rpps, profession, and name/organisation when
 *   given; the header is `{ alg: 'RS256', typ: 'JWT', kid }`.
 *
 * Failure semantics: synchronous (start-up and CLI use only; RSA generation blocks ~100 ms once). File-system
 * errors propagate; an existing key that is not an RSA private key throws rather than being overwritten;
 * `issueDevToken` throws a TypeError for an RPPS that is not 11 digits, a profession that is not a TRE_G15
 * code or a bad ttl, and an Error when `dir` holds no issuer.
 *
 * Never use this issuer in production: anyone with the data directory can mint tokens.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LIMITS } from '../../config/index.js';
import { PROFESSION_PATTERN, RPPS_PATTERN } from './verify.js';

export const DEV_ISSUER_URL = 'https://pro-auth.dev.mes-gateway.local';
export const DEFAULT_AUDIENCE = 'mes-gateway';
/** One hour: a development token should expire like a real access token, so expiry paths get exercised. */
export const DEFAULT_TTL_SECONDS = 3600;
/** What the verifier accepts (config/limits.ts): a longer-lived token would be refused anyway. */
const MAX_TTL_SECONDS = LIMITS.proTokenMaxLifetimeSeconds.value;

const KEY_FILE = 'issuer.key';
const JWKS_FILE = 'jwks.json';
const META_FILE = 'issuer.json';

export interface DevIssuer {
  issuer: string;
  kid: string;
  /** The public JWKS, as published in jwks.json. */
  jwks: { keys: JsonWebKey[] };
  keyPath: string;
  jwksPath: string;
}

export interface DevTokenRequest {
  dir: string;
  /** RPPS identifier: 11 digits. */
  rpps: string;
  /** TRE_G15 profession code, e.g. '10' (médecin), '60' (infirmier). */
  profession: string;
  name?: string;
  organisation?: string;
  /** FINESS of the establishment the professional acts for. */
  finess?: string;
  ttlSeconds?: number;
  audience?: string;
  /** Issue time (tests); defaults to the current time. */
  now?: Date;
}

/** Creates (once) the issuer's key pair and public JWKS under `dir`; returns its description. */
export function ensureDevIssuer(dir: string, issuerUrl: string = DEV_ISSUER_URL): DevIssuer {
  if (typeof issuerUrl !== 'string' || issuerUrl === '') throw new TypeError('issuerUrl must be a non-empty string');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyPath = path.join(dir, KEY_FILE);
  if (!fs.existsSync(keyPath)) publishNewKey(keyPath);
  const st = fs.statSync(keyPath);
  if ((st.mode & 0o077) !== 0) fs.chmodSync(keyPath, 0o600);

  const privateKey = readPrivateKey(keyPath);
  const publicJwk = publicJwkOf(privateKey);
  const kid = jwkThumbprint(publicJwk);
  const jwks = { keys: [{ ...publicJwk, kid, alg: 'RS256', use: 'sig' } as JsonWebKey] };
  const jwksPath = path.join(dir, JWKS_FILE);
  writeIfChanged(jwksPath, `${JSON.stringify(jwks, null, 2)}\n`, 0o644);
  // The issuer URL is configuration: changing it keeps the key, and earlier tokens (old iss) stop verifying.
  writeIfChanged(path.join(dir, META_FILE), `${JSON.stringify({ issuer: issuerUrl, kid }, null, 2)}\n`, 0o644);
  return { issuer: issuerUrl, kid, jwks, keyPath, jwksPath };
}

/** Signs a development token with the issuer under `dir` (which `ensureDevIssuer` must have created). */
export function issueDevToken(req: DevTokenRequest): string {
  // The verifier's own patterns: the dev issuer cannot mint a token that the gateway would refuse.
  if (typeof req.rpps !== 'string' || !RPPS_PATTERN.test(req.rpps)) throw new TypeError('rpps must be 11 digits');
  if (typeof req.profession !== 'string' || !PROFESSION_PATTERN.test(req.profession)) throw new TypeError('profession must be a TRE_G15 code (2-3 digits)');
  const ttl = req.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl <= 0 || ttl > MAX_TTL_SECONDS) throw new TypeError(`ttlSeconds must be an integer in 1..${MAX_TTL_SECONDS}`);
  const audience = req.audience ?? DEFAULT_AUDIENCE;

  const keyPath = path.join(req.dir, KEY_FILE);
  const metaPath = path.join(req.dir, META_FILE);
  if (!fs.existsSync(keyPath) || !fs.existsSync(metaPath)) throw new Error(`no development issuer in ${req.dir}: call ensureDevIssuer first`);
  const meta = JSON.parse(fs.readFileSync(metaPath, 'utf8')) as { issuer?: unknown };
  if (typeof meta.issuer !== 'string') throw new Error(`${metaPath}: no issuer`);
  const privateKey = readPrivateKey(keyPath);
  // Recomputed from the key rather than trusted from issuer.json, so the kid can never name another key.
  const kid = jwkThumbprint(publicJwkOf(privateKey));

  const iat = Math.floor((req.now ?? new Date()).getTime() / 1000);
  const claims: Record<string, unknown> = {
    iss: meta.issuer,
    aud: audience,
    sub: req.rpps,
    iat,
    exp: iat + ttl,
    jti: crypto.randomUUID(),
    rpps: req.rpps,
    profession: req.profession,
  };
  if (req.name !== undefined) claims.name = req.name;
  if (req.organisation !== undefined) claims.organisation = req.organisation;
  if (req.finess !== undefined) claims.finess = req.finess;
  return signJws({ alg: 'RS256', typ: 'JWT', kid }, claims, privateKey);
}

// ---------------------------------------------------------------------------------------------------------

function publishNewKey(keyPath: string): void {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
  const tmp = `${keyPath}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, pem, { mode: 0o600, flag: 'wx' });
  try {
    // link(2) fails with EEXIST if another process published first: its key wins, ours is dropped.
    fs.linkSync(tmp, keyPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function readPrivateKey(keyPath: string): crypto.KeyObject {
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(fs.readFileSync(keyPath));
  } catch (err) {
    throw new Error(`${keyPath} is not a readable private key (refusing to replace it): ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`${keyPath} is not an RSA key (refusing to replace it)`);
  return key;
}

function publicJwkOf(privateKey: crypto.KeyObject): JsonWebKey {
  const jwk = crypto.createPublicKey(privateKey).export({ format: 'jwk' });
  return { kty: jwk.kty, n: jwk.n, e: jwk.e };
}

/** RFC 7638 thumbprint of an RSA public key: SHA-256 of the required members in lexicographic order. */
function jwkThumbprint(jwk: JsonWebKey): string {
  const canonical = JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
  return crypto.createHash('sha256').update(canonical).digest('base64url');
}

function signJws(header: Record<string, unknown>, payload: Record<string, unknown>, key: crypto.KeyObject): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = crypto.sign('sha256', Buffer.from(input), { key, padding: crypto.constants.RSA_PKCS1_PADDING });
  return `${input}.${signature.toString('base64url')}`;
}

function b64url(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url');
}

/** Atomic replace (temp + rename), skipped when the content is already right so repeated starts write nothing. */
function writeIfChanged(file: string, content: string, mode: number): void {
  try {
    if (fs.readFileSync(file, 'utf8') === content) return;
  } catch {
    // missing: write it
  }
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, content, { mode });
  fs.renameSync(tmp, file);
}
