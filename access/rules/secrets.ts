// Secrets for patient authentication (SPEC §6.2): password hashing, one-time login codes, session tokens and the
// password policy. node:crypto only.
//
// Guarantees:
// - `hashSecret` output is self-describing (`scrypt$N$r$p$saltB64$hashB64`, standard base64 with padding), so the
//   cost can be raised later while old hashes still verify; `needsRehash` tells a hash made with other parameters
//   than today's (N = 2^17, r = 8, p = 1: 128 MiB, ~0.3 s) so that a successful login can replace it. Secrets are NFC-normalised first: the same password
//   typed on systems that compose accents differently must verify.
// - `verifySecret` resolves false, never rejects, for any malformed or out-of-range encoding (unknown scheme, cost
//   parameters outside sane bounds, bad base64, a hash other than 32 bytes: scrypt output is prefix-stable, so a
//   truncated hash would otherwise still verify): a corrupt row must look like a wrong password, and
//   bounding N/r/p stops a tampered row from making one login burn gigabytes or minutes. The comparison is
//   constant-time.
// - Codes and tokens come from the CSPRNG. `generateToken` refuses fewer than 16 bytes (RangeError): shorter
//   bearer secrets are guessable. Tokens are stored only as `hashToken` (SHA-256 hex): they are already
//   high-entropy, so a slow hash would add cost without adding safety.
// - `checkPasswordPolicy` returns French text meant for the patient; it throws RangeError only for a minLength
//   that is not an integer in 1..256, which is a configuration error.

import { createHash, randomBytes, randomInt, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const SCRYPT_N = 2 ** 17;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

// Bounds accepted when reading a stored hash; wide enough for future cost increases.
const MIN_LOG2_N = 10;
const MAX_LOG2_N = 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024;

export const PASSWORD_MAX_LENGTH = 256;
export const LOGIN_CODE_DIGITS = 6;

function scryptAsync(secret: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret.normalize('NFC'), salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

// scrypt needs 128·N·r·p bytes (plus a little); Node's default 32 MiB cap is below 128·2^17·8 = 128 MiB, so it must be raised.
function maxmemFor(n: number, r: number, p: number): number {
  return 128 * n * r * p + 16 * 1024 * 1024;
}

export async function hashSecret(secret: string): Promise<string> {
  if (typeof secret !== 'string') throw new TypeError('hashSecret expects a string');
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(secret, salt, KEY_BYTES, {
    N: SCRYPT_N,
    r: SCRYPT_R,
    p: SCRYPT_P,
    maxmem: maxmemFor(SCRYPT_N, SCRYPT_R, SCRYPT_P),
  });
  return ['scrypt', SCRYPT_N, SCRYPT_R, SCRYPT_P, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Whether `encoded` is a scrypt hash made with other cost parameters than `hashSecret` uses today. */
export function needsRehash(encoded: string): boolean {
  if (typeof encoded !== 'string') return false;
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  return parts[1] !== String(SCRYPT_N) || parts[2] !== String(SCRYPT_R) || parts[3] !== String(SCRYPT_P);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DECIMAL = /^[1-9][0-9]{0,9}$/;

function decodeBase64(s: string, minBytes: number, maxBytes: number): Buffer | null {
  if (s === '' || !BASE64.test(s)) return null;
  const buf = Buffer.from(s, 'base64');
  return buf.length >= minBytes && buf.length <= maxBytes ? buf : null;
}

export async function verifySecret(secret: string, encoded: string): Promise<boolean> {
  if (typeof secret !== 'string' || typeof encoded !== 'string') return false;
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, nS = '', rS = '', pS = '', saltS = '', hashS = ''] = parts;
  if (!DECIMAL.test(nS) || !DECIMAL.test(rS) || !DECIMAL.test(pS)) return false;
  const n = Number(nS);
  const r = Number(rS);
  const p = Number(pS);
  const log2n = Math.log2(n);
  if (!Number.isInteger(log2n) || log2n < MIN_LOG2_N || log2n > MAX_LOG2_N) return false;
  if (r > MAX_R || p > MAX_P) return false;
  const maxmem = maxmemFor(n, r, p);
  if (maxmem > MAX_SCRYPT_MEMORY) return false;
  const salt = decodeBase64(saltS, 8, 64);
  const expected = decodeBase64(hashS, KEY_BYTES, KEY_BYTES);
  if (salt === null || expected === null) return false;
  try {
    const actual = await scryptAsync(secret, salt, expected.length, { N: n, r, p, maxmem });
    return timingSafeEqual(actual, expected);
  } catch {
    return false;
  }
}

/** Six decimal digits, uniformly distributed, zero-padded. */
export function generateLoginCode(): string {
  return String(randomInt(0, 10 ** LOGIN_CODE_DIGITS)).padStart(LOGIN_CODE_DIGITS, '0');
}

export function generateToken(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < 16 || bytes > 1024) {
    throw new RangeError('generateToken expects an integer number of bytes in 16..1024');
  }
  return randomBytes(bytes).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export type PasswordPolicyResult = { ok: true } | { ok: false; reason: string };

export function checkPasswordPolicy(password: string, minLength: number): PasswordPolicyResult {
  if (!Number.isInteger(minLength) || minLength < 1 || minLength > PASSWORD_MAX_LENGTH) {
    throw new RangeError(`checkPasswordPolicy: minLength must be an integer in 1..${PASSWORD_MAX_LENGTH}`);
  }
  if (typeof password !== 'string') {
    return { ok: false, reason: 'Le mot de passe est obligatoire.' };
  }
  // Count characters as the patient sees them (code points, after composing accents), not UTF-16 units.
  const length = [...password.normalize('NFC')].length;
  if (length < minLength) {
    return { ok: false, reason: `Le mot de passe doit contenir au moins ${minLength} caractères.` };
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return { ok: false, reason: `Le mot de passe ne doit pas dépasser ${PASSWORD_MAX_LENGTH} caractères.` };
  }
  if (/\p{Cc}/u.test(password)) {
    return { ok: false, reason: 'Le mot de passe contient des caractères non autorisés.' };
  }
  const classes = [/\p{Ll}/u, /\p{Lu}/u, /\p{Nd}/u, /[^\p{Ll}\p{Lu}\p{Nd}]/u].filter((re) => re.test(password)).length;
  if (classes < 3) {
    return {
      ok: false,
      reason: 'Le mot de passe doit contenir au moins trois types de caractères parmi les minuscules, les majuscules, les chiffres et les caractères spéciaux.',
    };
  }
  return { ok: true };
}
