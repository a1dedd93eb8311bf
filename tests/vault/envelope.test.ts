import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EnvelopeError, newDataKey, openChunk, openValue, parseKeyFile, sealChunk, sealValue } from '../../vault/index.js';

const keyring = () => parseKeyFile(`${crypto.randomBytes(32).toString('base64')}\n`);

describe('envelope encryption', () => {
  it('round-trips a sealed value and refuses it in another context', () => {
    const k = keyring();
    const sealed = sealValue(k, { subject: 'Résultats' }, 'row:1');
    expect(sealed.includes(Buffer.from('Résultats'))).toBe(false);
    expect(openValue(k, sealed, 'row:1')).toEqual({ subject: 'Résultats' });
    expect(() => openValue(k, sealed, 'row:2')).toThrow(EnvelopeError);
  });
  it('never repeats a data key or an IV, across many more draws than one random pool holds', () => {
    const keys = new Set<string>();
    const ivs = new Set<string>();
    for (let i = 0; i < 3_000; i++) {
      keys.add(newDataKey().toString('hex'));
      ivs.add(sealChunk(newDataKey(), Buffer.from('x'), 'a').subarray(0, 12).toString('hex'));
    }
    expect(keys.size).toBe(3_000);
    expect(ivs.size).toBe(3_000);
    expect(keys.has('0'.repeat(64))).toBe(false);
  });

  it('refuses a tampered ciphertext', () => {
    const k = keyring();
    const sealed = sealValue(k, 'x', 'c');
    sealed[sealed.length - 1]! ^= 1;
    expect(() => openValue(k, sealed, 'c')).toThrow(EnvelopeError);
  });
  it('opens data sealed under an older master key after rotation, with a new current key', () => {
    const oldKey = crypto.randomBytes(32).toString('base64');
    const before = parseKeyFile(oldKey);
    const sealed = sealValue(before, 'kept', 'c');
    const after = parseKeyFile(`${crypto.randomBytes(32).toString('base64')}\n${oldKey}\n`);
    expect(after.current.id).not.toBe(before.current.id);
    expect(openValue(after, sealed, 'c')).toBe('kept');
    expect(() => openValue(parseKeyFile(crypto.randomBytes(32).toString('base64')), sealed, 'c')).toThrow(/Unknown master key/);
  });
  it('binds a chunk to its position', () => {
    const dek = newDataKey();
    const c = sealChunk(dek, Buffer.from('abc'), 'blob:1:0:0');
    expect(openChunk(dek, c, 'blob:1:0:0').toString()).toBe('abc');
    expect(() => openChunk(dek, c, 'blob:1:0:1')).toThrow(EnvelopeError);
    expect(() => openChunk(dek, c, 'blob:1:1:0')).toThrow(EnvelopeError);
  });
  it('rejects a malformed key file', () => {
    expect(() => parseKeyFile('not-a-key')).toThrow(/32 bytes/);
  });
});
