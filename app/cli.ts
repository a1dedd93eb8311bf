/**
 * Operator CLI: `npm run cli -- <command>`.
 *   pki init [--force]          development PKI + whitelist under $PKI_DIR (default $DATA_DIR/pki)
 *   patients import FILE.csv    provision profiles (all rows or none)
 *   directory import FILE.csv   professionals' directory: address,rpps,profession_code,display_name
 *   ps token --rpps RPPS --profession CODE [--name NAME] [--organisation ORG] [--ttl SECONDS]
 *                               a development professional bearer token (development issuer under $PKI_DIR/oidc)
 *   activity verify INS         recompute a patient's activity chain; exit 1 at the first broken link
 *   keys rotate                 new current master key; re-wrap every data key (gateways stopped)
 *   migrate                     apply database migrations and exit
 *   replies                     print the SMTP reply-code table (Markdown, for the README)
 * With embedded PGlite, a running gateway holds the database: commands that need it then go through the
 * gateway's operator API (admin token in $DATA_DIR/admin.token) instead of opening the files a second time.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { initDevelopmentPki } from '../certs/index.js';
import { loadConfig, type Config } from '../config/index.js';
import { lockHolder, openDatabase, pgliteLockFile, schema } from '../db/index.js';
import { eq } from 'drizzle-orm';
import { importPatients, parseIns, parsePatientCsv, sealActivity, verifyActivityChain } from '../access/index.js';
import { ensureDevIssuer, issueDevToken } from '../access/pro-auth/index.js';
import { REPLIES } from '../gateway/ingress/replies.js';
import { importDirectory, parseDirectoryCsv } from '../mailbox/index.js';
import { loadKeyring } from '../vault/index.js';
import { addCurrentKey, rewrapAll } from '../vault/key-rotation.js';
import { ensureAdminToken } from './gateway.js';

class CliError extends Error {}

async function importViaApi(config: Config, csv: string, route = '/v1/admin/patients/import'): Promise<void> {
  const token = await ensureAdminToken(config.adminTokenFile);
  const host = config.api.host === '0.0.0.0' ? '127.0.0.1' : config.api.host;
  const res = await fetch(`http://${host}:${config.api.port}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'text/csv', authorization: `Bearer ${token}` },
    body: csv,
  });
  const body = (await res.json()) as { created?: number; updated?: number; imported?: number; errors?: { line: number; message: string }[]; detail?: string };
  if (res.status === 422 && body.errors) {
    for (const e of body.errors) console.error(`line ${e.line}: ${e.message}`);
    throw new CliError(`${body.errors.length} error(s): nothing imported`);
  }
  if (!res.ok) throw new CliError(`the gateway refused the import (HTTP ${res.status}): ${body.detail ?? ''}`);
  console.log(
    body.imported !== undefined
      ? `imported through the running gateway: ${body.imported} entries`
      : `imported through the running gateway: ${body.created} created, ${body.updated} updated`,
  );
}

async function directoryImport(config: Config, file: string | undefined): Promise<void> {
  if (!file) throw new CliError('usage: directory import FILE.csv');
  const csv = await fs.readFile(file, 'utf8');
  if (!config.databaseUrl && (await lockHolder(pgliteLockFile(config.dataDir))) !== null) {
    await importViaApi(config, csv, '/v1/admin/directory/import');
    return;
  }
  const parsed = parseDirectoryCsv(csv);
  if (parsed.errors.length) {
    for (const e of parsed.errors) console.error(`line ${e.line}: ${e.message}`);
    throw new CliError(`${parsed.errors.length} error(s): nothing imported`);
  }
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    console.log(`imported: ${await importDirectory(database.db, parsed.rows)} entries`);
  } finally {
    await database.close();
  }
}

async function patientsImport(config: Config, file: string | undefined): Promise<void> {
  if (!file) throw new CliError('usage: patients import FILE.csv');
  const csv = await fs.readFile(file, 'utf8');
  if (!config.databaseUrl && (await lockHolder(pgliteLockFile(config.dataDir))) !== null) {
    await importViaApi(config, csv);
    return;
  }
  const parsed = parsePatientCsv(csv);
  if (parsed.errors.length) {
    for (const e of parsed.errors) console.error(`line ${e.line}: ${e.message}`);
    throw new CliError(`${parsed.errors.length} error(s): nothing imported`);
  }
  const keyring = await loadKeyring(config.masterKeyFile, !process.env.MASTER_KEY_FILE);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    const r = await importPatients(database.db, keyring, config.limits, parsed.rows);
    console.log(`imported: ${r.created} created, ${r.updated} updated`);
  } finally {
    await database.close();
  }
}

function repliesTable(): string {
  const lines = ['| code | enhanced | suffix | text | when |', '|---|---|---|---|---|'];
  for (const r of Object.values(REPLIES)) lines.push(`| ${r.code} | ${r.enhanced} | \`${r.suffix}\` | ${r.text} | ${r.when} |`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<void> {
  const config = loadConfig();
  const [cmd, sub, ...rest] = argv;
  if (cmd === 'pki' && sub === 'init') {
    const p = await initDevelopmentPki(config.pkiDir, { force: rest.includes('--force'), gatewayHostname: config.smtp.hostname });
    console.log(`development PKI in ${path.relative(process.cwd(), p.dir) || '.'}`);
    return;
  }
  if (cmd === 'patients' && sub === 'import') return patientsImport(config, rest[0]);
  if (cmd === 'directory' && sub === 'import') return directoryImport(config, rest[0]);
  if (cmd === 'ps' && sub === 'token') {
    const opt = (name: string) => {
      const i = rest.indexOf(`--${name}`);
      return i >= 0 ? rest[i + 1] : undefined;
    };
    const rpps = opt('rpps');
    const profession = opt('profession');
    if (!rpps || !profession) throw new CliError('usage: ps token --rpps RPPS --profession CODE [--name NAME] [--organisation ORG] [--ttl SECONDS]');
    if (!config.pro.usesDevIssuer) throw new CliError('PRO_JWKS_FILE is set: tokens come from the real identity provider, not from this CLI');
    ensureDevIssuer(config.pro.devIssuerDir, config.pro.issuer);
    const ttl = opt('ttl');
    console.log(
      issueDevToken({
        dir: config.pro.devIssuerDir,
        rpps,
        profession,
        name: opt('name'),
        organisation: opt('organisation'),
        ttlSeconds: ttl ? Number(ttl) : undefined,
        audience: config.pro.audience,
      }),
    );
    return;
  }
  if (cmd === 'activity' && sub === 'verify') {
    const parsed = parseIns(rest[0] ?? '');
    if (!parsed.ok) throw new CliError('usage: activity verify INS');
    if (!config.databaseUrl && (await lockHolder(pgliteLockFile(config.dataDir))) !== null) {
      throw new CliError('the embedded database is held by a running gateway: stop it, or run against PostgreSQL');
    }
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
    try {
      const [p] = await database.db.select({ id: schema.patients.id }).from(schema.patients).where(eq(schema.patients.ins, parsed.ins));
      if (!p) throw new CliError('unknown patient');
      await sealActivity(database.db);
      const broken = await verifyActivityChain(database.db, p.id);
      if (broken !== null) {
        console.error(`activity chain BROKEN at position ${broken}`);
        process.exitCode = 1;
        return;
      }
      console.log('activity chain intact');
    } finally {
      await database.close();
    }
    return;
  }
  if (cmd === 'keys' && sub === 'rotate') {
    if (!config.databaseUrl && (await lockHolder(pgliteLockFile(config.dataDir))) !== null) {
      throw new CliError('a running gateway holds the embedded database: stop it before rotating the master key');
    }
    const keyring = await addCurrentKey(config.masterKeyFile);
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
    try {
      const r = await rewrapAll(database.db, keyring);
      console.log(`new master key ${keyring.current.id}: ${r.blobs} blob keys and ${r.values} sealed values re-wrapped, ${r.remaining} left`);
    } finally {
      await database.close();
    }
    return;
  }
  if (cmd === 'migrate') {
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
    await database.close();
    console.log('migrations applied');
    return;
  }
  if (cmd === 'replies') {
    console.log(repliesTable());
    return;
  }
  throw new CliError('commands: pki init [--force] | patients import FILE.csv | directory import FILE.csv | ps token ... | activity verify INS | keys rotate | migrate | replies');
}

main(process.argv.slice(2)).then(
  () => process.exit(process.exitCode ?? 0),
  (err: Error) => {
    console.error(`mes-gateway cli: ${err.message}`);
    process.exit(err instanceof CliError ? 2 : 1);
  },
);
