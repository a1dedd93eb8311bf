// The webmail names every kind of history event in French: a kind added to access/activity.ts without its
// label would show the patient a raw code such as "profile-state-changed".
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ACTIVITY_KINDS } from '../../access/activity.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('history labels', () => {
  it('has a French label for every activity kind', async () => {
    const source = await fs.readFile(path.join(root, 'web/views/activity.js'), 'utf8');
    const table = source.slice(source.indexOf('const ACTIONS = {'), source.indexOf('};', source.indexOf('const ACTIONS = {')));
    const missing = ACTIVITY_KINDS.filter((k) => !new RegExp(`'${k}': ['"]`).test(table));
    expect(missing).toEqual([]);
  });
});
