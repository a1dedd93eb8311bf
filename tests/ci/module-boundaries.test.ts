// The module surfaces and directions of SPEC §9 (tools/eslint-module-boundaries.js), enforced by `npm run lint`:
// the rule's table, its verdicts, and ESLint reporting a violation in a real lint run.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { boundaryProblem, MAY_IMPORT, moduleOf } from '../../tools/eslint-module-boundaries.js';

describe('module boundaries', () => {
  it('knows the modules, gateway adapters one by one, and nothing outside them', () => {
    expect(['access/x.ts', 'gateway/relay/deliver.ts', 'gateway/x.ts', 'tests/a.test.ts', 'web/app.js', 'eslint.config.js'].map(moduleOf)).toEqual([
      'access',
      'gateway/relay',
      null,
      null,
      null,
      null,
    ]);
  });

  it('has directions without a cycle (config ↔ vault included), domain modules never above an adapter', () => {
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (m: string, trail: string[]): void => {
      if (done.has(m)) return;
      expect(visiting.has(m), `cycle ${[...trail, m].join(' -> ')}`).toBe(false);
      visiting.add(m);
      for (const n of MAY_IMPORT[m] ?? []) visit(n, [...trail, m]);
      visiting.delete(m);
      done.add(m);
    };
    for (const m of Object.keys(MAY_IMPORT)) visit(m, []);
    for (const domain of ['vault', 'access', 'mailbox']) {
      expect(MAY_IMPORT[domain]!.filter((m) => m === 'api' || m === 'app' || m.startsWith('gateway/'))).toEqual([]);
    }
    expect(MAY_IMPORT.vault).not.toContain('mailbox');
    expect(MAY_IMPORT.config).toEqual([]);
    expect(MAY_IMPORT.db).toEqual(['config']);
  });

  it.each([
    ['access/professional-access.ts', 'vault/index.js', null],
    ['access/rules/x.ts', 'access/activity.js', null], // inside a module: anything
    ['access/x.ts', 'vault/documents.js', /through vault\/index\.js/],
    ['mailbox/x.ts', 'access/rules/index.js', /through access\/index\.js/],
    ['vault/x.ts', 'access/index.js', /vault may not import access/],
    ['vault/x.ts', 'mailbox/index.js', /may not import mailbox/],
    ['config/x.ts', 'vault/index.js', /config may not import vault/],
    ['db/schema.ts', 'access/index.js', /db may not import access/],
    ['access/x.ts', 'api/index.js', /access may not import api/],
    ['app/gateway.ts', 'gateway/ingress/index.js', null],
    ['app/gateway.ts', 'gateway/ingress/server.js', /through gateway\/ingress\/index\.js/],
    ['tests/x.test.ts', 'vault/documents.js', null],
  ])('%s importing %s', (importer, target, expected) => {
    const problem = boundaryProblem(importer, target);
    if (expected === null) expect(problem).toBeNull();
    else expect(problem).toMatch(expected);
  });

  it('is what `npm run lint` reports on a deep import and on an import against the directions', async () => {
    const eslint = new ESLint();
    const [result] = await eslint.lintText(
      "import { fileDocument } from '../vault/documents.js';\nimport { startApi } from '../api/index.js';\nexport const x = [fileDocument, startApi];\n",
      {
        filePath: 'access/boundary-probe.ts',
      },
    );
    expect(result!.messages.filter((m) => m.ruleId === 'mesgw/module-boundaries').map((m) => m.line)).toEqual([1, 2]);
  });
});
