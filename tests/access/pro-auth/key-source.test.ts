// ProKeys against a real HTTPS server (the development PKI's server certificate, trusted through its CA alone):
// a key rotated at the issuer is picked up by the first token naming it, at most one fetch per cooldown; while
// the issuer is unreachable or serves something unusable, tokens with known kids verify from the cache; http and
// discovery documents naming another issuer or an http jwks_uri are refused.
import fs from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ProKeys,
  ensureDevIssuer,
  issueDevToken,
  keyFetcherFor,
  remoteKeys,
  verifyProTokenWith,
  type DevIssuer,
  type KeyFetcher,
} from '../../../access/pro-auth/index.js';
import { initDevelopmentPki } from '../../../certs/index.js';
import { loadConfig } from '../../../config/index.js';
import { discoveryUrlOf } from '../../../config/rules/index.js';

const RPPS = '10001234567';
let dir: string;
let ca: string[];
let server: https.Server;
let origin: string;
/** What the issuer serves at each path, and how many requests each path got. */
const routes = new Map<string, () => unknown>();
const hits = new Map<string, number>();
let issuerUrl: string;
let a: DevIssuer;
let b: DevIssuer;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-prokeys-'));
  const pki = await initDevelopmentPki(path.join(dir, 'pki'));
  ca = [await fs.readFile(pki.ca, 'utf8')];
  server = https.createServer({ key: await fs.readFile(pki.server.key), cert: await fs.readFile(pki.server.cert) }, (req, res) => {
    const p = new URL(req.url ?? '/', 'https://x').pathname;
    hits.set(p, (hits.get(p) ?? 0) + 1);
    const body = routes.get(p);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuerUrl = `${origin}/realms/test`;
  a = ensureDevIssuer(path.join(dir, 'a'), issuerUrl);
  b = ensureDevIssuer(path.join(dir, 'b'), issuerUrl);
}, 60_000);
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const verifyOpts = () => ({ issuer: issuerUrl, audience: 'mes-gateway' });
const tokenOf = (issuer: DevIssuer) => issueDevToken({ dir: path.dirname(issuer.keyPath), rpps: RPPS, profession: '10' });
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** A token whose header names `kid` (its signature does not matter: an unknown kid is refused before). */
const withKid = (kid: string) => `${b64({ alg: 'RS256', typ: 'JWT', kid })}.${b64({ iss: issuerUrl })}.${Buffer.from('sig').toString('base64url')}`;
const served = (p: string, body: () => unknown) => {
  routes.set(p, body);
  hits.set(p, 0);
};
const keysFor = (fetcher: KeyFetcher, cooldownMs: number, failures: Error[] = []) =>
  new ProKeys({ fetcher, refreshMs: 600_000, cooldownMs, onFailure: (e) => failures.push(e) });

describe('ProKeys over HTTPS', () => {
  it('picks up a key rotated at the issuer on the first token naming its kid, and drops the withdrawn one', async () => {
    let jwks = a.jwks;
    served('/rotate/jwks.json', () => jwks);
    const keys = keysFor(remoteKeys(new URL(`${origin}/rotate/jwks.json`), { ca, timeoutMs: 5_000 }), 0);
    expect(await keys.init({ required: true })).toBe(true);
    expect(await verifyProTokenWith(keys, tokenOf(a), verifyOpts())).toMatchObject({ ok: true, pro: { rpps: RPPS } });
    expect(await verifyProTokenWith(keys, tokenOf(a), verifyOpts())).toMatchObject({ ok: true });
    expect(hits.get('/rotate/jwks.json'), 'known kids are served from the cache').toBe(1);

    jwks = b.jwks; // the issuer rotates: B in, A withdrawn
    expect(await verifyProTokenWith(keys, tokenOf(b), verifyOpts())).toMatchObject({ ok: true });
    expect(hits.get('/rotate/jwks.json')).toBe(2);
    expect(keys.current()).toEqual(b.jwks);
    expect(await verifyProTokenWith(keys, tokenOf(a), verifyOpts())).toEqual({ ok: false, reason: 'kid' });
  });

  it('fetches at most once per cooldown for unknown kids, and one fetch serves every request waiting on it', async () => {
    served('/burst/jwks.json', () => a.jwks);
    const cooling = keysFor(remoteKeys(new URL(`${origin}/burst/jwks.json`), { ca, timeoutMs: 5_000 }), 60_000);
    await cooling.init({ required: true });
    const made = await Promise.all(Array.from({ length: 20 }, (_, i) => verifyProTokenWith(cooling, withKid(`made-up-${i}`), verifyOpts())));
    expect(made.every((r) => !r.ok && r.reason === 'kid')).toBe(true);
    expect(hits.get('/burst/jwks.json'), 'inside the cooldown: no fetch').toBe(1);

    const eager = keysFor(remoteKeys(new URL(`${origin}/burst/jwks.json`), { ca, timeoutMs: 5_000 }), 0);
    await eager.init({ required: true });
    const rotated = await Promise.all(
      [...Array.from({ length: 10 }, (_, i) => withKid(`other-${i}`)), tokenOf(a)].map((t) => verifyProTokenWith(eager, t, verifyOpts())),
    );
    expect(rotated.at(-1)).toMatchObject({ ok: true });
    expect(hits.get('/burst/jwks.json'), 'one shared fetch after the first').toBe(3);
  });

  it('keeps verifying known kids from the cache when the issuer serves nothing usable or is unreachable', async () => {
    let body: unknown = a.jwks;
    served('/flaky/jwks.json', () => body);
    const failures: Error[] = [];
    const keys = keysFor(remoteKeys(new URL(`${origin}/flaky/jwks.json`), { ca, timeoutMs: 2_000 }), 0, failures);
    await keys.init({ required: true });
    const loadedAt = keys.loadedAt();

    for (const [bad, reason] of [
      [{ keys: [{ kty: 'RSA', n: 'x', e: 'AQAB', d: 'secret' }] }, /private key material/],
      [{ keys: [] }, /no key in the set/],
      [{ hello: 'world' }, /JWKS/],
    ] as const) {
      body = bad;
      expect(await keys.refresh()).toBe(false);
      expect(failures.at(-1)?.message).toMatch(reason);
      expect(await verifyProTokenWith(keys, tokenOf(a), verifyOpts())).toMatchObject({ ok: true });
    }
    routes.delete('/flaky/jwks.json'); // 404
    expect(await keys.refresh()).toBe(false);
    expect(failures.at(-1)?.message).toMatch(/200/);

    // Unreachable: nothing listens on that port any more.
    const gone = https.createServer();
    await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
    const port = (gone.address() as AddressInfo).port;
    await new Promise((r) => gone.close(r));
    const cached = new ProKeys({
      fetcher: remoteKeys(new URL(`https://127.0.0.1:${port}/jwks.json`), { ca, timeoutMs: 2_000 }),
      refreshMs: 600_000,
      cooldownMs: 0,
      onFailure: (e) => failures.push(e),
    });
    expect(await cached.init({ required: false })).toBe(false);
    expect(failures.at(-1)?.message).toMatch(/ECONNREFUSED/);
    expect(await verifyProTokenWith(cached, tokenOf(a), verifyOpts()), 'no keys yet: refused, never thrown').toEqual({ ok: false, reason: 'kid' });

    expect(keys.loadedAt()).toEqual(loadedAt);
    expect(await verifyProTokenWith(keys, tokenOf(b), verifyOpts()), 'an unknown kid while the issuer fails').toEqual({ ok: false, reason: 'kid' });
    expect(await verifyProTokenWith(keys, tokenOf(a), verifyOpts())).toMatchObject({ ok: true });
  });

  it('discovers the JWKS from PRO_ISSUER, and refuses a document naming another issuer or an http jwks_uri', async () => {
    const discovery = new URL(discoveryUrlOf(issuerUrl)).pathname;
    expect(discovery).toBe('/realms/test/.well-known/openid-configuration');
    let doc: Record<string, unknown> = { issuer: issuerUrl, jwks_uri: `${origin}/realms/test/certs` };
    served(discovery, () => doc);
    served('/realms/test/certs', () => a.jwks);
    const config = loadConfig({ PRO_JWKS_URL: 'discovery', PRO_ISSUER: issuerUrl });
    expect(config.pro.keys).toMatchObject({ kind: 'discovery' });
    expect(config.pro.usesDevIssuer).toBe(false);
    const failures: Error[] = [];
    const keys = keysFor(keyFetcherFor(config.pro.keys, { ca, timeoutMs: 5_000 }), 0, failures);
    expect(await keys.init({ required: true })).toBe(true);
    expect(await verifyProTokenWith(keys, tokenOf(a), verifyOpts())).toMatchObject({ ok: true });

    for (const [bad, reason] of [
      [{ issuer: 'https://evil.example', jwks_uri: `${origin}/realms/test/certs` }, /names issuer "https:\/\/evil.example", not PRO_ISSUER/],
      [{ issuer: issuerUrl, jwks_uri: `${origin.replace('https', 'http')}/realms/test/certs` }, /jwks_uri: only https:\/\/ URLs/],
    ] as const) {
      doc = bad;
      const other = keysFor(keyFetcherFor(config.pro.keys, { ca, timeoutMs: 5_000 }), 0, failures);
      expect(await other.init({ required: false })).toBe(false);
      expect(failures.at(-1)?.message).toMatch(reason);
    }
  });

  it('refuses http, credentials in the URL, and a file and a URL together', () => {
    expect(() => loadConfig({ PRO_JWKS_URL: `${origin.replace('https', 'http')}/jwks.json` })).toThrow(/PRO_JWKS_URL: only https:\/\/ URLs are accepted/);
    expect(() => loadConfig({ PRO_JWKS_URL: 'https://user:pw@idp.example/jwks.json' })).toThrow(/credentials/);
    expect(() => loadConfig({ PRO_JWKS_URL: 'discovery', PRO_ISSUER: 'http://idp.example' })).toThrow(/PRO_ISSUER .*https/);
    expect(() => loadConfig({ PRO_JWKS_URL: 'https://idp.example/jwks.json', PRO_JWKS_FILE: '/etc/jwks.json' })).toThrow(/both set/);
    expect(() => remoteKeys(new URL('http://127.0.0.1/jwks.json'), { timeoutMs: 1_000 })).toThrow(/https only/);
    expect(loadConfig({ PRO_JWKS_URL: 'https://idp.example/jwks.json' }).pro).toMatchObject({ keys: { kind: 'url' }, usesDevIssuer: false });
    expect(loadConfig({}).pro).toMatchObject({ keys: { kind: 'development' }, usesDevIssuer: true });
  });
});
