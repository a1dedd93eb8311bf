// The development issuer: files and modes, idempotence (also under concurrent first calls), token shape.
import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ISSUER_URL, ensureDevIssuer, issueDevToken, verifyProToken } from '../../../access/pro-auth/index.js';

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'mesgw-devissuer-'));
});
afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

const decode = (part: string | undefined): Record<string, unknown> => JSON.parse(Buffer.from(part ?? '', 'base64url').toString()) as Record<string, unknown>;

describe('ensureDevIssuer', () => {
  it('creates a 0600 RSA key and a public JWKS with an RFC 7638 kid', () => {
    const dir = path.join(root, 'a', 'pki', 'oidc');
    const iss = ensureDevIssuer(dir);
    expect(iss.issuer).toBe(DEV_ISSUER_URL);
    expect(fs.statSync(iss.keyPath).mode & 0o777).toBe(0o600);
    const jwks = JSON.parse(fs.readFileSync(iss.jwksPath, 'utf8')) as { keys: JsonWebKey[] };
    expect(jwks).toEqual(iss.jwks);
    expect(jwks.keys).toHaveLength(1);
    const k = jwks.keys[0] as JsonWebKey & { kid: string };
    expect(k).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: iss.kid });
    expect(k.d).toBeUndefined();
    const expectedKid = crypto
      .createHash('sha256')
      .update(JSON.stringify({ e: k.e, kty: 'RSA', n: k.n }))
      .digest('base64url');
    expect(iss.kid).toBe(expectedKid);
    const priv = crypto.createPrivateKey(fs.readFileSync(iss.keyPath));
    expect(priv.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(crypto.createPublicKey(priv).export({ format: 'jwk' }).n).toBe(k.n);
  });

  it('is idempotent: the key is kept, a loose mode is narrowed, a changed issuer URL is recorded', () => {
    const dir = path.join(root, 'b');
    const first = ensureDevIssuer(dir);
    const keyBefore = fs.readFileSync(first.keyPath);
    fs.chmodSync(first.keyPath, 0o644);
    const second = ensureDevIssuer(dir);
    expect(second.kid).toBe(first.kid);
    expect(fs.readFileSync(second.keyPath).equals(keyBefore)).toBe(true);
    expect(fs.statSync(second.keyPath).mode & 0o777).toBe(0o600);
    const third = ensureDevIssuer(dir, 'https://other.local');
    expect(third.kid).toBe(first.kid);
    const token = issueDevToken({ dir, rpps: '10001234567', profession: '10' });
    expect(decode(token.split('.')[1]).iss).toBe('https://other.local');
  });

  it('refuses to overwrite a key file that is not an RSA private key', () => {
    const dir = path.join(root, 'c');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'issuer.key'), 'garbage', { mode: 0o600 });
    expect(() => ensureDevIssuer(dir)).toThrow(/refusing/);
    expect(fs.readFileSync(path.join(dir, 'issuer.key'), 'utf8')).toBe('garbage');
  });

  it('concurrent first calls from several processes end with one key', async () => {
    const dir = path.join(root, 'race');
    const here = path.dirname(fileURLToPath(import.meta.url));
    const script = path.join(root, 'race.mts');
    const module = path.resolve(here, '../../../access/pro-auth/dev-issuer.ts');
    fs.writeFileSync(script, `import { ensureDevIssuer } from ${JSON.stringify(module)};\nprocess.send?.(ensureDevIssuer(${JSON.stringify(dir)}).kid);\n`);
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const child = fork(script, [], { cwd: path.resolve(here, '../../..'), execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
        let kid = '';
        let err = '';
        const t = setTimeout(() => (child.kill('SIGKILL'), reject(new Error('child timed out'))), 30_000);
        child.on('message', (m) => (kid = String(m)));
        child.stderr?.on('data', (d) => (err += String(d)));
        child.on('exit', (code) => (clearTimeout(t), code === 0 && kid ? resolve(kid) : reject(new Error(`child failed (${code}): ${err}`))));
      });
    const kids = await Promise.all([run(), run(), run(), run()]);
    expect(new Set(kids).size).toBe(1);
    expect(ensureDevIssuer(dir).kid).toBe(kids[0]);
    expect(fs.readdirSync(dir).sort()).toEqual(['issuer.json', 'issuer.key', 'jwks.json']);
  });
});

describe('issueDevToken', () => {
  it('issues an RS256 JWT with the expected header and claims', () => {
    const dir = path.join(root, 'd');
    const iss = ensureDevIssuer(dir, 'https://iss.local');
    const now = new Date('2026-03-01T08:00:00Z');
    const token = issueDevToken({
      dir,
      rpps: '10001234567',
      profession: '21',
      name: 'Paul Pharmacien',
      organisation: 'Pharmacie du Port',
      ttlSeconds: 120,
      audience: 'aud-x',
      now,
    });
    const [h, p] = token.split('.');
    expect(decode(h)).toEqual({ alg: 'RS256', typ: 'JWT', kid: iss.kid });
    const claims = decode(p);
    expect(claims).toEqual({
      iss: 'https://iss.local',
      aud: 'aud-x',
      sub: '10001234567',
      iat: now.getTime() / 1000,
      exp: now.getTime() / 1000 + 120,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      rpps: '10001234567',
      profession: '21',
      name: 'Paul Pharmacien',
      organisation: 'Pharmacie du Port',
    });
    const r = verifyProToken(token, { jwks: iss.jwks, issuer: 'https://iss.local', audience: 'aud-x', now: new Date(now.getTime() + 60_000) });
    expect(r).toEqual({
      ok: true,
      pro: { rpps: '10001234567', profession: '21', name: 'Paul Pharmacien', organisation: 'Pharmacie du Port', finess: null, tokenId: claims.jti },
    });
    // Two tokens never share a jti.
    expect(decode(issueDevToken({ dir, rpps: '10001234567', profession: '21' }).split('.')[1]).jti).not.toBe(claims.jti);
  });

  it('refuses invalid requests', () => {
    const dir = path.join(root, 'e');
    ensureDevIssuer(dir);
    expect(() => issueDevToken({ dir, rpps: '123', profession: '10' })).toThrow(TypeError);
    expect(() => issueDevToken({ dir, rpps: '10001234567', profession: 'doc' })).toThrow(TypeError);
    expect(() => issueDevToken({ dir, rpps: '10001234567', profession: '10', ttlSeconds: 0 })).toThrow(TypeError);
    expect(() => issueDevToken({ dir: path.join(root, 'nothing-here'), rpps: '10001234567', profession: '10' })).toThrow(/ensureDevIssuer/);
  });
});
