import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkPasswordPolicy, generateLoginCode, generateToken, hashSecret, hashToken, needsRehash, verifySecret } from '../../access/rules/index.js';

describe('hashSecret / verifySecret', () => {
  it('encodes scrypt parameters, a 16-byte salt and a 32-byte hash', async () => {
    const encoded = await hashSecret('Correct-Horse-9');
    const parts = encoded.split('$');
    expect(parts).toHaveLength(6);
    expect(parts.slice(0, 4)).toEqual(['scrypt', '131072', '8', '1']); // N = 2^17 (128 MiB)
    expect(Buffer.from(parts[4] ?? '', 'base64')).toHaveLength(16);
    expect(Buffer.from(parts[5] ?? '', 'base64')).toHaveLength(32);
  });

  it('verifies the right secret and rejects wrong ones', async () => {
    const encoded = await hashSecret('Correct-Horse-9');
    await expect(verifySecret('Correct-Horse-9', encoded)).resolves.toBe(true);
    await expect(verifySecret('correct-Horse-9', encoded)).resolves.toBe(false);
    await expect(verifySecret('Correct-Horse-9 ', encoded)).resolves.toBe(false);
    await expect(verifySecret('', encoded)).resolves.toBe(false);
  });

  it('salts: the same secret hashes differently each time, and both verify', async () => {
    const [a, b] = await Promise.all([hashSecret('same'), hashSecret('same')]);
    expect(a).not.toBe(b);
    await expect(verifySecret('same', a)).resolves.toBe(true);
    await expect(verifySecret('same', b)).resolves.toBe(true);
  });

  it('verifies composed and decomposed accents alike', async () => {
    const encoded = await hashSecret('Caf\u00e9-Cr\u00e8me-1');
    await expect(verifySecret('Cafe\u0301-Cre\u0300me-1', encoded)).resolves.toBe(true);
  });

  it('tells hashes made with an older cost from current ones (rehash at the next login)', async () => {
    const { scryptSync } = await import('node:crypto');
    const salt = Buffer.alloc(16, 9);
    const old = `scrypt$32768$8$1$${salt.toString('base64')}$${scryptSync('pw', salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }).toString('base64')}`;
    expect(needsRehash(old)).toBe(true);
    expect(needsRehash(await hashSecret('pw'))).toBe(false);
    expect(needsRehash('not-a-hash')).toBe(false);
  });

  it('verifies a hash produced with other (bounded) parameters', async () => {
    const { scryptSync } = await import('node:crypto');
    const salt = Buffer.alloc(16, 7);
    const key = scryptSync('pw', salt, 32, { N: 1024, r: 8, p: 1 });
    const encoded = `scrypt$1024$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
    await expect(verifySecret('pw', encoded)).resolves.toBe(true);
    await expect(verifySecret('pX', encoded)).resolves.toBe(false);
  });

  it.each([
    [512, 8, 1, 'N below 2^10'],
    [1024, 64, 1, 'r above 32'],
    [1024, 1, 17, 'p above 16'],
  ])('refuses genuine hashes with out-of-bounds cost N=%i r=%i p=%i (%s)', async (N, r, p) => {
    const { scryptSync } = await import('node:crypto');
    const salt = Buffer.alloc(16, 3);
    const key = scryptSync('pw', salt, 32, { N, r, p, maxmem: 256 * 1024 * 1024 });
    const encoded = `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
    await expect(verifySecret('pw', encoded)).resolves.toBe(false);
  });

  it('rejects a hash whose last byte was flipped', async () => {
    const encoded = await hashSecret('secret');
    const parts = encoded.split('$');
    const hash = Buffer.from(parts[5] ?? '', 'base64');
    hash[31] = (hash[31] ?? 0) ^ 1;
    parts[5] = hash.toString('base64');
    await expect(verifySecret('secret', parts.join('$'))).resolves.toBe(false);
  });

  it('returns false, never throws, on malformed encodings', async () => {
    const good = await hashSecret('secret');
    const [, , , , salt = '', hash = ''] = good.split('$');
    const malformed = [
      '',
      'scrypt',
      good.replace(/^scrypt/, 'bcrypt'),
      `scrypt$32768$8$1$${salt}`,
      `${good}$extra`,
      `scrypt$32767$8$1$${salt}$${hash}`, // N not a power of two
      `scrypt$512$8$1$${salt}$${hash}`, // N too small
      `scrypt$2097152$8$1$${salt}$${hash}`, // N too large
      `scrypt$032768$8$1$${salt}$${hash}`, // leading zero
      `scrypt$32768$0$1$${salt}$${hash}`, // r = 0
      `scrypt$32768$64$1$${salt}$${hash}`, // r too large
      `scrypt$32768$8$99$${salt}$${hash}`, // p too large
      `scrypt$32768$8$-1$${salt}$${hash}`,
      `scrypt$1e5$8$1$${salt}$${hash}`,
      `scrypt$32768$8$1$$${hash}`, // empty salt
      `scrypt$32768$8$1$${salt}$`, // empty hash
      `scrypt$32768$8$1$!!!!$${hash}`, // not base64
      `scrypt$32768$8$1$${salt}$${hash.slice(0, -4)}`, // hash truncated to 30 bytes (a prefix of the right output)
      `scrypt$32768$8$1$${salt}$AAAA`, // hash too short
      `scrypt$32768$8$1$${salt.replace(/=+$/, '')}$${hash}`, // unpadded base64
    ];
    for (const encoded of malformed) {
      await expect(verifySecret('secret', encoded), encoded).resolves.toBe(false);
    }
    await expect(verifySecret('secret', undefined as unknown as string)).resolves.toBe(false);
    await expect(verifySecret(undefined as unknown as string, good)).resolves.toBe(false);
    await expect(verifySecret('secret', good)).resolves.toBe(true);
  });
});

describe('generateLoginCode', () => {
  it('returns six digits, zero-padded, and varies', () => {
    const codes = Array.from({ length: 2000 }, () => generateLoginCode());
    for (const c of codes) expect(c).toMatch(/^[0-9]{6}$/);
    expect(new Set(codes).size).toBeGreaterThan(1900);
    // With 2000 draws, P(no code starting with "0") = 0.9^2000: a missing zero-padding would show.
    expect(codes.some((c) => c.startsWith('0'))).toBe(true);
  });
});

describe('generateToken / hashToken', () => {
  it('returns base64url of the requested size', () => {
    const t = generateToken();
    expect(t).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(t, 'base64url')).toHaveLength(32);
    expect(Buffer.from(generateToken(48), 'base64url')).toHaveLength(48);
    expect(generateToken()).not.toBe(t);
  });

  it.each([0, 8, 15, 1.5, 2048, Number.NaN])('refuses %s bytes', (n) => {
    expect(() => generateToken(n)).toThrow(RangeError);
  });

  it('hashes tokens with SHA-256 hex', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const t = generateToken();
    expect(hashToken(t)).toBe(createHash('sha256').update(t).digest('hex'));
    expect(hashToken(t)).not.toBe(hashToken(`${t}x`));
  });
});

describe('checkPasswordPolicy', () => {
  it.each([
    ['Abcdefgh1234', 12],
    ['abcdefgh12!?', 12], // lower + digit + other
    ['ABCDEFGH12!?', 12], // upper + digit + other
    ['abcdefGHIJ!?', 12], // lower + upper + other
    ['Élodie-été-2024', 12],
    ['correct horse Battery', 12], // space counts as "other"
    ['Aa1'.repeat(85) + 'x', 12], // 256
  ])('accepts %j (min %i)', (password, min) => {
    expect(checkPasswordPolicy(password, min)).toEqual({ ok: true });
  });

  it('rejects a short password with the French reason naming the minimum', () => {
    expect(checkPasswordPolicy('Abcdef12!', 12)).toEqual({
      ok: false,
      reason: 'Le mot de passe doit contenir au moins 12 caractères.',
    });
    expect(checkPasswordPolicy('Abcdefgh12!', 12).ok).toBe(false);
    expect(checkPasswordPolicy('Abcdefgh12!', 11).ok).toBe(true);
  });

  it('counts characters, not UTF-16 units', () => {
    // 11 code points, 12 UTF-16 units (the emoji is a surrogate pair)
    expect(checkPasswordPolicy('Abcdefgh1\u{1F600}x', 12).ok).toBe(false);
  });

  it('rejects more than 256 characters', () => {
    const r = checkPasswordPolicy('Aa1'.repeat(86), 12);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toMatch(/ne doit pas dépasser 256 caractères/);
  });

  it.each(['abcdefghijkl', 'abcdefgh1234', 'ABCDEFGHIJKL', 'abcdefGHIJKL', '123456789012', '!!!!????....', 'abcdefgh!!!!'])(
    'rejects %j with fewer than 3 classes',
    (password) => {
      const r = checkPasswordPolicy(password, 12);
      expect(r.ok).toBe(false);
      expect(r.ok ? '' : r.reason).toMatch(/au moins trois types de caractères/);
    },
  );

  it('rejects control characters', () => {
    const r = checkPasswordPolicy('Abcdefgh12\n!', 12);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toMatch(/non autorisés/);
  });

  it.each([0, -1, 1.5, 257, Number.NaN])('throws on a misconfigured minLength %s', (min) => {
    expect(() => checkPasswordPolicy('Abcdefgh1234', min)).toThrow(RangeError);
  });
});
