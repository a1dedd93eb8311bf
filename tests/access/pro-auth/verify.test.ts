// verifyProToken against tokens from the development issuer and tokens crafted by hand (alg none, HS256,
// ES256, bad claims), each refused for its own reason.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevIssuer, issueDevToken, loadJwks, verifyProToken, type DevIssuer, type VerifyProTokenOptions } from '../../../access/pro-auth/index.js';
import { LIMITS } from '../../../config/limits.js';

const ISSUER = 'https://pro-auth.test.local';
const RPPS = '10001234567';
let dir: string;
let issuer: DevIssuer;
let issuerKey: crypto.KeyObject;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesgw-proauth-'));
  issuer = ensureDevIssuer(path.join(dir, 'oidc'), ISSUER);
  issuerKey = crypto.createPrivateKey(fs.readFileSync(issuer.keyPath));
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const opts = (over: Partial<VerifyProTokenOptions> = {}): VerifyProTokenOptions => ({ jwks: issuer.jwks, issuer: ISSUER, audience: 'mes-gateway', ...over });
const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const nowSec = (): number => Math.floor(Date.now() / 1000);

/** Valid claims for a hand-made token; `over` replaces or (with undefined) removes members. */
function claims(over: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    iss: ISSUER,
    aud: 'mes-gateway',
    sub: RPPS,
    iat: nowSec(),
    exp: nowSec() + 600,
    jti: crypto.randomUUID(),
    rpps: RPPS,
    profession: '10',
  };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return base;
}

/** Signs header.payload with the dev issuer's RSA key (RS256), unless `sign` says otherwise. */
function craft(header: Record<string, unknown>, payload: Record<string, unknown>, sign?: (input: Buffer) => Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const sig = (sign ?? ((i) => crypto.sign('sha256', i, issuerKey)))(Buffer.from(input));
  return `${input}.${sig.toString('base64url')}`;
}
const rsHeader = (): Record<string, unknown> => ({ alg: 'RS256', typ: 'JWT', kid: issuer.kid });

describe('verifyProToken with the development issuer', () => {
  it('accepts an issued token and returns the professional', () => {
    const token = issueDevToken({ dir: path.join(dir, 'oidc'), rpps: RPPS, profession: '60', name: 'Claire Infirmière', organisation: 'Cabinet Lumière' });
    const r = verifyProToken(token, opts());
    expect(r).toEqual({
      ok: true,
      pro: { rpps: RPPS, profession: '60', name: 'Claire Infirmière', organisation: 'Cabinet Lumière', finess: null, tokenId: expect.any(String) },
    });
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
    expect(r.ok && r.pro.tokenId).toBe(payload.jti);
    expect(payload).toMatchObject({ iss: ISSUER, aud: 'mes-gateway', sub: RPPS, rpps: RPPS, profession: '60' });
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
  });

  it('returns null name and organisation when absent, and accepts an array audience', () => {
    const r = verifyProToken(issueDevToken({ dir: path.join(dir, 'oidc'), rpps: RPPS, profession: '10' }), opts());
    expect(r).toMatchObject({ ok: true, pro: { name: null, organisation: null } });
    const multi = craft(rsHeader(), claims({ aud: ['other', 'mes-gateway'] }));
    expect(verifyProToken(multi, opts()).ok).toBe(true);
  });

  it('refuses a tampered payload (signature)', () => {
    const token = issueDevToken({ dir: path.join(dir, 'oidc'), rpps: RPPS, profession: '10' });
    const [h, p, s] = token.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    payload.profession = '21';
    expect(verifyProToken(`${h}.${b64(payload)}.${s}`, opts())).toEqual({ ok: false, reason: 'signature' });
    // A flipped signature bit, and a signature from another RSA key with the same kid.
    const bad = Buffer.from(s, 'base64url');
    bad[10] = (bad[10] ?? 0) ^ 1;
    expect(verifyProToken(`${h}.${p}.${bad.toString('base64url')}`, opts())).toEqual({ ok: false, reason: 'signature' });
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expect(
      verifyProToken(
        craft(rsHeader(), claims(), (i) => crypto.sign('sha256', i, other)),
        opts(),
      ),
    ).toEqual({ ok: false, reason: 'signature' });
  });

  it('refuses a wrong issuer and a wrong audience', () => {
    const token = issueDevToken({ dir: path.join(dir, 'oidc'), rpps: RPPS, profession: '10' });
    expect(verifyProToken(token, opts({ issuer: 'https://evil.example' }))).toEqual({ ok: false, reason: 'issuer' });
    expect(verifyProToken(token, opts({ audience: 'another-service' }))).toEqual({ ok: false, reason: 'audience' });
    const aud = issueDevToken({ dir: path.join(dir, 'oidc'), rpps: RPPS, profession: '10', audience: 'another-service' });
    expect(verifyProToken(aud, opts())).toEqual({ ok: false, reason: 'audience' });
    expect(verifyProToken(craft(rsHeader(), claims({ aud: undefined })), opts())).toEqual({ ok: false, reason: 'audience' });
  });

  it('refuses an expired token, within and beyond the clock skew', () => {
    const issuedAt = new Date('2026-01-10T10:00:00Z');
    const token = issueDevToken({ dir: path.join(dir, 'oidc'), rpps: RPPS, profession: '10', ttlSeconds: 300, now: issuedAt });
    const at = (s: number) => new Date(issuedAt.getTime() + s * 1000);
    expect(verifyProToken(token, opts({ now: at(299) })).ok).toBe(true);
    expect(verifyProToken(token, opts({ now: at(330) })).ok).toBe(true); // within the default 60 s skew
    expect(verifyProToken(token, opts({ now: at(360) }))).toEqual({ ok: false, reason: 'expired' });
    expect(verifyProToken(token, opts({ now: at(301), clockSkewSeconds: 0 }))).toEqual({ ok: false, reason: 'expired' });
    expect(verifyProToken(token, opts())).toEqual({ ok: false, reason: 'expired' }); // real now: long expired
  });

  it('refuses a token not yet valid (nbf, iat in the future)', () => {
    expect(verifyProToken(craft(rsHeader(), claims({ nbf: nowSec() + 3600 })), opts())).toEqual({ ok: false, reason: 'not-yet-valid' });
    expect(verifyProToken(craft(rsHeader(), claims({ iat: nowSec() + 3600, exp: nowSec() + 7200 })), opts())).toEqual({ ok: false, reason: 'not-yet-valid' });
    expect(verifyProToken(craft(rsHeader(), claims({ nbf: nowSec() + 30 })), opts()).ok).toBe(true); // skew
  });

  it('refuses a token whose lifetime (exp - iat, or exp - now without iat) exceeds the ceiling of config/limits.ts', () => {
    const ceiling = LIMITS.proTokenMaxLifetimeSeconds.value;
    const iat = nowSec() - 60;
    expect(verifyProToken(craft(rsHeader(), claims({ iat, exp: iat + ceiling })), opts()).ok).toBe(true);
    expect(verifyProToken(craft(rsHeader(), claims({ iat, exp: iat + ceiling + 1 })), opts())).toEqual({ ok: false, reason: 'lifetime' });
    // A year-long token, with and without iat.
    expect(verifyProToken(craft(rsHeader(), claims({ exp: nowSec() + 365 * 86400 })), opts())).toEqual({ ok: false, reason: 'lifetime' });
    expect(verifyProToken(craft(rsHeader(), claims({ iat: undefined, exp: nowSec() + 365 * 86400 })), opts())).toEqual({ ok: false, reason: 'lifetime' });
    expect(verifyProToken(craft(rsHeader(), claims({ iat: undefined, exp: nowSec() + 600 })), opts()).ok).toBe(true);
    // The ceiling is the caller's (the API passes config.limits, which LIMIT_PRO_TOKEN_MAX_LIFETIME_SECONDS overrides).
    expect(verifyProToken(craft(rsHeader(), claims({ iat, exp: iat + 600 })), opts({ maxLifetimeSeconds: 300 }))).toEqual({ ok: false, reason: 'lifetime' });
    // The development issuer cannot mint what the verifier refuses.
    expect(() => issueDevToken({ dir: path.join(dir, 'oidc'), rpps: RPPS, profession: '10', ttlSeconds: ceiling + 1 })).toThrow(TypeError);
  });
});

describe('algorithms and keys', () => {
  it('refuses alg none, with or without a signature', () => {
    const h = { alg: 'none', typ: 'JWT', kid: issuer.kid };
    const unsigned = `${b64(h)}.${b64(claims())}.`;
    expect(verifyProToken(unsigned, opts())).toEqual({ ok: false, reason: 'alg' });
    expect(verifyProToken(craft(h, claims()), opts())).toEqual({ ok: false, reason: 'alg' });
    expect(verifyProToken(craft({ ...h, alg: 'None' }, claims()), opts())).toEqual({ ok: false, reason: 'alg' });
  });

  it('refuses HS256 signed with the public key as HMAC secret (key confusion)', () => {
    const publicPem = crypto.createPublicKey(issuerKey).export({ type: 'spki', format: 'pem' });
    const jwkN = String(issuer.jwks.keys[0]?.n);
    for (const secret of [publicPem, jwkN]) {
      const token = craft({ alg: 'HS256', typ: 'JWT', kid: issuer.kid }, claims(), (i) => crypto.createHmac('sha256', secret).update(i).digest());
      expect(verifyProToken(token, opts())).toEqual({ ok: false, reason: 'alg' });
    }
    expect(verifyProToken(craft({ alg: 'PS256', kid: issuer.kid }, claims()), opts())).toEqual({ ok: false, reason: 'alg' });
  });

  it('refuses an unknown or missing kid, and ignores keys offered by the token', () => {
    expect(verifyProToken(craft({ alg: 'RS256', kid: 'unknown' }, claims()), opts())).toEqual({ ok: false, reason: 'kid' });
    expect(verifyProToken(craft({ alg: 'RS256' }, claims()), opts())).toEqual({ ok: false, reason: 'kid' });
    expect(verifyProToken(craft(rsHeader(), claims()), opts({ jwks: [] }))).toEqual({ ok: false, reason: 'kid' });
    // An attacker's own key, embedded in the header: never used.
    const evil = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...evil.publicKey.export({ format: 'jwk' }), kid: 'evil' };
    const token = craft({ alg: 'RS256', kid: 'evil', jwk }, claims(), (i) => crypto.sign('sha256', i, evil.privateKey));
    expect(verifyProToken(token, opts())).toEqual({ ok: false, reason: 'kid' });
  });

  it('verifies ES256 (raw r||s) with a P-256 key from the JWKS, and refuses DER signatures', () => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ecJwk = { ...publicKey.export({ format: 'jwk' }), kid: 'ec-1', use: 'sig' } as JsonWebKey;
    const jwks = { keys: [...issuer.jwks.keys, ecJwk] };
    const header = { alg: 'ES256', typ: 'JWT', kid: 'ec-1' };
    const token = craft(header, claims({ name: 'Dr Martin' }), (i) => crypto.sign('sha256', i, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
    expect(verifyProToken(token, opts({ jwks }))).toMatchObject({ ok: true, pro: { rpps: RPPS, name: 'Dr Martin' } });
    const der = craft(header, claims(), (i) => crypto.sign('sha256', i, privateKey));
    expect(verifyProToken(der, opts({ jwks }))).toEqual({ ok: false, reason: 'signature' });
    // Same kid, wrong algorithm family: an RS256 header must not be checked against the EC key.
    expect(verifyProToken(craft({ alg: 'RS256', kid: 'ec-1' }, claims()), opts({ jwks }))).toEqual({ ok: false, reason: 'alg' });
    // The RSA key's kid with ES256.
    expect(
      verifyProToken(
        craft({ alg: 'ES256', kid: issuer.kid }, claims(), () => Buffer.alloc(64)),
        opts({ jwks }),
      ),
    ).toEqual({ ok: false, reason: 'alg' });
  });

  it('refuses an RSA key under 2048 bits', () => {
    const weak = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwks = [{ ...weak.publicKey.export({ format: 'jwk' }), kid: 'weak' } as JsonWebKey];
    const token = craft({ alg: 'RS256', kid: 'weak' }, claims(), (i) => crypto.sign('sha256', i, weak.privateKey));
    expect(verifyProToken(token, opts({ jwks }))).toEqual({ ok: false, reason: 'kid' });
  });
});

describe('malformed tokens and claims', () => {
  it('refuses malformed tokens', () => {
    for (const t of [
      '',
      'abc',
      'a.b',
      'a.b.c.d',
      `${b64('not json')}.${b64(claims())}.sig`,
      `${b64([1])}.${b64(claims())}.sig`,
      `${b64(rsHeader())}.${b64('null')}.sig`,
      `${b64(rsHeader())}.e30=.sig`,
    ]) {
      expect(verifyProToken(t, opts())).toEqual({ ok: false, reason: 'malformed' });
    }
    expect(verifyProToken(craft({ ...rsHeader(), crit: ['b64'], b64: false }, claims()), opts())).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyProToken('x'.repeat(20_000), opts())).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a malformed RPPS, profession or jti, and bad name claims (claims)', () => {
    for (const over of [
      { rpps: '1000123456' },
      { rpps: '100012345678' },
      { rpps: '1000123456X' },
      { rpps: 10001234567 },
      { rpps: undefined },
      { profession: 'medecin' },
      { profession: 10 },
      { profession: undefined },
      { jti: undefined },
      { exp: undefined },
      { exp: 'tomorrow' },
      { name: 42 },
      { organisation: 'a\nb' },
      { name: 'x'.repeat(300) },
      { finess: '75004888' },
      { finess: '7500488861' },
      { finess: '2C0000017' },
      { finess: 750048886 },
      { finess: '' },
      { finess: null },
    ]) {
      expect(verifyProToken(craft(rsHeader(), claims(over)), opts()), JSON.stringify(over)).toEqual({ ok: false, reason: 'claims' });
    }
    expect(verifyProToken(craft(rsHeader(), claims()), opts()).ok).toBe(true);
  });

  it('reads the FINESS of the establishment the professional acts for, when the token carries one', () => {
    for (const finess of ['750048886', '2A0000017', '2B0000017']) {
      const r = verifyProToken(craft(rsHeader(), claims({ finess })), opts());
      expect(r.ok && r.pro.finess).toBe(finess);
    }
    const none = verifyProToken(craft(rsHeader(), claims()), opts());
    expect(none.ok && none.pro.finess).toBeNull();
  });

  it('throws only for invalid options', () => {
    const token = craft(rsHeader(), claims());
    expect(() => verifyProToken(token, opts({ issuer: '' }))).toThrow(TypeError);
    expect(() => verifyProToken(token, opts({ clockSkewSeconds: -1 }))).toThrow(TypeError);
    expect(verifyProToken(token, opts({ jwks: { keys: 'nope' } as unknown as JsonWebKey[] }))).toEqual({ ok: false, reason: 'kid' });
  });
});

describe('loadJwks', () => {
  it('reads a plain path and a file: URL, and the result verifies tokens', async () => {
    const fromPath = await loadJwks(issuer.jwksPath);
    const fromUrl = await loadJwks(pathToFileURL(issuer.jwksPath).href);
    expect(fromPath).toEqual(issuer.jwks);
    expect(fromUrl).toEqual(issuer.jwks);
    const token = issueDevToken({ dir: path.join(dir, 'oidc'), rpps: RPPS, profession: '10' });
    expect(verifyProToken(token, opts({ jwks: fromPath })).ok).toBe(true);
  });

  it('refuses private key material, non-JWKS JSON and missing files', async () => {
    const priv = path.join(dir, 'private.json');
    fs.writeFileSync(priv, JSON.stringify({ keys: [{ ...issuerKey.export({ format: 'jwk' }), kid: 'x' }] }));
    await expect(loadJwks(priv)).rejects.toThrow(/private/);
    const notJwks = path.join(dir, 'not.json');
    fs.writeFileSync(notJwks, '{"hello":1}');
    await expect(loadJwks(notJwks)).rejects.toThrow(/keys/);
    await expect(loadJwks(path.join(dir, 'missing.json'))).rejects.toThrow();
  });

  it('fetches from a loopback http URL and refuses plain http elsewhere', async () => {
    const server = http.createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(issuer.jwks));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      expect(await loadJwks(`http://127.0.0.1:${port}/jwks.json`, { timeoutMs: 5000 })).toEqual(issuer.jwks);
    } finally {
      server.close();
    }
    await expect(loadJwks('http://idp.example.org/jwks.json')).rejects.toThrow(/plain http/);
  });
});
