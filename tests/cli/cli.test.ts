// The operator CLI as an operator runs it: `pki init` files, and `patients import` on the embedded PostgreSQL
// both when no gateway runs (the CLI starts the server and stops it) and while one runs (the CLI uses the
// gateway's server and leaves it running); `whitelist import` from a file and from a real HTTPS server.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { sql } from 'drizzle-orm';
import { livePostmaster, schema } from '../../db/index.js';
import { buildWhitelistXml, initDevelopmentPki } from '../../certs/index.js';
import { importPatientsCsv, sendMail, startTestGateway, waitFor } from '../support/harness.js';
import { startChildGateway, stopGracefully, waitHealthy } from '../support/child-gateway.js';
import { freePort } from '../support/ports.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

const cli = (env: Record<string, string>, ...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'app/cli.ts', ...args], { cwd: ROOT, env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', ...env } });


describe('operator CLI', () => {
  it('pki init writes the documented files', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-cli-'));
    try {
      await cli({ DATA_DIR: dir }, 'pki', 'init');
      const pki = path.join(dir, 'pki');
      for (const f of [
        'ca.crt',
        'server.crt',
        'server.key',
        'operators/hopital-a.mssante.fr.crt',
        'operators/hopital-a.mssante.fr.key',
        'operators/cabinet-b.mssante.fr.crt',
        'operators/cabinet-b.mssante.fr.key',
        'untrusted/client.crt',
        'untrusted/client.key',
        'whitelist.xml',
      ]) {
        await expect(fs.access(path.join(pki, f)), f).resolves.toBeUndefined();
      }
      const xml = await fs.readFile(path.join(pki, 'whitelist.xml'), 'utf8');
      for (const d of ['hopital-a.mssante.fr', 'cabinet-b.mssante.fr', 'patient.mssante.fr']) expect(xml).toContain(`<Nom>${d}</Nom>`);
      expect((await fs.stat(path.join(pki, 'server.key'))).mode & 0o077).toBe(0);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('whitelist import installs a list from a file or an HTTPS URL with a summary, and refuses bad or older ones', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-cli-wl-'));
    const pki = await initDevelopmentPki(path.join(dir, 'pki'));
    const env = { DATA_DIR: dir, WHITELIST_CA_FILE: pki.ca };
    const list = (minutes: number, domains: string[]) =>
      buildWhitelistXml(domains.map((domain) => ({ domain, dn: `CN=smtp.${domain},O=TEST,C=FR` })), new Date(Math.floor(Date.now() / 1000) * 1000 + minutes * 60_000));
    const failure = (p: Promise<unknown>) => p.then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
    const installed = () => fs.readFile(pki.whitelist, 'utf8');
    const a = list(1, ['a.mssante.fr', 'b.mssante.fr', 'c.mssante.fr']);
    const older = list(-24 * 60, ['old.mssante.fr']);
    await fs.writeFile(path.join(dir, 'a.xml'), a);
    await fs.writeFile(path.join(dir, 'older.xml'), older);
    await fs.writeFile(path.join(dir, 'bad.xml'), '<ListeBlancheMSSante><ListeDomaines>');
    const served = list(2, ['a.mssante.fr', 'd.mssante.fr']);
    const server = https.createServer({ key: await fs.readFile(pki.server.key), cert: await fs.readFile(pki.server.cert) }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(served);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/listeblanchemssante.xml`;
    try {
      const fromFile = await cli(env, 'whitelist', 'import', path.join(dir, 'a.xml'));
      expect(fromFile.stdout).toMatch(/^whitelist installed in .*whitelist\.xml from .*a\.xml: 3 domains, 3 entries, generated \d{4}-\d\d-\d\dT/);
      expect(fromFile.stdout).toMatch(/next whitelist check/);
      expect(await installed()).toBe(a);

      const refused = await failure(cli(env, 'whitelist', 'import', path.join(dir, 'older.xml')));
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/whitelist refused, nothing installed: DateDeGeneration .* is older than the list in force .*--force/);
      expect(await installed()).toBe(a);
      expect((await cli(env, 'whitelist', 'import', path.join(dir, 'older.xml'), '--force')).stdout).toMatch(/1 domains, 1 entries/);
      expect(await installed()).toBe(older);

      const bad = await failure(cli(env, 'whitelist', 'import', path.join(dir, 'bad.xml')));
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/whitelist refused, nothing installed: Whitelist is not well-formed XML/);
      expect(await installed()).toBe(older);

      const fromUrl = await cli(env, 'whitelist', 'import', `${url}?token=s3cret`);
      expect(fromUrl.stdout).toContain(`from ${url}: 2 domains, 2 entries`);
      expect(fromUrl.stdout + fromUrl.stderr).not.toContain('s3cret');
      expect(await installed()).toBe(served);

      const plain = await failure(cli(env, 'whitelist', 'import', url.replace('https:', 'http:')));
      expect(plain.code).toBe(2);
      expect(plain.stderr).toMatch(/only https:\/\/ URLs are accepted/);
      const missing = await failure(cli(env, 'whitelist', 'import', path.join(dir, 'none.xml')));
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/ENOENT/);
      expect(await installed()).toBe(served);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('patients import works with and without a running gateway on the embedded PostgreSQL', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-cli-'));
    const smtpPort = await freePort();
    const apiPort = await freePort();
    const env = { DATA_DIR: dir, SMTP_PORT: String(smtpPort), API_PORT: String(apiPort), LOG_LEVEL: 'warn' };
    const header = 'ins,family_name,given_names,birth_date,email,state,provisional_code';
    const first = makeTestIns(880_001);
    const second = makeTestIns(880_002);
    await fs.writeFile(path.join(dir, 'a.csv'), `${header}\n${first},TEST-CLI,Un,1970-01-01,un@example.org,created,\n`);
    await fs.writeFile(path.join(dir, 'b.csv'), `${header}\n${second},TEST-CLI,Deux,1970-01-02,deux@example.org,created,\n`);
    await fs.writeFile(path.join(dir, 'bad.csv'), `${header}\n123,TEST-CLI,Trois,1970-01-02,trois@example.org,created,\n`);

    const direct = await cli(env, 'patients', 'import', path.join(dir, 'a.csv'));
    expect(direct.stdout).toMatch(/imported: 1 created, 0 updated/);
    expect(livePostmaster(path.join(dir, 'pg')), 'the CLI stops the server it started').toBeNull();
    await fs.writeFile(path.join(dir, 'dir.csv'), 'address,rpps,profession_code,display_name\ndr.x@hopital-a.mssante.fr,10001,10,Dr X\n');
    expect((await cli(env, 'directory', 'import', path.join(dir, 'dir.csv'))).stdout).toMatch(/imported: 1 entries/);
    const bad = await cli(env, 'patients', 'import', path.join(dir, 'bad.csv')).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).toBe(2);
    expect((bad as { stderr: string }).stderr).toMatch(/line 2: .*ins/i);

    const gw = startChildGateway({ DATABASE_URL: '', REDIS_URL: '', ...env });
    try {
      await waitHealthy(apiPort, gw);
      const server = livePostmaster(path.join(dir, 'pg'));
      expect(server).not.toBeNull();
      const via = await cli(env, 'patients', 'import', path.join(dir, 'b.csv'));
      expect(via.stdout).toMatch(/imported: 1 created, 0 updated/);
      expect((await cli(env, 'directory', 'import', path.join(dir, 'dir.csv'))).stdout).toMatch(/imported: 1 entries/);
      expect(livePostmaster(path.join(dir, 'pg'))?.pid, "the CLI leaves the gateway's server running").toBe(server!.pid);
      const base = { port: smtpPort, pki: path.join(dir, 'pki'), cert: 'hopital-a.mssante.fr' as const, from: 'dr@hopital-a.mssante.fr' };
      expect((await sendMail({ ...base, to: [`${first}@patient.mssante.fr`] })).ok).toBe(true);
      expect((await sendMail({ ...base, to: [`${second}@patient.mssante.fr`] })).ok).toBe(true);
    } finally {
      await stopGracefully(gw);
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('activity verify detects a tampered history row', async () => {
    const t = await startTestGateway();
    const ins = makeTestIns(880_101);
    try {
      await importPatientsCsv(t, `ins,family_name,given_names,birth_date,email,state,provisional_code\n${ins},TEST-CLI,V,1970-01-01,v@example.org,created,\n`);
      for (let i = 0; i < 3; i++) {
        expect((await sendMail({ port: t.gw.smtpPort!, pki: t.pki, cert: 'hopital-a.mssante.fr', from: 'dr@hopital-a.mssante.fr', to: [`${ins}@patient.mssante.fr`] })).ok).toBe(true);
      }
      await waitFor(async () => (await t.gw.database.db.select().from(schema.activityEvents)).length === 3, 30_000, 'three events');
    } finally {
      await t.close();
    }
    const env = { DATA_DIR: t.dataDir, DATABASE_URL: t.databaseUrl!, REDIS_URL: '' };
    expect((await cli(env, 'activity', 'verify', ins)).stdout).toMatch(/intact/);
    const { openDatabase } = await import('../../db/index.js');
    const database = await openDatabase({ databaseUrl: t.databaseUrl, dataDir: t.dataDir });
    try {
      // Triggers refuse the change; a superuser switches them off, as an intruder with full database access could.
      await database.db.transaction(async (tx) => {
        await tx.execute(sql`SET LOCAL session_replication_role = replica`);
        await tx.execute(sql`UPDATE activity_events SET actor = 'forged@hopital-a.mssante.fr' WHERE id = (SELECT min(id) + 1 FROM activity_events)`);
      });
    } finally {
      await database.close();
    }
    const broken = await cli(env, 'activity', 'verify', ins).catch((e: { code: number; stderr: string }) => e);
    expect((broken as { code: number }).code).toBe(1);
    expect((broken as { stderr: string }).stderr).toMatch(/BROKEN at position 2/);
  }, 120_000);
});
