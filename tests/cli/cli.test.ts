// The operator CLI as an operator runs it: `pki init` files, and `patients import` on the embedded PostgreSQL
// both when no gateway runs (the CLI starts the server and stops it) and while one runs (the CLI uses the
// gateway's server and leaves it running); `whitelist import` from a file and from a real HTTPS server; `--help`
// for every command, `--x=y` options, progress on stderr and the summary on stdout, the documented exit codes.
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
import { createTestDatabase, importPatientsCsv, sendMail, startTestGateway, waitFor } from '../support/harness.js';
import { startChildGateway, stopGracefully, waitHealthy } from '../support/child-gateway.js';
import { freePort } from '../support/ports.js';
import { COMMANDS, EXIT_CODES, exitCodesTable } from '../../app/cli-spec.js';
import { ensureDevIssuer, verifyProToken } from '../../access/pro-auth/index.js';
import { ROTATION_STEPS } from '../../vault/key-rotation.js';
import { readIdentity } from '../../access/index.js';
import { loadKeyring } from '../../vault/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

const cli = (env: Record<string, string>, ...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'app/cli.ts', ...args], { cwd: ROOT, env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', ...env } });
/** The exit code and output of a run that may fail. */
const outcome = (p: Promise<{ stdout: string; stderr: string }>) =>
  p.then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe('operator CLI', () => {
  it('answers --help for every command on stdout (exit 0), and refuses unknown commands, options and missing arguments (exit 2)', async () => {
    for (const c of COMMANDS) {
      const help = await cli({}, ...c.words, '--help');
      expect(help.stdout, c.words.join(' ')).toMatch(new RegExp(`^usage: npm run cli -- ${c.words.join(' ')}`));
      expect(help.stdout).toContain(c.summary);
      for (const option of Object.keys(c.options)) expect(help.stdout).toContain(`--${option}`);
    }
    expect((await cli({}, 'help', 'whitelist', 'import')).stdout).toMatch(/^usage: npm run cli -- whitelist import FILE\|URL \[--force\] \[--progress\]/);
    const overall = await cli({}, '--help');
    for (const c of COMMANDS) expect(overall.stdout).toContain(c.words.join(' '));
    for (const e of Object.values(EXIT_CODES)) expect(overall.stdout).toContain(`${e.code}  ${e.name}`);

    const unknownOption = await outcome(cli({}, 'patients', 'import', '--dry-run', 'x.csv'));
    expect(unknownOption).toMatchObject({ code: EXIT_CODES.refused.code, stdout: '' });
    expect(unknownOption.stderr).toMatch(/Unknown option '--dry-run'[\s\S]*usage: npm run cli -- patients import FILE.csv/);
    expect(await outcome(cli({}, 'patients', 'import'))).toMatchObject({ code: 2, stderr: expect.stringMatching(/expected FILE.csv, got none/) });
    expect(await outcome(cli({}, 'migrate', 'now'))).toMatchObject({ code: 2, stderr: expect.stringMatching(/no argument expected, got now/) });
    expect(await outcome(cli({}, 'patients', 'delete'))).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command: patients delete/) });
    expect(await outcome(cli({}))).toMatchObject({ code: 2, stderr: expect.stringMatching(/no command/) });
  }, 180_000);

  it('takes --x=y and --x y alike (ps token), and refuses bad values with exit 2', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-cli-token-'));
    try {
      const env = { DATA_DIR: dir };
      const joined = (await cli(env, 'ps', 'token', '--rpps=10001234567', '--profession=10', '--name=Dr Test', '--ttl=600')).stdout.trim();
      const spaced = (await cli(env, 'ps', 'token', '--rpps', '10001234567', '--profession', '10', '--name', 'Dr Test', '--ttl', '600')).stdout.trim();
      const issuer = ensureDevIssuer(path.join(dir, 'pki', 'oidc'));
      for (const token of [joined, spaced]) {
        expect(verifyProToken(token, { jwks: issuer.jwks, issuer: issuer.issuer, audience: 'mes-gateway' })).toMatchObject({
          ok: true,
          pro: { rpps: '10001234567', profession: '10', name: 'Dr Test' },
        });
        const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { iat: number; exp: number };
        expect(claims.exp - claims.iat).toBe(600);
      }
      expect(await outcome(cli(env, 'ps', 'token', '--rpps=123', '--profession=10'))).toMatchObject({
        code: 2,
        stderr: expect.stringMatching(/rpps must be 11 digits/),
      });
      expect(await outcome(cli(env, 'ps', 'token', '--profession=10'))).toMatchObject({
        code: 2,
        stderr: expect.stringMatching(/--rpps and --profession are required/),
      });
      expect(await outcome(cli(env, 'ps', 'token', '--rpps=10001234567', '--profession=10', '--ttl=soon'))).toMatchObject({ code: 2 });
      expect(
        await outcome(cli({ ...env, PRO_JWKS_URL: 'https://idp.example/jwks.json' }, 'ps', 'token', '--rpps=10001234567', '--profession=10')),
      ).toMatchObject({
        code: 2,
        stderr: expect.stringMatching(/real identity provider/),
      });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('reports progress on stderr (with --progress, or a terminal) and the summary alone on stdout, for imports and key rotation', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-cli-progress-'));
    try {
      const env = { DATA_DIR: dir, DATABASE_URL: await createTestDatabase() };
      const header = 'ins,family_name,given_names,birth_date,email,state,provisional_code';
      await fs.writeFile(
        path.join(dir, 'p.csv'),
        `${header}\n${makeTestIns(880_201)},TEST-CLI,Un,1970-01-01,un@example.org,created,\n${makeTestIns(880_202)},TEST-CLI,Deux,1970-01-02,deux@example.org,created,\n`,
      );
      const imported = await cli(env, 'patients', 'import', '--progress', path.join(dir, 'p.csv'));
      expect(imported.stdout).toBe('imported: 2 created, 0 updated, 0 unchanged\n');
      expect(imported.stderr).toMatch(
        /^\[\d+\.\d s\] reading .*p\.csv\n\[\d+\.\d s\] 2 rows checked\n\[\d+\.\d s\] opening the database\n\[\d+\.\d s\] importing 2 profiles/,
      );
      const quiet = await cli(env, 'patients', 'import', path.join(dir, 'p.csv'));
      expect(quiet).toMatchObject({ stdout: 'imported: 0 created, 0 updated, 2 unchanged\n', stderr: '' }); // stderr is a pipe here

      await fs.writeFile(path.join(dir, 'd.csv'), 'address,rpps,profession_code,display_name\ndr.x@hopital-a.mssante.fr,10001,10,Dr X\n');
      const directory = await cli(env, 'directory', 'import', '--progress', path.join(dir, 'd.csv'));
      expect(directory.stdout).toBe('imported: 1 entries\n');
      expect(directory.stderr).toMatch(/1 entries checked; importing them/);

      const rotated = await cli(env, 'keys', 'rotate', '--progress');
      expect(rotated.stdout).toMatch(/^new master key \S+: \d+ blob keys and \d+ sealed values re-wrapped, 0 left; .*confirmed/);
      expect(rotated.stdout.split('\n').filter(Boolean)).toHaveLength(1);
      const steps = [...rotated.stderr.matchAll(/step (\d+\/\d+) done: (\S+)/g)].map((m) => `${m[1]} ${m[2]}`);
      expect(steps).toEqual(ROTATION_STEPS.map((step, i) => `${i + 1}/${ROTATION_STEPS.length} ${step}`)); // each crash-safe step, once durable
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it("documents the exit codes in the README's Operator CLI section", async () => {
    const readme = await fs.readFile(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Operator CLI'), readme.indexOf('\n## ', readme.indexOf('## Operator CLI') + 1));
    expect(section).toContain(exitCodesTable());
  });

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
      buildWhitelistXml(
        domains.map((domain) => ({ domain, dn: `CN=smtp.${domain},O=TEST,C=FR` })),
        new Date(Math.floor(Date.now() / 1000) * 1000 + minutes * 60_000),
      );
    const failure = (p: Promise<unknown>) =>
      p.then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
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

  it('patients and directory import read a `;` Windows-1252 file, say so, and refuse undecodable bytes with the line', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-cli-csv-'));
    const env = { DATA_DIR: dir, DATABASE_URL: await createTestDatabase() };
    const cp1252 = (text: string) => Buffer.from([...text].map((ch) => (ch === '’' ? 0x92 : ch.codePointAt(0)!)));
    const ins = makeTestIns(880_201);
    try {
      await fs.writeFile(
        path.join(dir, 'excel.csv'),
        cp1252(`ins;family_name;given_names;birth_date;email;state;provisional_code\r\n${ins};D’Arc-Lefèvre;Hélène;1970-01-01;helene@example.org;created;\r\n`),
      );
      const ok = await cli(env, 'patients', 'import', path.join(dir, 'excel.csv'));
      expect(ok.stdout).toMatch(/file read as Windows-1252/);
      expect(ok.stdout).toMatch(/imported: 1 created, 0 updated/);
      const { openDatabase } = await import('../../db/index.js');
      const database = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: dir });
      try {
        const keyring = await loadKeyring(path.join(dir, 'keys', 'master.key'), false);
        const [p] = await database.db.select().from(schema.patients);
        expect(readIdentity(keyring, p!.ins, p!.identity)).toMatchObject({ familyName: 'D’Arc-Lefèvre', givenNames: 'Hélène' });
      } finally {
        await database.close();
      }
      await fs.writeFile(
        path.join(dir, 'bad.csv'),
        Buffer.concat([
          Buffer.from(`ins,family_name,given_names,birth_date,email,state,provisional_code\n${makeTestIns(880_202)},Du`),
          Buffer.from([0x81]),
          Buffer.from('pont,X,1970-01-01,x@example.org,created,\n'),
        ]),
      );
      const bad = await cli(env, 'patients', 'import', path.join(dir, 'bad.csv')).catch((e: { code: number; stderr: string }) => e);
      expect((bad as { code: number }).code).toBe(2);
      expect((bad as { stderr: string }).stderr).toMatch(/line 2: the file is neither UTF-8 nor Windows-1252 text \(byte 0x81\)[^\n]*CSV UTF-8/);
      expect((bad as { stderr: string }).stderr).toMatch(/nothing imported/);
      await fs.writeFile(
        path.join(dir, 'dir.csv'),
        cp1252('address;rpps;profession_code;display_name\r\ndr.lefevre@hopital-a.mssante.fr;10009;10;Dr Hélène Lefèvre\r\n'),
      );
      const d = await cli(env, 'directory', 'import', path.join(dir, 'dir.csv'));
      expect(d.stdout).toMatch(/file read as Windows-1252[\s\S]*imported: 1 entries/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('activity verify detects a tampered history row', async () => {
    const t = await startTestGateway();
    const ins = makeTestIns(880_101);
    try {
      await importPatientsCsv(t, `ins,family_name,given_names,birth_date,email,state,provisional_code\n${ins},TEST-CLI,V,1970-01-01,v@example.org,created,\n`);
      for (let i = 0; i < 3; i++) {
        expect(
          (
            await sendMail({
              port: t.gw.smtpPort!,
              pki: t.pki,
              cert: 'hopital-a.mssante.fr',
              from: 'dr@hopital-a.mssante.fr',
              to: [`${ins}@patient.mssante.fr`],
            })
          ).ok,
        ).toBe(true);
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
