// The professional API with PRO_JWKS_URL, through the whole gateway (harness, real PostgreSQL), the identity
// provider a real HTTPS server with the development PKI's certificate (trusted through PRO_JWKS_CA_FILE only):
// the keys are fetched at start, a key rotated at the provider is picked up on the first token naming it, and
// while the provider is unreachable tokens with known kids are still accepted (an alert is logged); a provider
// down at start does not stop the gateway.
import fs from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureDevIssuer, issueDevToken, type DevIssuer } from '../../access/pro-auth/index.js';
import { makeTestIns } from '../../access/rules/ins.js';
import { initDevelopmentPki } from '../../certs/index.js';
import { startTestGateway, type TestGateway } from '../support/harness.js';

const dirs: string[] = [];
const gateways: TestGateway[] = [];
afterAll(async () => {
  for (const t of gateways) await t.close();
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

/** A development PKI in a fresh DATA_DIR (the gateway adopts it) and an HTTPS server with its certificate. */
async function provider() {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-prokeys-gw-'));
  dirs.push(dataDir);
  const pki = await initDevelopmentPki(path.join(dataDir, 'pki'));
  let jwks: unknown = { keys: [] };
  let hits = 0;
  const server = https.createServer({ key: await fs.readFile(pki.server.key), cert: await fs.readFile(pki.server.cert) }, (_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    dataDir,
    ca: pki.ca,
    origin,
    serve: (v: unknown) => (jwks = v),
    hits: () => hits,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const ins = makeTestIns(880_301);
/** 403 (API-PRO-03: no access to this patient) means the token was accepted; 401 says why it was not. */
async function proGet(t: TestGateway, token: string): Promise<{ status: number; detail?: string }> {
  const res = await fetch(`http://127.0.0.1:${t.gw.apiPort}/v1/patients/${ins}/documents`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as { code?: string; detail?: string };
  return { status: res.status, detail: body.detail };
}

describe('professional tokens with PRO_JWKS_URL', () => {
  it('fetches the keys at start, picks up a rotated key on an unknown kid, and keeps known kids while the provider is down', async () => {
    const p = await provider();
    const issuerUrl = `${p.origin}/realms/test`;
    const a: DevIssuer = ensureDevIssuer(path.join(p.dataDir, 'issuer-a'), issuerUrl);
    const b: DevIssuer = ensureDevIssuer(path.join(p.dataDir, 'issuer-b'), issuerUrl);
    const token = (i: DevIssuer) => issueDevToken({ dir: path.dirname(i.keyPath), rpps: '10001234567', profession: '10' });
    p.serve(a.jwks);
    const logs = new PassThrough();
    let logged = '';
    logs.on('data', (d: Buffer) => (logged += d.toString()));
    const t = await startTestGateway({
      dataDir: p.dataDir,
      logDestination: logs,
      env: {
        LOG_LEVEL: 'info',
        API_EXPOSE: 'metrics',
        PRO_ISSUER: issuerUrl,
        PRO_JWKS_URL: `${p.origin}/jwks.json`,
        PRO_JWKS_CA_FILE: p.ca,
        LIMIT_PRO_JWKS_COOLDOWN_MS: '0',
      },
    });
    gateways.push(t);
    try {
      expect(p.hits()).toBe(1);
      await expect(fs.access(path.join(p.dataDir, 'pki', 'oidc')), 'no development issuer with PRO_JWKS_URL').rejects.toThrow();
      expect(await proGet(t, token(a))).toMatchObject({ status: 403 });
      expect(await proGet(t, token(b))).toEqual({ status: 401, detail: 'kid' }); // not published yet (a fetch was tried)
      expect(p.hits()).toBe(2);

      p.serve({ keys: [...a.jwks.keys, ...b.jwks.keys] }); // the provider adds its next key
      expect(await proGet(t, token(b))).toMatchObject({ status: 403 });
      expect(p.hits()).toBe(3);
      expect(await proGet(t, token(a))).toMatchObject({ status: 403 });
      expect(p.hits(), 'known kids: no fetch').toBe(3);
      const metrics = await (await fetch(`http://127.0.0.1:${t.gw.apiPort}/metrics`)).text();
      expect(metrics).toMatch(/^mesgw_pro_jwks_age_seconds \d/m);

      await p.stop();
      const c = ensureDevIssuer(path.join(p.dataDir, 'issuer-c'), issuerUrl);
      expect(await proGet(t, token(c))).toEqual({ status: 401, detail: 'kid' });
      expect(await proGet(t, token(a))).toMatchObject({ status: 403 });
      expect(await proGet(t, token(b))).toMatchObject({ status: 403 });
      expect(logged).toMatch(/"alert":"PRO-JWKS"/);
    } finally {
      await p.stop().catch(() => {});
    }
  }, 120_000);

  it('starts while the provider is unreachable and refuses tokens until its keys arrive', async () => {
    const p = await provider();
    await p.stop(); // nothing listens there any more
    const issuerUrl = `${p.origin}/realms/test`;
    const a = ensureDevIssuer(path.join(p.dataDir, 'issuer-a'), issuerUrl);
    const t = await startTestGateway({
      dataDir: p.dataDir,
      env: { PRO_ISSUER: issuerUrl, PRO_JWKS_URL: `${p.origin}/jwks.json`, PRO_JWKS_CA_FILE: p.ca, LIMIT_PRO_JWKS_TIMEOUT_MS: '1000' },
    });
    gateways.push(t);
    expect(await proGet(t, issueDevToken({ dir: path.dirname(a.keyPath), rpps: '10001234567', profession: '10' }))).toEqual({ status: 401, detail: 'kid' });
    expect((await fetch(`http://127.0.0.1:${t.gw.apiPort}/health`)).status).toBe(200);
  }, 120_000);
});
