/**
 * Envelope encryption with AES-256-GCM: a random data key per blob or sealed value, wrapped by a master key.
 *
 * Every ciphertext is authenticated, and its additional data binds it to its place (blob id, chunk number,
 * last-chunk flag, or the row it belongs to), so that swapping, truncating or replaying ciphertexts fails to
 * open with EnvelopeError instead of yielding wrong plaintext.
 */
import crypto from 'node:crypto';
import type { Keyring } from './keyring.js';

const IV = 12;
const TAG = 16;
const VERSION = 1;

// Data keys and IVs come from the CSPRNG in 16 KiB draws: one call instead of about fifteen per delivery
// (each `randomBytes` call costs a few microseconds). Every value is copied out, never shared, never reused.
const POOL_BYTES = 16 * 1024;
let pool = Buffer.alloc(0);
let poolOffset = 0;

function randomBytes(n: number): Buffer {
  if (poolOffset + n > pool.length) {
    pool = crypto.randomFillSync(Buffer.allocUnsafeSlow(POOL_BYTES));
    poolOffset = 0;
  }
  const out = Buffer.from(pool.subarray(poolOffset, poolOffset + n));
  pool.fill(0, poolOffset, poolOffset + n); // what was handed out is not left behind
  poolOffset += n;
  return out;
}

export class EnvelopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvelopeError';
  }
}

export interface WrappedKey {
  keyId: string;
  wrapped: Buffer;
}

export function newDataKey(): Buffer {
  return randomBytes(32);
}

// iv | tag | ciphertext, written into one buffer: a chunk is copied once, not three times.
function gcmSeal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV);
  const c = crypto.createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  const ct = c.update(plaintext);
  const fin = c.final(); // empty for GCM
  const out = Buffer.allocUnsafe(IV + TAG + ct.length + fin.length);
  iv.copy(out, 0);
  ct.copy(out, IV + TAG);
  fin.copy(out, IV + TAG + ct.length);
  c.getAuthTag().copy(out, IV);
  return out;
}

function gcmOpen(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (sealed.length < IV + TAG) throw new EnvelopeError('ciphertext too short');
  const d = crypto.createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV));
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(IV, IV + TAG));
  try {
    const pt = d.update(sealed.subarray(IV + TAG));
    const fin = d.final(); // empty for GCM; throws when the tag does not match
    return fin.length ? Buffer.concat([pt, fin]) : pt;
  } catch {
    throw new EnvelopeError('authentication failed (wrong key, tampered or misplaced ciphertext)');
  }
}

export function wrapDataKey(keyring: Keyring, dataKey: Buffer): WrappedKey {
  const kek = keyring.current;
  return { keyId: kek.id, wrapped: gcmSeal(kek.key, dataKey, Buffer.from(`dek:${kek.id}`)) };
}

export function unwrapDataKey(keyring: Keyring, w: WrappedKey): Buffer {
  return gcmOpen(keyring.get(w.keyId).key, w.wrapped, Buffer.from(`dek:${w.keyId}`));
}

export function sealChunk(dataKey: Buffer, plaintext: Buffer, aad: string): Buffer {
  return gcmSeal(dataKey, plaintext, Buffer.from(aad));
}

export function openChunk(dataKey: Buffer, sealed: Buffer, aad: string): Buffer {
  return gcmOpen(dataKey, sealed, Buffer.from(aad));
}

/**
 * Seals a small value (a JSON document of a row) with its own data key:
 * version(1) | keyIdLen(1) | keyId | wrappedLen(2) | wrapped | iv | tag | ciphertext.
 */
export function sealValue(keyring: Keyring, value: unknown, context: string): Buffer {
  const dek = newDataKey();
  const w = wrapDataKey(keyring, dek);
  const body = gcmSeal(dek, Buffer.from(JSON.stringify(value), 'utf8'), Buffer.from(`value:${context}`));
  return packSealed(w, body);
}

export function openValue<T>(keyring: Keyring, sealed: Buffer, context: string): T {
  const { keyId, wrapped, body } = splitSealed(sealed);
  const dek = unwrapDataKey(keyring, { keyId, wrapped });
  const plain = gcmOpen(dek, body, Buffer.from(`value:${context}`));
  return JSON.parse(plain.toString('utf8')) as T;
}

function packSealed(w: WrappedKey, body: Buffer): Buffer {
  const kid = Buffer.from(w.keyId, 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt8(VERSION, 0);
  head.writeUInt8(kid.length, 1);
  head.writeUInt16BE(w.wrapped.length, 2);
  return Buffer.concat([head.subarray(0, 2), kid, head.subarray(2, 4), w.wrapped, body]);
}

/** Splits a sealed value into its key header (key id, wrapped data key) and its body (iv | tag | ciphertext). */
function splitSealed(sealed: Buffer): { keyId: string; wrapped: Buffer; body: Buffer } {
  if (sealed.length < 4 || sealed.readUInt8(0) !== VERSION) throw new EnvelopeError('unknown sealed value format');
  const kidLen = sealed.readUInt8(1);
  const keyId = sealed.subarray(2, 2 + kidLen).toString('utf8');
  const wlen = sealed.readUInt16BE(2 + kidLen);
  const wstart = 4 + kidLen;
  return { keyId, wrapped: sealed.subarray(wstart, wstart + wlen), body: sealed.subarray(wstart + wlen) };
}

/** The encrypted body of a sealed value: unchanged by a master-key rotation (which only re-wraps the data key). */
export function sealedBody(sealed: Buffer): Buffer {
  return splitSealed(sealed).body;
}

/** The id of the master key that wraps a sealed value's data key. */
export function sealedKeyId(sealed: Buffer): string {
  return splitSealed(sealed).keyId;
}

/**
 * Re-wraps a sealed value's data key with the keyring's current master key, leaving its body untouched (no
 * re-encryption). Returns the same buffer when it is already wrapped by the current key.
 */
export function rewrapValue(keyring: Keyring, sealed: Buffer): Buffer {
  const { keyId, wrapped, body } = splitSealed(sealed);
  if (keyId === keyring.current.id) return sealed;
  return packSealed(wrapDataKey(keyring, unwrapDataKey(keyring, { keyId, wrapped })), body);
}
