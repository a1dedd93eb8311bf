/**
 * Operator CLI: `npm run cli -- <command> [options]`. The commands, their options and the exit codes are data in
 * app/cli-spec.ts (`--help`, `<command> --help`, the README's table); this file runs them.
 *
 * Guarantees, for every command:
 * - Arguments are parsed by node:util parseArgs, strictly: `--x=y` and `--x y` alike, an unknown option, a missing
 *   or extra argument is refused before anything is read or written (exit 2, the usage on stderr). `--help` needs
 *   no configuration and changes nothing.
 * - The result and a summary go to stdout; errors to stderr; progress lines to stderr only, when it is a terminal
 *   or with --progress, so a script capturing stdout gets the summary alone.
 * - Exit codes (EXIT_CODES): 0 done; 1 could not be done (a file, URL, database or key failed; `activity verify`
 *   found a broken link); 2 refused, nothing changed (usage, a CSV with errors, a whitelist refused); 3 partly done
 *   and safe to resume (`keys rotate` not confirmed: run it again).
 * - Imports are all rows or none (one transaction); a crash mid-import leaves the database as it was. `keys rotate`
 *   is crash-safe and resumable (vault/key-rotation.ts); its progress follows its durable steps.
 * With DATABASE_URL unset, commands talk to the private PostgreSQL server of $DATA_DIR: the running gateway's
 * (reused, left running) or, when none runs, one started for the command and stopped after it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
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
import { problemsTable } from '../api/index.js';
import { loadConfig, type Config, limitsTable, settingsTable } from '../config/index.js';
import { openDatabase, schema, type Database } from '../db/index.js';
import { eq } from 'drizzle-orm';
import {
  importPatients,
  parseIns,
  parsePatientCsv,
  sealActivity,
  verifyActivityChain,
  ensureDevIssuer,
  issueDevToken,
  rotateMasterKey,
} from '../access/index.js';
import { repliesTable } from '../gateway/ingress/index.js';
import { importDirectory, parseDirectoryCsv } from '../mailbox/index.js';
import { loadKeyring, ROTATION_STEPS, describeRotation } from '../vault/index.js';
import { EXIT_CODES, exitCodesTable, findCommand, helpOf, overallHelp, parseOptionsOf, usageOf, type CommandSpec } from './cli-spec.js';

class CliError extends Error {}

/** Progress lines on stderr (never stdout), each with the time since the command started. */
class Progress {
  readonly #started = Date.now();
  constructor(readonly enabled: boolean) {}

  step(what: string): void {
    if (this.enabled) process.stderr.write(`[${((Date.now() - this.#started) / 1000).toFixed(1)} s] ${what}\n`);
  }
}

interface Run {
  config: Config;
  /** The positional arguments, as many as the command's spec names. */
  args: string[];
  opts: Record<string, string | boolean | undefined>;
  progress: Progress;
}

const openDb = (config: Config, poolSize = 2): Promise<Database> =>
  openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize, embeddedUser: config.embeddedPgUser });

async function withDatabase<T>(run: Run, work: (database: Database) => Promise<T>): Promise<T> {
  run.progress.step('opening the database');
  const database = await openDb(run.config);
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}

function refuseCsvErrors(errors: { line: number; message: string }[]): void {
  if (!errors.length) return;
  for (const e of errors) console.error(`line ${e.line}: ${e.message}`);
  throw new CliError(`${errors.length} error(s): nothing imported`);
}

async function pkiInit({ config, opts }: Run): Promise<void> {
  const force = opts.force === true;
  const p = await initDevelopmentPki(config.pkiDir, { force, gatewayHostname: config.smtp.hostname });
  const orgs = await ensureDevelopmentOrganisations(p.dir, { force });
  console.log(`development PKI in ${path.relative(process.cwd(), p.dir) || '.'}`);
  for (const [name, files] of Object.entries(orgs)) console.log(`  organisation certificate ${name}: ${path.relative(process.cwd(), files.cert)}`);
}

async function directoryImport(run: Run): Promise<void> {
  const [file] = run.args as [string];
  run.progress.step(`reading ${file}`);
  const parsed = parseDirectoryCsv(await fs.readFile(file)); // bytes: the reader tells UTF-8 from Windows-1252
  if (parsed.notice) console.log(parsed.notice);
  refuseCsvErrors(parsed.errors);
  run.progress.step(`${parsed.rows.length} entries checked; importing them (one transaction)`);
  const n = await withDatabase(run, (database) => importDirectory(database.db, parsed.rows));
  console.log(`imported: ${n} entries`);
}

async function patientsImport(run: Run): Promise<void> {
  const { config } = run;
  const [file] = run.args as [string];
  run.progress.step(`reading ${file}`);
  const parsed = parsePatientCsv(await fs.readFile(file)); // bytes: the reader tells UTF-8 from Windows-1252
  if (parsed.notice) console.log(parsed.notice);
  refuseCsvErrors(parsed.errors);
  run.progress.step(`${parsed.rows.length} rows checked`);
  const keyring = await loadKeyring(config.masterKeyFile, !process.env.MASTER_KEY_FILE);
  const r = await withDatabase(run, (database) => {
    run.progress.step(`importing ${parsed.rows.length} profiles (one transaction; provisional codes hashed first)`);
    return importPatients(database.db, keyring, config.limits, parsed.rows);
  });
  console.log(`imported: ${r.created} created, ${r.updated} updated, ${r.unchanged} unchanged`);
  if (r.stateKept) console.log(`${r.stateKept} existing profile(s) kept their state: the lifecycle does not let an import make that change`);
  if (r.codesIgnored) console.log(`${r.codesIgnored} provisional code(s) not issued: the profile was already activated, opposed or closed`);
}

async function whitelistImport(run: Run): Promise<void> {
  const { config, progress } = run;
  const source = whitelistSourceOf(run.args[0]!);
  if (source.kind === 'refused') throw new CliError(`whitelist import: ${source.reason}`);
  const { limits } = config;
  progress.step(source.kind === 'url' ? `downloading ${redactUrl(source.url)}` : `reading ${source.path}`);
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
  progress.step(`parsing ${xml.length} bytes`);
  let list: Whitelist;
  try {
    list = parseWhitelist(xml);
  } catch (err) {
    if (err instanceof WhitelistFormatError) throw new CliError(`whitelist refused, nothing installed: ${err.message}`);
    throw err;
  }
  progress.step(`checking it against the list installed in ${config.whitelistFile}`);
  let current: Whitelist | null = null;
  try {
    current = parseWhitelist(await fs.readFile(config.whitelistFile, 'utf8'));
  } catch {
    /* nothing usable installed: any valid list may replace it */
  }
  const verdict = judgeCandidate({ generatedAt: list.generatedAt, entries: list.entries.length }, current, {
    nowMs: Date.now(),
    futureSkewMs: limits.whitelistFutureSkewMs,
    allowOlder: run.opts.force === true,
  });
  if (verdict.verdict === 'refuse') {
    throw new CliError(`whitelist refused, nothing installed: ${verdict.reason}${/older/.test(verdict.reason) ? ' (--force installs it anyway)' : ''}`);
  }
  progress.step('installing (temporary file, fsync, rename)');
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

async function psToken({ config, opts }: Run): Promise<void> {
  const text = (name: string) => (typeof opts[name] === 'string' ? (opts[name] as string) : undefined);
  const rpps = text('rpps');
  const profession = text('profession');
  if (!rpps || !profession) throw new CliError(`--rpps and --profession are required\nusage: ${usageOf(findCommand(['ps', 'token'])!.spec)}`);
  if (!config.pro.usesDevIssuer) throw new CliError('PRO_JWKS_FILE or PRO_JWKS_URL is set: tokens come from the real identity provider, not from this CLI');
  const ttl = text('ttl');
  if (ttl !== undefined && !/^\d+$/.test(ttl)) throw new CliError(`--ttl must be a number of seconds, got "${ttl}"`);
  ensureDevIssuer(config.pro.devIssuerDir, config.pro.issuer);
  let token: string;
  try {
    token = issueDevToken({
      dir: config.pro.devIssuerDir,
      rpps,
      profession,
      name: text('name'),
      organisation: text('organisation'),
      finess: text('finess'),
      ttlSeconds: ttl === undefined ? undefined : Number(ttl),
      audience: config.pro.audience,
    });
  } catch (err) {
    if (err instanceof TypeError) throw new CliError(`ps token: ${err.message}`);
    throw err;
  }
  console.log(token);
}

async function activityVerify(run: Run): Promise<void> {
  const parsed = parseIns(run.args[0]!);
  if (!parsed.ok) throw new CliError(`not an INS: ${run.args[0]}\nusage: ${usageOf(findCommand(['activity', 'verify'])!.spec)}`);
  await withDatabase(run, async (database) => {
    const [p] = await database.db.select({ id: schema.patients.id }).from(schema.patients).where(eq(schema.patients.ins, parsed.ins));
    if (!p) throw new CliError('unknown patient');
    const keyring = await loadKeyring(run.config.masterKeyFile, false);
    await sealActivity(database.db, keyring);
    const broken = await verifyActivityChain(database.db, keyring, p.id);
    if (broken !== null) {
      console.error(`activity chain BROKEN at position ${broken}`);
      process.exitCode = EXIT_CODES.failed.code;
      return;
    }
    console.log('activity chain intact');
  });
}

async function keysRotate(run: Run): Promise<void> {
  const result = await withDatabase(run, (database) => {
    let done = 0;
    // Crash-safe steps (vault/key-rotation.ts): each reported once it is durable.
    const afterStep = (step: string) => run.progress.step(`step ${++done}/${ROTATION_STEPS.length} done: ${step}`);
    run.progress.step(`rotating the master key in ${run.config.masterKeyFile}`);
    return rotateMasterKey(database.db, run.config.masterKeyFile, { afterStep });
  });
  console.log(describeRotation(result));
  if (!result.confirmed) process.exitCode = EXIT_CODES.incomplete.code;
}

async function migrate({ config }: Run): Promise<void> {
  const database = await openDb(config, 1);
  await database.close();
  console.log('migrations applied');
}

async function docs(): Promise<void> {
  console.log(
    `## SMTP replies\n\n${repliesTable()}\n\n## API problems\n\n${problemsTable()}\n\n## Settings\n\n${settingsTable()}\n\n## Limits\n\n${limitsTable()}\n\n## CLI exit codes\n\n${exitCodesTable()}`,
  );
}

const HANDLERS: Record<string, (run: Run) => Promise<void>> = {
  'pki init': pkiInit,
  'patients import': patientsImport,
  'directory import': directoryImport,
  'whitelist import': whitelistImport,
  'ps token': psToken,
  'activity verify': activityVerify,
  'keys rotate': keysRotate,
  migrate,
  replies: async () => console.log(repliesTable()),
  docs,
};

/** The command's options and arguments, refused (CliError) unless they are exactly what its spec says. */
function parseCommand(spec: CommandSpec, rest: string[]): { positionals: string[]; values: Run['opts'] } {
  let parsed: { positionals: string[]; values: Run['opts'] };
  try {
    parsed = parseArgs({ args: rest, options: parseOptionsOf(spec), allowPositionals: true, strict: true }) as typeof parsed;
  } catch (err) {
    throw new CliError(`${(err as Error).message}\nusage: ${usageOf(spec)}`);
  }
  if (parsed.values.help !== true && parsed.positionals.length !== spec.args.length) {
    throw new CliError(
      `${spec.args.length ? `expected ${spec.args.join(' ')}` : 'no argument expected'}, got ${parsed.positionals.length ? parsed.positionals.join(' ') : 'none'}\nusage: ${usageOf(spec)}`,
    );
  }
  return parsed;
}

async function main(argv: string[]): Promise<void> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    const about = argv[0] === 'help' ? findCommand(argv.slice(1)) : null;
    if (argv.length === 0) throw new CliError(`no command\n${overallHelp()}`);
    console.log(about ? helpOf(about.spec) : overallHelp());
    return;
  }
  const found = findCommand(argv);
  if (!found) throw new CliError(`unknown command: ${argv.slice(0, 2).join(' ')}\n${overallHelp()}`);
  const { positionals, values } = parseCommand(found.spec, found.rest);
  if (values.help === true) {
    console.log(helpOf(found.spec));
    return;
  }
  const progress = new Progress(values.progress === true || process.stderr.isTTY === true);
  await HANDLERS[found.spec.words.join(' ')]!({ config: loadConfig(), args: positionals, opts: values, progress });
}

main(process.argv.slice(2)).then(
  () => process.exit(process.exitCode ?? EXIT_CODES.ok.code),
  (err: Error) => {
    console.error(`mes-gateway cli: ${err.message}`);
    process.exit(err instanceof CliError ? EXIT_CODES.refused.code : EXIT_CODES.failed.code);
  },
);
