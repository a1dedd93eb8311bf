/**
 * The operator CLI's commands, options and exit codes, as data (`npm run cli -- <command>`, app/cli.ts runs them):
 * the help texts, the usage line and the README's exit-code table are generated from here, so they cannot drift
 * from what the CLI parses (node:util parseArgs, strict: `--x=y` and `--x y` alike, unknown options refused).
 *
 * Output conventions, for every command: the result and the summary on stdout; errors on stderr; progress lines
 * on stderr when stderr is a terminal, or with --progress (e.g. under a job runner that keeps stderr), never on
 * stdout, so `cli ... > file` captures the summary alone. Pure: no I/O here.
 */
import type { ParseArgsConfig } from 'node:util';

type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & { doc: string; value?: string };

export interface CommandSpec {
  /** The words that name it, e.g. ['patients', 'import']. */
  words: readonly string[];
  /** Positional arguments, in order (all required). */
  args: readonly string[];
  options: Readonly<Record<string, OptionSpec>>;
  summary: string;
  /** More lines for `--help`. */
  details?: readonly string[];
}

const progress: OptionSpec = { type: 'boolean', doc: 'progress lines on stderr even when it is not a terminal' };

export const COMMANDS: readonly CommandSpec[] = [
  {
    words: ['pki', 'init'],
    args: [],
    options: { force: { type: 'boolean', doc: 'replace an existing development PKI' } },
    summary: 'development PKI and whitelist under $PKI_DIR (default $DATA_DIR/pki)',
    details: ['Writes ca.crt, server.crt|key, operators/…, organisations/…, untrusted/…, extra/…, crl.pem and whitelist.xml.'],
  },
  {
    words: ['patients', 'import'],
    args: ['FILE.csv'],
    options: { progress },
    summary: 'provision profiles from a CSV (all rows or none)',
    details: [
      'Header: ins,family_name,given_names,birth_date,email,state,provisional_code. A file with errors is refused',
      'whole (each error by line, exit 2); live profiles keep their state and credentials.',
    ],
  },
  {
    words: ['directory', 'import'],
    args: ['FILE.csv'],
    options: { progress },
    summary: "professionals' directory: address,rpps,profession_code,display_name (all rows or none)",
  },
  {
    words: ['whitelist', 'import'],
    args: ['FILE|URL'],
    options: { force: { type: 'boolean', doc: 'let an older list replace a newer one (to undo a bad publication)' }, progress },
    summary: 'check an ANS list (a file, or an https:// URL) and install it atomically as WHITELIST_FILE',
    details: [
      'Refused (exit 2, nothing installed) when empty, undated, future-dated or older than the installed one. A URL is',
      'downloaded over HTTPS only, its server verified against WHITELIST_CA_FILE when set. Running gateways use the',
      'new list at their next check (LIMIT_WHITELIST_RELOAD_MS).',
    ],
  },
  {
    words: ['ps', 'token'],
    args: [],
    options: {
      rpps: { type: 'string', value: 'RPPS', doc: 'RPPS identifier, 11 digits (required)' },
      profession: { type: 'string', value: 'CODE', doc: 'TRE_G15 profession code, e.g. 10 (required)' },
      name: { type: 'string', value: 'NAME', doc: "the professional's display name" },
      organisation: { type: 'string', value: 'ORG', doc: 'the organisation they work for' },
      finess: { type: 'string', value: 'FINESS', doc: 'the establishment they act for' },
      ttl: { type: 'string', value: 'SECONDS', doc: 'lifetime (default 3600)' },
    },
    summary: 'a development professional bearer token (the development issuer under $PKI_DIR/oidc)',
    details: ['Refused when PRO_JWKS_FILE or PRO_JWKS_URL is set: tokens then come from the real identity provider.'],
  },
  {
    words: ['activity', 'verify'],
    args: ['INS'],
    options: {},
    summary: "recompute a patient's activity hash chain (exit 1 at the first broken link)",
  },
  {
    words: ['keys', 'rotate'],
    args: [],
    options: { progress },
    summary: 'new current master key; re-wraps every data key, no re-encryption (gateways stopped)',
    details: ['Crash-safe and resumable (vault/key-rotation.ts); exit 3 when it could not confirm: run it again.'],
  },
  { words: ['migrate'], args: [], options: {}, summary: 'apply database migrations and exit (also done at every start)' },
  { words: ['replies'], args: [], options: {}, summary: 'print the SMTP reply-code table (Markdown)' },
  { words: ['docs'], args: [], options: {}, summary: "print the README's generated tables (replies, settings, limits, exit codes)" },
];

export interface ExitCode {
  code: number;
  name: string;
  meaning: string;
}

export const EXIT_CODES = {
  ok: { code: 0, name: 'ok', meaning: 'done (`activity verify`: the chain is intact; `--help`)' },
  failed: {
    code: 1,
    name: 'failed',
    meaning:
      'could not be done: a file, a URL, the database or a key could not be read or written; or a check found a problem (`activity verify`: a broken link)',
  },
  refused: {
    code: 2,
    name: 'refused',
    meaning: 'nothing was changed: an unknown command or option, a missing or malformed argument, or input refused (a CSV with errors, a whitelist refused)',
  },
  incomplete: {
    code: 3,
    name: 'incomplete',
    meaning: 'partly done and safe to resume: `keys rotate` could not confirm that nothing is left under older keys (a gateway still running?); run it again',
  },
} as const satisfies Record<string, ExitCode>;

/** The command named by the first words of `argv`, and the words that follow. */
export function findCommand(argv: readonly string[]): { spec: CommandSpec; rest: string[] } | null {
  for (const spec of COMMANDS) {
    if (spec.words.every((w, i) => argv[i] === w)) return { spec, rest: argv.slice(spec.words.length) };
  }
  return null;
}

/** The parseArgs options of a command, with --help. */
export function parseOptionsOf(spec: CommandSpec): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(spec.options)) options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}) };
  return options;
}

const optionUsage = (name: string, o: OptionSpec) => `--${name}${o.type === 'string' ? `=${o.value ?? 'VALUE'}` : ''}`;

export function usageOf(spec: CommandSpec): string {
  const opts = Object.entries(spec.options).map(([n, o]) => (/\(required\)/.test(o.doc) ? optionUsage(n, o) : `[${optionUsage(n, o)}]`));
  return ['npm run cli --', ...spec.words, ...spec.args, ...opts].join(' ');
}

export function helpOf(spec: CommandSpec): string {
  const lines = [`usage: ${usageOf(spec)}`, '', spec.summary, ...(spec.details ?? [])];
  const opts = Object.entries(spec.options);
  lines.push('', 'options:');
  for (const [n, o] of opts) lines.push(`  ${optionUsage(n, o).padEnd(24)} ${o.doc}`);
  lines.push(`  ${'-h, --help'.padEnd(24)} this help`);
  lines.push(
    '',
    `exit codes: ${Object.values(EXIT_CODES)
      .map((e) => `${e.code} ${e.name}`)
      .join(', ')} (npm run cli -- --help)`,
  );
  return lines.join('\n');
}

export function overallHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => [...c.words, ...c.args].join(' ').length));
  return [
    'usage: npm run cli -- <command> [options]        (<command> --help for its options; --x=y and --x y alike)',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${[...c.words, ...c.args].join(' ').padEnd(width)}  ${c.summary}`),
    '',
    'Results and summaries go to stdout, errors to stderr, progress to stderr when it is a terminal (or with --progress).',
    '',
    'exit codes:',
    ...Object.values(EXIT_CODES).map((e) => `  ${e.code}  ${e.name.padEnd(11)} ${e.meaning}`),
  ].join('\n');
}

/** The README's table of exit codes (Operator CLI section). */
export function exitCodesTable(): string {
  const cell = (v: string) => v.replace(/\|/g, '\\|');
  return ['| exit code | meaning |', '|---|---|', ...Object.values(EXIT_CODES).map((e) => `| ${e.code} (${e.name}) | ${cell(e.meaning)} |`)].join('\n');
}
