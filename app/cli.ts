/**
 * Operator CLI: `npm run cli -- <command>`.
 *   pki init [--force]          development PKI + whitelist under $PKI_DIR (default $DATA_DIR/pki)
 *   patients import FILE.csv    provision profiles (all rows or none)
 *   directory import FILE.csv   professionals' directory: address,rpps,profession_code,display_name
 *   whitelist import FILE|URL [--force]
 *                               check an ANS list (a file, or an https:// URL, WHITELIST_CA_FILE trusted) and install
 *                               it atomically as WHITELIST_FILE; refused when empty, undated, future-dated or older
 *                               than the installed one (--force: older allowed); running gateways use it at their
 *                               next check (LIMIT_WHITELIST_RELOAD_MS). Exit 2 on a refused list, 1 on a failed read.
 *   ps token --rpps RPPS --profession CODE [--name NAME] [--organisation ORG] [--ttl SECONDS]
 *                               a development professional bearer token (development issuer under $PKI_DIR/oidc)
 *   activity verify INS         recompute a patient's activity chain; exit 1 at the first broken link
 *   keys rotate                 new current master key; re-wrap every data key (gateways stopped)
 *   migrate                     apply database migrations and exit
 *   replies                     print the SMTP reply-code table (Markdown, for the README)
 *   docs                        print the README's generated tables: replies, settings, limits
 * With DATABASE_URL unset, commands talk to the private PostgreSQL server of $DATA_DIR: the running gateway's
 * (reused, left running) or, when none runs, one started for the command and stopped after it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  WhitelistFormatError,
  downloadWhitelist,
  ensureDevelopmentOrganisations,
  initDevelopmentPki,
  installWhitelistFile,
  judgeCandidate,
  loadTrustMaterial,
  parseWhitelist,
  readWhitelistFileCapped,
  redactUrl,
  whitelistSourceOf,
  type Whitelist,
} from '../certs/index.js';
import { loadConfig, type Config } from '../config/index.js';
import { openDatabase, schema } from '../db/index.js';
import { eq } from 'drizzle-orm';
import { importPatients, parseIns, parsePatientCsv, resignActivityHeads, sealActivity, verifyActivityChain } from '../access/index.js';
import { ensureDevIssuer, issueDevToken } from '../access/pro-auth/index.js';
import { repliesTable } from '../gateway/ingress/replies.js';
import { limitsTable, settingsTable } from '../config/docs.js';
import { importDirectory, parseDirectoryCsv } from '../mailbox/index.js';
import { loadKeyring } from '../vault/index.js';
import { addCurrentKey, rewrapAll } from '../vault/key-rotation.js';

class CliError extends Error {}

async function directoryImport(config: Config, file: string | undefined): Promise<void> {
  if (!file) throw new CliError('usage: directory import FILE.csv');
  const csv = await fs.readFile(file, 'utf8');
  const parsed = parseDirectoryCsv(csv);
  if (parsed.errors.length) {
    for (const e of parsed.errors) console.error(`line ${e.line}: ${e.message}`);
    throw new CliError(`${parsed.errors.length} error(s): nothing imported`);
  }
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2, embeddedUser: config.embeddedPgUser });
  try {
    console.log(`imported: ${await importDirectory(database.db, parsed.rows)} entries`);
  } finally {
    await database.close();
  }
}

async function patientsImport(config: Config, file: string | undefined): Promise<void> {
  if (!file) throw new CliError('usage: patients import FILE.csv');
  const csv = await fs.readFile(file, 'utf8');
  const parsed = parsePatientCsv(csv);
  if (parsed.errors.length) {
    for (const e of parsed.errors) console.error(`line ${e.line}: ${e.message}`);
    throw new CliError(`${parsed.errors.length} error(s): nothing imported`);
  }
  const keyring = await loadKeyring(config.masterKeyFile, !process.env.MASTER_KEY_FILE);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2, embeddedUser: config.embeddedPgUser });
  try {
    const r = await importPatients(database.db, keyring, config.limits, parsed.rows);
    console.log(`imported: ${r.created} created, ${r.updated} updated, ${r.unchanged} unchanged`);
    if (r.stateKept) console.log(`${r.stateKept} existing profile(s) kept their state: the lifecycle does not let an import make that change`);
    if (r.codesIgnored) console.log(`${r.codesIgnored} provisional code(s) not issued: the profile was already activated, opposed or closed`);
  } finally {
    await database.close();
  }
}

async function whitelistImport(config: Config, args: string[]): Promise<void> {
  const force = args.includes('--force');
  const positional = args.filter((a) => a !== '--force');
  if (positional.length !== 1) throw new CliError('usage: whitelist import FILE|URL [--force]');
  const source = whitelistSourceOf(positional[0]!);
  if (source.kind === 'refused') throw new CliError(`whitelist import: ${source.reason}`);
  const { limits } = config;
  const xml =
    source.kind === 'url'
      ? await downloadWhitelist(source.url, {
          ca: config.whitelistCaFile ? (await loadTrustMaterial({ caFile: config.whitelistCaFile })).ca : undefined,
          timeoutMs: limits.whitelistDownloadTimeoutMs,
          maxBytes: limits.whitelistMaxBytes,
        })
      : await readWhitelistFileCapped(source.path, limits.whitelistMaxBytes).catch((err: Error) => {
          if (err instanceof WhitelistFormatError) throw new CliError(`whitelist import: ${err.message}`);
          throw err;
        });
  let list: Whitelist;
  try {
    list = parseWhitelist(xml);
  } catch (err) {
    if (err instanceof WhitelistFormatError) throw new CliError(`whitelist refused, nothing installed: ${err.message}`);
    throw err;
  }
  let current: Whitelist | null = null;
  try {
    current = parseWhitelist(await fs.readFile(config.whitelistFile, 'utf8'));
  } catch {
    /* nothing usable installed: any valid list may replace it */
  }
  const verdict = judgeCandidate({ generatedAt: list.generatedAt, entries: list.entries.length }, current, {
    nowMs: Date.now(),
    futureSkewMs: limits.whitelistFutureSkewMs,
    allowOlder: force,
  });
  if (verdict.verdict === 'refuse') {
    throw new CliError(`whitelist refused, nothing installed: ${verdict.reason}${/older/.test(verdict.reason) ? ' (--force installs it anyway)' : ''}`);
  }
  await installWhitelistFile(config.whitelistFile, xml);
  const from = source.kind === 'url' ? redactUrl(source.url) : source.path;
  console.log(
    `whitelist installed in ${config.whitelistFile} from ${from}: ${list.byDomain.size} domains, ${list.entries.length} entries` +
      `${list.skipped.length ? ` (${list.skipped.length} unusable entries left out)` : ''}, generated ${list.generatedAt!.toISOString()}`,
  );
  for (const skipped of list.skipped.slice(0, 20)) {
    console.log(`  left out: entry ${skipped.index + 1}${skipped.domain ? ` (${skipped.domain})` : ''}: ${skipped.reason}`);
  }
  console.log('running gateways use it at their next whitelist check (LIMIT_WHITELIST_RELOAD_MS)');
}

async function main(argv: string[]): Promise<void> {
  const config = loadConfig();
  const [cmd, sub, ...rest] = argv;
  if (cmd === 'pki' && sub === 'init') {
    const p = await initDevelopmentPki(config.pkiDir, { force: rest.includes('--force'), gatewayHostname: config.smtp.hostname });
    const orgs = await ensureDevelopmentOrganisations(p.dir, { force: rest.includes('--force') });
    console.log(`development PKI in ${path.relative(process.cwd(), p.dir) || '.'}`);
    for (const [name, files] of Object.entries(orgs)) console.log(`  organisation certificate ${name}: ${path.relative(process.cwd(), files.cert)}`);
    return;
  }
  if (cmd === 'patients' && sub === 'import') return patientsImport(config, rest[0]);
  if (cmd === 'directory' && sub === 'import') return directoryImport(config, rest[0]);
  if (cmd === 'whitelist' && sub === 'import') return whitelistImport(config, rest);
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
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2, embeddedUser: config.embeddedPgUser });
    try {
      const [p] = await database.db.select({ id: schema.patients.id }).from(schema.patients).where(eq(schema.patients.ins, parsed.ins));
      if (!p) throw new CliError('unknown patient');
      const keyring = await loadKeyring(config.masterKeyFile, false);
      await sealActivity(database.db, keyring);
      const broken = await verifyActivityChain(database.db, keyring, p.id);
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
    const keyring = await addCurrentKey(config.masterKeyFile);
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2, embeddedUser: config.embeddedPgUser });
    try {
      const r = await rewrapAll(database.db, keyring);
      const heads = await resignActivityHeads(database.db, keyring);
      console.log(`new master key ${keyring.current.id}: ${r.blobs} blob keys and ${r.values} sealed values re-wrapped, ${r.remaining} left; ${heads.resigned} activity heads re-signed${heads.unverified ? `, ${heads.unverified} that did not verify left as they are` : ''}`);
    } finally {
      await database.close();
    }
    return;
  }
  if (cmd === 'migrate') {
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1, embeddedUser: config.embeddedPgUser });
    await database.close();
    console.log('migrations applied');
    return;
  }
  if (cmd === 'replies') {
    console.log(repliesTable());
    return;
  }
  if (cmd === 'docs') {
    console.log(`## SMTP replies\n\n${repliesTable()}\n\n## Settings\n\n${settingsTable()}\n\n## Limits\n\n${limitsTable()}`);
    return;
  }
  throw new CliError('commands: pki init [--force] | patients import FILE.csv | directory import FILE.csv | whitelist import FILE|URL [--force] | ps token ... | activity verify INS | keys rotate | migrate | replies | docs');
}

main(process.argv.slice(2)).then(
  () => process.exit(process.exitCode ?? 0),
  (err: Error) => {
    console.error(`mes-gateway cli: ${err.message}`);
    process.exit(err instanceof CliError ? 2 : 1);
  },
);
