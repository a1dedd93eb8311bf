// The compiled production build, as `npm run build` makes it (into a private folder, so a running `npm start`
// keeps its dist/): started with plain `node` from another working directory, it finds its SQL migrations and the
// webmail's files, serves /health, /ready and the webmail, and its CLI runs; every package its code imports is a
// production dependency (the image installs no others); and a production start (NODE_ENV=production, trust
// material given, CRLs loaded) never loads node-forge, which only mints development certificates. The
// node-forge check reads the CommonJS module cache at exit, where node-forge lands however it is loaded (a static
// import or the lazy require of certs/pki.ts); a CLI `pki init` from the same build shows that it does see it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevIssuer } from '../../access/pro-auth/index.js';
import { initDevelopmentPki } from '../../certs/index.js';
import { killGroup, stopGracefully, waitHealthy } from '../support/child-gateway.js';
import { makeTestIns } from '../../access/rules/ins.js';
import { createTestDatabase, sendMail } from '../support/harness.js';
import { freePort } from '../support/ports.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.join(ROOT, 'node_modules', '.cache', 'mesgw-build-test', crypto.randomBytes(4).toString('hex'));
const dirs: string[] = [OUT];
const children: ChildProcess[] = [];
let recorder = '';

// Settings of the developer's shell or of the test run that would configure what is under test.
const CLEAR = {
  DATABASE_URL: '',
  REDIS_URL: '',
  TRUST_ANCHORS: '',
  WHITELIST_FILE: '',
  PKI_DIR: '',
  PRO_JWKS_FILE: '',
  PRO_JWKS_URL: '',
  PRO_ISSUER: '',
  MASTER_KEY_FILE: '',
  CRL_FILE: '',
  PRO_API_MTLS_PORT: '',
  NODE_ENV: '',
  LOG_LEVEL: 'warn',
};

async function tmp(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-build-'));
  await fs.chmod(d, 0o711); // run as root, the embedded PostgreSQL server's user must be able to enter it
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  await run('npm', ['run', '-s', 'build', '--', '--outDir', OUT], { cwd: ROOT }).catch((err: Error & { stdout?: string; stderr?: string }) => {
    throw new Error(`npm run build failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  });
  // Preloaded into the children: at exit, the files of every CommonJS module loaded, one per line.
  const d = await tmp();
  recorder = path.join(d, 'record-modules.cjs');
  await fs.writeFile(
    recorder,
    "const fs = require('node:fs');\nprocess.on('exit', () => fs.writeFileSync(process.env.MESGW_MODULE_LOG, Object.keys(require.cache).join('\\n')));\n",
  );
}, 180_000);

afterAll(async () => {
  for (const c of children) await killGroup(c);
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

/** `node <build>/app/<entry>` from a temporary working directory, recording the modules it loads into `log`. */
function startBuilt(entry: string, args: string[], env: Record<string, string>, log: string): ChildProcess {
  const child = spawn(process.execPath, ['--require', recorder, path.join(OUT, 'app', entry), ...args], {
    cwd: os.tmpdir(),
    env: { ...process.env, ...CLEAR, ...env, MESGW_MODULE_LOG: log },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

async function runBuilt(
  entry: string,
  args: string[],
  env: Record<string, string>,
  log: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = startBuilt(entry, args, env, log);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

const loadedForge = async (log: string): Promise<string[]> =>
  (await fs.readFile(log, 'utf8')).split('\n').filter((f) => f.includes(`${path.sep}node_modules${path.sep}node-forge${path.sep}`));

describe('the compiled build', () => {
  it('starts on the embedded defaults with plain node, serves mail, /health, /ready and the webmail, and its CLI runs', async () => {
    const work = await tmp();
    const dataDir = path.join(work, 'data');
    const apiPort = await freePort();
    const smtpPort = await freePort();
    const env = { DATA_DIR: dataDir, SMTP_PORT: String(smtpPort), API_PORT: String(apiPort) };
    const child = startBuilt('main.js', [], env, path.join(work, 'gateway.modules'));
    child.stdout!.resume();
    await waitHealthy(apiPort, child);
    const base = `http://127.0.0.1:${apiPort}`;
    expect((await fetch(`${base}/ready`)).status).toBe(200); // its migrations ran on the embedded server
    const index = await fetch(`${base}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await index.text()).toBe(await fs.readFile(path.join(ROOT, 'web', 'index.html'), 'utf8'));
    const app = await fetch(`${base}/assets/app.js`);
    expect(await app.text()).toBe(await fs.readFile(path.join(ROOT, 'web', 'app.js'), 'utf8'));
    expect((await fetch(`${base}/vendor/purify.es.mjs`)).status).toBe(200);

    // The CLI of the same build, next to the running gateway: a guest of its embedded server.
    const migrate = await runBuilt('cli.js', ['migrate'], env, path.join(work, 'migrate.modules'));
    expect(migrate.stderr).toBe('');
    expect(migrate.stdout).toContain('migrations applied');
    expect(migrate.code).toBe(0);
    const replies = await runBuilt('cli.js', ['replies'], env, path.join(work, 'replies.modules'));
    expect(replies.code).toBe(0);
    expect(replies.stdout).toContain('`GW-DATA-00`');

    // Mail: a patient provisioned with the build's CLI, then a message over STARTTLS with an operator's certificate.
    const ins = makeTestIns(9901);
    const csv = path.join(work, 'patients.csv');
    await fs.writeFile(
      csv,
      `ins,family_name,given_names,birth_date,email,state,provisional_code\n${ins},TEST-BUILD,P,1970-01-01,build9901@example.org,created,\n`,
    );
    const imported = await runBuilt('cli.js', ['patients', 'import', csv], env, path.join(work, 'import.modules'));
    expect(imported.code).toBe(0);
    const sent = await sendMail({
      port: smtpPort,
      pki: path.join(dataDir, 'pki'),
      cert: 'hopital-a.mssante.fr',
      from: 'labo@hopital-a.mssante.fr',
      to: [`${ins}@patient.mssante.fr`],
    });
    expect(sent.response).toMatch(/^250 /);

    await stopGracefully(child);
    expect(child.exitCode).toBe(0);
    // A development start mints its PKI: node-forge was loaded there, as it should be.
    expect((await loadedForge(path.join(work, 'gateway.modules'))).length).toBeGreaterThan(0);
  }, 180_000);

  it('imports only production dependencies (the image installs no others)', async () => {
    const pkg = JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const builtins = new Set(builtinModules);
    const packages = new Set<string>();
    const files = (await fs.readdir(OUT, { recursive: true })).filter((f) => f.endsWith('.js'));
    expect(files).toContain(path.join('app', 'main.js'));
    expect(files).toContain(path.join('app', 'cli.js'));
    for (const file of files) {
      const code = await fs.readFile(path.join(OUT, file), 'utf8');
      const specifiers = [
        ...code.matchAll(/^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm), // import … from 'x', export … from 'x'
        ...code.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm), // import 'x'
        ...code.matchAll(/\b(?:import|require\w*)\(\s*['"]([^'"]+)['"]\s*\)/g), // import('x'), require('x'), requireCjs('x')
      ].map((m) => m[1]!);
      for (const s of specifiers) {
        if (s.startsWith('.') || s.startsWith('node:') || builtins.has(s)) continue;
        packages.add(s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!);
      }
    }
    expect(packages.size).toBeGreaterThan(10);
    const notProduction = [...packages].filter((p) => !(p in pkg.dependencies));
    expect(notProduction, 'imported by the build but not in "dependencies"').toEqual([]);
    expect(packages).toContain('node-forge'); // the scan sees the lazy require too
    expect(pkg.dependencies).not.toHaveProperty('tsx');
  });

  it('never loads node-forge when it starts for production (trust material given, CRLs loaded)', async () => {
    const work = await tmp();
    const trust = path.join(work, 'trust');
    const pki = await initDevelopmentPki(path.join(trust, 'pki'));
    const issuer = ensureDevIssuer(path.join(trust, 'oidc'), 'https://pro-auth.example.org');
    const key = path.join(trust, 'master.key');
    await fs.writeFile(key, `${crypto.randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const apiPort = await freePort();
    const env = {
      NODE_ENV: 'production',
      DATA_DIR: path.join(work, 'data'),
      DATABASE_URL: await createTestDatabase(),
      SMTP_PORT: String(await freePort()),
      API_PORT: String(apiPort),
      PKI_DIR: pki.dir,
      TRUST_ANCHORS: pki.ca,
      CRL_FILE: pki.crl,
      WHITELIST_FILE: pki.whitelist,
      PRO_JWKS_FILE: issuer.jwksPath,
      PRO_ISSUER: 'https://pro-auth.example.org',
      MASTER_KEY_FILE: key,
    };
    const log = path.join(work, 'production.modules');
    const child = startBuilt('main.js', [], env, log);
    child.stdout!.resume();
    await waitHealthy(apiPort, child);
    expect((await fetch(`http://127.0.0.1:${apiPort}/ready`)).status).toBe(200);
    await stopGracefully(child);
    expect(child.exitCode).toBe(0);
    const modules = (await fs.readFile(log, 'utf8')).split('\n');
    expect(modules.some((f) => f.includes(`${path.sep}node_modules${path.sep}fastify${path.sep}`))).toBe(true); // the record is real
    expect(await loadedForge(log)).toEqual([]);

    // The same build minting a development PKI does load it: the check sees what it looks for.
    const mint = await runBuilt('cli.js', ['pki', 'init'], { PKI_DIR: path.join(work, 'minted') }, path.join(work, 'mint.modules'));
    expect(mint.code).toBe(0);
    expect((await loadedForge(path.join(work, 'mint.modules'))).length).toBeGreaterThan(0);
  }, 180_000);
});
