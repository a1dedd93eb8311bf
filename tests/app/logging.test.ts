// The process logger (createLogger in app/logger.ts) as a real child process: readable lines (pino-pretty) when
// stdout is a terminal (a real pseudo-terminal, made by util-linux `script`) outside production; JSON lines when
// NODE_ENV=production or when stdout is a pipe. Redaction applies to both.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);
const INS = '263053900100276';
let dir: string;
let script: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-logging-'));
  script = path.join(dir, 'log.mts');
  await fs.writeFile(
    script,
    `import { createLogger } from ${JSON.stringify(path.join(ROOT, 'app/logger.ts'))};
import { loadConfig } from ${JSON.stringify(path.join(ROOT, 'config/index.ts'))};
const config = loadConfig();
createLogger(config.logLevel, undefined, { production: config.production }).info({ patient: { ins: '${INS}' }, n: 3 }, 'hello from the gateway');
`,
  );
});
afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const env = (extra: Record<string, string>) => ({ ...process.env, NODE_ENV: '', LOG_LEVEL: 'info', ...extra });
const node = () => `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(script)}`;
/** Runs the script with stdout on a pseudo-terminal; `script` copies what the terminal showed to our pipe. */
const onTerminal = async (extra: Record<string, string> = {}) => (await run('script', ['-qec', node(), '/dev/null'], { cwd: ROOT, env: env(extra) })).stdout;
const onPipe = async (extra: Record<string, string> = {}) => (await run(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env: env(extra) })).stdout;

describe('process logs', () => {
  it('are readable lines on a terminal outside production', async () => {
    const out = await onTerminal();
    expect(out).toContain('INFO');
    expect(out).toContain('hello from the gateway');
    expect(out).not.toContain('"level":');
    expect(out).toContain('[redacted]');
    expect(out).not.toContain(INS);
  }, 60_000);

  it('stay JSON lines in production, even on a terminal, and whenever stdout is not a terminal', async () => {
    for (const out of [await onTerminal({ NODE_ENV: 'production' }), await onPipe(), await onPipe({ NODE_ENV: 'production' })]) {
      const line = JSON.parse(out.trim().split(/\r?\n/).at(-1)!) as Record<string, unknown>;
      expect(line).toMatchObject({ level: 30, msg: 'hello from the gateway', n: 3, patient: { ins: '[redacted]' } });
      expect(out).not.toContain(INS);
    }
  }, 60_000);
});
