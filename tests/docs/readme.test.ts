// The README's reference tables are generated from the data the code runs on; this fails when one drifts
// (regenerate with `npm run cli -- docs` and paste).
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { limitsTable, settingsTable } from '../../config/docs.js';
import { repliesTable } from '../../gateway/ingress/replies.js';
import { problemsTable } from '../../api/problems.js';

const README = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../README.md');

describe('README tables', () => {
  it.each([
    ['SMTP replies', repliesTable],
    ['API problems', problemsTable],
    ['settings', settingsTable],
    ['limits', limitsTable],
  ])('carries the generated %s table verbatim', async (_name, table) => {
    const readme = await fs.readFile(README, 'utf8');
    expect(readme).toContain(table());
  });
});
