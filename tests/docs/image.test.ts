// The Dockerfile, .dockerignore, .ci/run and the README's quick start, read as text (no Docker engine runs on
// the CI machines): the image is built with `npm ci` and `npm run build` and its runtime stage holds only the build,
// the production dependencies and the files the build reads (config/paths.ts: package.json, db/migrations, web/),
// runs as a non-root user with a HEALTHCHECK; CI installs from the lock file and ends with the README's test command.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  steps: Instruction[];
}

/** Dockerfile instructions (continuation lines joined, comments dropped), grouped by stage. */
function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (!op) throw new Error(`unreadable Dockerfile line: ${line}`);
    if (op.toUpperCase() === 'FROM') {
      const [, from, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args!) ?? [];
      stages.push({ from: from!, name, steps: [] });
    } else if (stages.length > 0) stages.at(-1)!.steps.push({ op: op.toUpperCase(), args: args! });
    else if (op.toUpperCase() !== 'ARG') throw new Error(`${op} before FROM`);
  }
  return stages;
}

const stages = parseDockerfile(read('Dockerfile'));
const runs = (s: Stage): string[] => s.steps.filter((i) => i.op === 'RUN').map((i) => i.args);
const copies = (s: Stage) =>
  s.steps
    .filter((i) => i.op === 'COPY')
    .map((i) => {
      const words = i.args.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
    });

describe('Dockerfile', () => {
  const [build, deps, runtime] = stages as [Stage, Stage, Stage];

  it('has a build stage, a production-dependencies stage and a runtime stage on the same Node image', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'deps', undefined]);
    expect(new Set(stages.map((s) => s.from))).toEqual(new Set(['${NODE_IMAGE}']));
  });

  it('installs from the lock file only (npm ci), builds with npm run build, and keeps dev dependencies out', () => {
    const all = stages.flatMap(runs).join('\n');
    expect(all).not.toMatch(/npm (install|i)\b/);
    expect(runs(build).some((r) => /^npm ci\b/.test(r) && !r.includes('--omit=dev'))).toBe(true);
    expect(runs(build)).toContain('npm run build');
    expect(runs(deps).some((r) => /^npm ci\b.*--omit=dev/.test(r))).toBe(true);
    for (const s of [build, deps]) {
      expect(copies(s)[0]).toEqual({ from: undefined, sources: ['package.json', 'package-lock.json', '.npmrc'], dest: './' });
    }
  });

  it('compiles every source folder of the build', () => {
    const tsconfig = JSON.parse(read('tsconfig.build.json')) as { include: string[] };
    const copied = copies(build).flatMap((c) => c.sources);
    for (const dir of tsconfig.include) expect(copied, dir).toContain(dir);
    expect(copied).toEqual(expect.arrayContaining(['tsconfig.json', 'tsconfig.build.json']));
  });

  it('ships only the build, production node_modules, package.json, the migrations and the webmail', () => {
    const shipped = copies(runtime).map((c) => `${c.from ?? 'context'}:${c.sources.join(',')}`);
    expect(shipped.sort()).toEqual(['build:/app/dist', 'context:db/migrations', 'context:package.json', 'context:web', 'deps:/app/node_modules']);
    const all = JSON.stringify(runtime.steps);
    for (const absent of ['tests', 'docs', 'bench', 'tsx', 'tsconfig', 'npm ci', 'npm run']) expect(all, absent).not.toContain(absent);
  });

  it('runs node dist/app/main.js in production as a non-root user, with a HEALTHCHECK on /ready', () => {
    const last = (op: string) => runtime.steps.filter((i) => i.op === op).at(-1)?.args ?? '';
    expect(JSON.parse(last('CMD'))).toEqual(['node', 'dist/app/main.js']);
    expect(last('USER')).toBe('gateway');
    expect(runs(runtime).join(' ')).toMatch(/useradd --system --uid 10001\b/);
    expect(last('ENV')).toMatch(/\bNODE_ENV=production\b/);
    expect(last('ENV')).toMatch(/\bDATA_DIR=\/data\b/);
    expect(last('HEALTHCHECK')).toMatch(/^--interval=\S+ .*CMD \["node", "-e", ".*\/ready/);
    // The files the build reads at run time are where config/paths.ts looks: the folder holding package.json.
    expect(read('config/paths.ts')).toContain("path.join(d, 'db', 'migrations')");
  });
});

describe('.dockerignore', () => {
  it('keeps tests, docs, local state and installed or built files out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const entry of ['.git', 'node_modules', 'dist', 'data', 'tests', 'docs', 'bench']) expect(ignored).toContain(entry);
    for (const needed of ['package.json', 'package-lock.json', 'web', 'db', 'app']) expect(ignored).not.toContain(needed);
  });
});

describe('.ci/run and the README', () => {
  const readme = read('README.md');
  const quickStart = /## Quick start\n\n```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const commands = quickStart.split('\n').filter(Boolean).map((l) => l.replace(/\s+#.*$/, '').trim());

  it('the quick start is two commands: the gateway on embedded defaults, and every test', () => {
    expect(commands).toEqual(['npm install && npm start', 'npm test']);
  });

  it('CI installs from the lock file, checks (lint, format, types), builds, audits, and ends with the README test command', () => {
    const steps = read('.ci/run').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && !l.startsWith('set ') && !l.startsWith('cd '));
    expect(steps).toEqual(['npm ci --no-audit --no-fund', 'npm run lint', 'npm run format:check', 'npm run typecheck', 'npm run build', 'npm run check:compose', 'npm run audit', commands[1]]);
  });

  it('the package scripts CI and the README name exist', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    for (const name of ['start', 'build', 'test', 'test:unit', 'test:integration', 'test:browser', 'lint', 'format:check', 'typecheck', 'check:compose', 'audit', 'cli']) {
      expect(scripts, name).toHaveProperty(name);
    }
    expect(scripts.prestart).toBe('npm run -s build');
    expect(scripts.start).toMatch(/node dist\/app\/main\.js$/);
  });
});
