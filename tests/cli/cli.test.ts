// The operator CLI as an operator runs it: `pki init` files, and `patients import` on the embedded PostgreSQL
// both when no gateway runs (the CLI starts the server and stops it) and while one runs (the CLI uses the
// gateway's server and leaves it running).
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { sql } from 'drizzle-orm';
import { livePostmaster, schema } from '../../db/index.js';
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
