// NODE_ENV=production as a real child process (`node --import tsx app/main.ts`): on development defaults it exits
// non-zero with one error naming every missing setting, having generated nothing; with explicit trust material it
// starts, and still generates no PKI, issuer or master key in DATA_DIR.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureDevIssuer } from '../../access/pro-auth/index.js';
import { initDevelopmentPki } from '../../certs/index.js';
import { startChildGateway, stopGracefully, waitHealthy, killGroup } from '../support/child-gateway.js';
import { createTestDatabase } from '../support/harness.js';
import { freePort } from '../support/ports.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) await killGroup(c);
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

async function tmp(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-prod-'));
  dirs.push(d);
  return d;
}

/** Runs the gateway until it exits; resolves its exit code and stderr. */
function runToExit(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = startChildGateway(env, { detached: false });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

// Variables a developer's shell (or the test runner) may carry that would configure what is under test.
/** Trust material made explicitly, as production wants it: a PKI, an issuer's JWKS, and the given master key. */
async function explicitTrust(trust: string, key: string): Promise<Record<string, string>> {
  await initDevelopmentPki(path.join(trust, 'pki'));
  const issuer = ensureDevIssuer(path.join(trust, 'oidc'), 'https://pro-auth.example.org');
  return {
    PKI_DIR: path.join(trust, 'pki'),
    TRUST_ANCHORS: path.join(trust, 'pki', 'ca.crt'),
    WHITELIST_FILE: path.join(trust, 'pki', 'whitelist.xml'),
    PRO_JWKS_FILE: issuer.jwksPath,
    PRO_ISSUER: 'https://pro-auth.example.org',
    MASTER_KEY_FILE: key,
  };
}

const CLEAR = {
  TRUST_ANCHORS: '',
  WHITELIST_FILE: '',
  PRO_JWKS_FILE: '',
  PRO_JWKS_URL: '',
  PRO_ISSUER: '',
  MASTER_KEY_FILE: '',
  PKI_DIR: '',
  DATABASE_URL: '',
};

describe('NODE_ENV=production', () => {
  it('refuses to start on development defaults, naming every missing setting, and generates nothing', async () => {
    const dataDir = await tmp();
    const r = await runToExit({ ...CLEAR, NODE_ENV: 'production', DATA_DIR: dataDir, SMTP_PORT: '0', API_PORT: '0' });
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    for (const name of ['TRUST_ANCHORS', 'WHITELIST_FILE', 'PKI_DIR', 'PRO_JWKS_URL', 'PRO_JWKS_FILE', 'PRO_ISSUER', 'MASTER_KEY_FILE'])
      expect(r.stderr).toContain(name);
    expect(r.stderr).toMatch(/NODE_ENV=production: refusing to start/);
    // Nothing was generated: no PKI, no issuer key, no master key, no database.
    expect(await fs.readdir(dataDir)).toEqual([]);
  }, 60_000);

  it('refuses a master key readable by others, naming MASTER_KEY_FILE and its mode', async () => {
    const dataDir = await tmp();
    const trust = await tmp();
    const key = path.join(trust, 'master.key');
    await fs.writeFile(key, `${crypto.randomBytes(32).toString('base64')}\n`, { mode: 0o644 });
    await fs.chmod(key, 0o644);
    const r = await runToExit({ ...CLEAR, NODE_ENV: 'production', DATA_DIR: dataDir, ...(await explicitTrust(trust, key)) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('MASTER_KEY_FILE');
    expect(r.stderr).toContain('mode 0644');
    for (const name of ['TRUST_ANCHORS', 'WHITELIST_FILE', 'PKI_DIR', 'PRO_JWKS_URL', 'PRO_ISSUER']) expect(r.stderr).not.toContain(`- ${name}:`);
  }, 60_000);

  it('starts with explicit trust material and a 0600 key outside DATA_DIR, generating no trust material', async () => {
    const dataDir = await tmp();
    const trust = await tmp();
    const key = path.join(trust, 'keys', 'master.key');
    await fs.mkdir(path.dirname(key), { mode: 0o700 });
    await fs.writeFile(key, `${crypto.randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const apiPort = await freePort();
    const child = startChildGateway({
      ...CLEAR,
      NODE_ENV: 'production',
      DATA_DIR: dataDir,
      DATABASE_URL: await createTestDatabase(),
      SMTP_PORT: String(await freePort()),
      API_PORT: String(apiPort),
      ...(await explicitTrust(trust, key)),
    });
    children.push(child);
    await waitHealthy(apiPort, child);
    const entries = await fs.readdir(dataDir);
    expect(entries).not.toContain('pki');
    expect(entries).not.toContain('keys');
    await stopGracefully(child);
    expect(child.exitCode).toBe(0);
  }, 120_000);
});
