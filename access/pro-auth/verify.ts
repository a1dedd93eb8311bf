/**
 * Verification of professionals' OpenID Connect bearer tokens (SPEC §6.3), node:crypto only.
 *
 * `verifyProToken` checks, in this order, and answers with the first failure:
 *   malformed      not three base64url parts, JSON objects, a `crit` header, or over 16 KiB
 *   alg            header alg other than RS256/ES256 (so never `none`, never HS*: an HMAC "signed" with a
 *                  public key is the classic confusion attack), or the kid's key is of another type
 *   kid            no kid, no key with that kid in the configured JWKS, or that key is unusable (RSA < 2048)
 *   signature      the signature does not verify (RS256: RSASSA-PKCS1-v1_5 SHA-256; ES256: P-256 SHA-256, raw
 *                  r||s as JWS mandates, hence `dsaEncoding: 'ieee-p1363'`)
 *   issuer         `iss` is not exactly `opts.issuer`
 *   audience       `aud` (string or array) does not contain `opts.audience`
 *   expired        no longer valid: now - skew >= exp
 *   not-yet-valid  now + skew < nbf, or iat in the future beyond the skew
 *   lifetime       exp - iat (exp - now when there is no iat) over the ceiling (config/limits.ts
 *                  proTokenMaxLifetimeSeconds): a long-lived bearer token is a standing credential
 *   claims         exp missing or not a number, rpps not 11 digits, profession not a TRE_G15 code, jti
 *                  missing, name/organisation not strings (or too long, or with control characters), finess
 *                  present but not a FINESS number (9 characters: digits, or 2A/2B first for Corsica)
 * Nothing in the token is trusted before the signature is verified, and keys come only from the configured
 * JWKS: `jku`, `x5u`, `jwk` and `x5c` headers are ignored (a token must never choose its own key).
 *
 * Failure semantics: `verifyProToken` never throws for any token, only for invalid options (empty issuer or
 * audience, bad skew: a programming error). `loadJwks` throws (Error) when the source cannot be read or is not
 * a public JWKS: call it at start-up so a bad configuration stops the process. Keys kept current from the
 * provider (HTTPS, discovery, refetch on an unknown kid) are access/pro-auth/key-source.ts, which calls this
 * verifier unchanged.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { LIMITS } from '../../config/index.js';

export type ProTokenFailure = 'malformed' | 'alg' | 'kid' | 'signature' | 'issuer' | 'audience' | 'expired' | 'not-yet-valid' | 'lifetime' | 'claims';

export interface ProIdentity {
  rpps: string;
  /** TRE_G15 profession code. */
  profession: string;
  name: string | null;
  organisation: string | null;
  /** FINESS of the establishment the professional acts for (claim `finess`), so an establishment block applies. */
  finess: string | null;
  /** The token's `jti`, for the activity history. */
  tokenId: string;
}

export type ProTokenResult = { ok: true; pro: ProIdentity } | { ok: false; reason: ProTokenFailure };

export interface VerifyProTokenOptions {
  jwks: JsonWebKey[] | { keys: JsonWebKey[] };
  issuer: string;
  audience: string;
  /** Tolerated clock difference with the issuer, in seconds (default 60, at most 600). */
  clockSkewSeconds?: number;
  /** The verification time (tests); defaults to the current time. */
  now?: Date;
  /** Longest accepted exp - iat, in seconds (default: config/limits.ts proTokenMaxLifetimeSeconds). */
  maxLifetimeSeconds?: number;
}

/** A FINESS number: 9 characters, digits, with 2A/2B as the department of Corsica. */
export const FINESS_PATTERN = /^(?:\d{2}|2A|2B)\d{7}$/;
/** RPPS identifier: 11 digits. */
export const RPPS_PATTERN = /^\d{11}$/;
/**
 * TRE_G15 (profession de santé) codes are short digit strings ('10' médecin, '21' pharmacien, '40'
 * chirurgien-dentiste, '50' sage-femme, '60' infirmier…). The nomenclature is not embedded here (it is
 * maintained by ANS and changes); 2 or 3 digits is what a code looks like.
 */
export const PROFESSION_PATTERN = /^\d{2,3}$/;

const MAX_TOKEN_LENGTH = 16 * 1024;
const MAX_TEXT_CLAIM = 256;
const DEFAULT_SKEW = 60;
const MAX_SKEW = 600;
const B64URL = /^[A-Za-z0-9_-]+$/;

type Alg = 'RS256' | 'ES256';

export function verifyProToken(token: string, opts: VerifyProTokenOptions): ProTokenResult {
  if (typeof opts.issuer !== 'string' || opts.issuer === '') throw new TypeError('verifyProToken: issuer must be a non-empty string');
  if (typeof opts.audience !== 'string' || opts.audience === '') throw new TypeError('verifyProToken: audience must be a non-empty string');
  const skew = opts.clockSkewSeconds ?? DEFAULT_SKEW;
  if (!Number.isFinite(skew) || skew < 0 || skew > MAX_SKEW) throw new TypeError(`verifyProToken: clockSkewSeconds must be in 0..${MAX_SKEW}`);
  const maxLifetime = opts.maxLifetimeSeconds ?? LIMITS.proTokenMaxLifetimeSeconds.value;
  if (!Number.isFinite(maxLifetime) || maxLifetime <= 0) throw new TypeError('verifyProToken: maxLifetimeSeconds must be a positive number');

  // --- structure
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return fail('malformed');
  const parts = token.split('.');
  if (parts.length !== 3) return fail('malformed');
  const [h, p, s] = parts as [string, string, string];
  if (!B64URL.test(h) || !B64URL.test(p)) return fail('malformed');
  const header = decodeJson(h);
  const payload = decodeJson(p);
  if (!header || !payload) return fail('malformed');
  // RFC 7515 §4.1.11: extensions we do not understand (e.g. b64=false) must make the token invalid.
  if ('crit' in header) return fail('malformed');

  // --- algorithm and key
  const alg = header.alg;
  if (alg !== 'RS256' && alg !== 'ES256') return fail('alg');
  if (!B64URL.test(s)) return fail('signature');
  const kid = header.kid;
  if (typeof kid !== 'string' || kid === '') return fail('kid');
  const candidates = keysOf(opts.jwks).filter((k) => (k as { kid?: unknown }).kid === kid);
  if (candidates.length === 0) return fail('kid');
  const compatible = candidates.filter((k) => fitsAlg(k, alg));
  if (compatible.length === 0) return fail('alg');
  const keys = compatible.map(importKey).filter((k): k is crypto.KeyObject => k !== null);
  if (keys.length === 0) return fail('kid');

  // --- signature
  const signature = Buffer.from(s, 'base64url');
  // ES256 is exactly 32+32 bytes; anything else (e.g. a DER signature) is refused rather than reinterpreted.
  if (alg === 'ES256' && signature.length !== 64) return fail('signature');
  const input = Buffer.from(`${h}.${p}`, 'ascii');
  if (!keys.some((key) => checkSignature(alg, key, input, signature))) return fail('signature');

  // --- registered claims
  if (payload.iss !== opts.issuer) return fail('issuer');
  const aud = payload.aud;
  const audOk = typeof aud === 'string' ? aud === opts.audience : Array.isArray(aud) && aud.some((a) => a === opts.audience);
  if (!audOk) return fail('audience');
  const now = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) return fail('claims');
  if (now - skew >= payload.exp) return fail('expired');
  if (payload.nbf !== undefined) {
    if (typeof payload.nbf !== 'number' || !Number.isFinite(payload.nbf)) return fail('claims');
    if (now + skew < payload.nbf) return fail('not-yet-valid');
  }
  if (payload.iat !== undefined) {
    if (typeof payload.iat !== 'number' || !Number.isFinite(payload.iat)) return fail('claims');
    if (now + skew < payload.iat) return fail('not-yet-valid');
  }
  if (payload.exp - (typeof payload.iat === 'number' ? payload.iat : now) > maxLifetime) return fail('lifetime');

  // --- professional claims
  const { rpps, profession, jti } = payload;
  if (typeof rpps !== 'string' || !RPPS_PATTERN.test(rpps)) return fail('claims');
  if (typeof profession !== 'string' || !PROFESSION_PATTERN.test(profession)) return fail('claims');
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_TEXT_CLAIM) return fail('claims');
  const name = optionalText(payload.name);
  const organisation = optionalText(payload.organisation);
  if (name === undefined || organisation === undefined) return fail('claims');
  const finess = payload.finess === undefined ? null : typeof payload.finess === 'string' && FINESS_PATTERN.test(payload.finess) ? payload.finess : undefined;
  if (finess === undefined) return fail('claims');
  return { ok: true, pro: { rpps, profession, name, organisation, finess, tokenId: jti } };
}

/**
 * Reads a JWKS from a file (plain path or `file:` URL) or over HTTPS (`http:` only for loopback hosts, so a
 * JWKS is never taken from the network unauthenticated). Accepts `{ keys: [...] }` or a bare array; refuses
 * a set that contains private key material (a private key published as a JWKS is a leak to fix at once).
 * The result is a snapshot: re-call it to pick up the IdP's key rotation.
 */
export async function loadJwks(source: string, opts: { timeoutMs?: number } = {}): Promise<{ keys: JsonWebKey[] }> {
  let text: string;
  if (/^https?:\/\//i.test(source)) {
    const url = new URL(source);
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
    if (url.protocol === 'http:' && !loopback) throw new Error(`refusing a JWKS over plain http from ${url.host}`);
    const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000), redirect: 'error' });
    if (!res.ok) throw new Error(`JWKS ${url.href}: HTTP ${res.status}`);
    text = await res.text();
    if (text.length > 1024 * 1024) throw new Error(`JWKS ${url.href}: over 1 MiB`);
  } else {
    const file = source.startsWith('file:') ? fileURLToPath(source) : source;
    text = await fs.readFile(file, 'utf8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`JWKS ${source}: not JSON (${(err as Error).message})`);
  }
  return publicJwks(parsed, source);
}

/**
 * The checks `loadJwks` applies, for a JWKS obtained otherwise (access/pro-auth/key-source.ts): `{ keys: [...] }`
 * or a bare array of objects with a kty, no private key material. Throws an Error naming `source` otherwise.
 */
export function publicJwks(parsed: unknown, source: string): { keys: JsonWebKey[] } {
  const keys = Array.isArray(parsed) ? parsed : (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error(`JWKS ${source}: no "keys" array`);
  for (const k of keys) {
    if (k === null || typeof k !== 'object' || typeof (k as JsonWebKey).kty !== 'string') throw new Error(`JWKS ${source}: a key has no kty`);
    if (PRIVATE_MEMBERS.some((m) => m in k)) throw new Error(`JWKS ${source}: contains private key material`);
  }
  return { keys: keys as JsonWebKey[] };
}

/**
 * The `kid` a token's header names (a non-empty string of at most 256 characters), or null: what a key source
 * needs to tell "the provider rotated its keys" from a malformed token. Never throws; trusts nothing else.
 */
export function tokenKid(token: string): string | null {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return null;
  const h = token.slice(0, token.indexOf('.'));
  if (!h || !B64URL.test(h)) return null;
  const kid = decodeJson(h)?.kid;
  return typeof kid === 'string' && kid !== '' && kid.length <= MAX_TEXT_CLAIM ? kid : null;
}

// ---------------------------------------------------------------------------------------------------------

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

function fail(reason: ProTokenFailure): ProTokenResult {
  return { ok: false, reason };
}

function decodeJson(part: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function keysOf(jwks: VerifyProTokenOptions['jwks']): JsonWebKey[] {
  const list: unknown = Array.isArray(jwks) ? jwks : (jwks as { keys?: unknown } | null)?.keys;
  return Array.isArray(list) ? list.filter((k): k is JsonWebKey => k !== null && typeof k === 'object') : [];
}

/** The key type must match the algorithm, and a key that declares its alg/use must declare this one. */
function fitsAlg(jwk: JsonWebKey, alg: Alg): boolean {
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  return alg === 'RS256' ? jwk.kty === 'RSA' : jwk.kty === 'EC' && jwk.crv === 'P-256';
}

/** Imported keys, per JWK object: a JWKS is loaded once and used for every request. */
const imported = new WeakMap<object, crypto.KeyObject | null>();

function importKey(jwk: JsonWebKey): crypto.KeyObject | null {
  const cached = imported.get(jwk);
  if (cached !== undefined) return cached;
  let key: crypto.KeyObject | null = null;
  try {
    // Only the public members: a stray private member must not turn this into a private key.
    const pub = jwk.kty === 'RSA' ? { kty: 'RSA', n: jwk.n, e: jwk.e } : { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y };
    key = crypto.createPublicKey({ key: pub as crypto.JsonWebKey, format: 'jwk' });
    if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) key = null;
  } catch {
    key = null;
  }
  imported.set(jwk, key);
  return key;
}

function checkSignature(alg: Alg, key: crypto.KeyObject, input: Buffer, signature: Buffer): boolean {
  try {
    if (alg === 'RS256') {
      return crypto.verify('sha256', input, { key, padding: crypto.constants.RSA_PKCS1_PADDING }, signature);
    }
    return crypto.verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/** undefined = invalid; null = absent. */
function optionalText(v: unknown): string | null | undefined {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length > MAX_TEXT_CLAIM || hasControlCharacter(v)) return undefined;
  return v;
}

/** Names end up in the activity history and in e-mails: no line breaks or other control characters. */
function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
