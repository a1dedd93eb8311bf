/**
 * The README's reference tables, generated from the data that the code runs on (settings, limits, SMTP
 * replies), so the documentation cannot drift: `npm run cli -- docs` prints them and tests/docs/readme.test.ts
 * checks that the README carries each one verbatim.
 */
import { LIMITS } from './limits.js';
import { SETTINGS } from './settings.js';

const cell = (v: string) => v.replace(/\|/g, '\\|');

export function settingsTable(): string {
  const lines = ['| variable | default | meaning |', '|---|---|---|'];
  for (const s of Object.values(SETTINGS)) lines.push(`| \`${s.env}\` | ${s.default === '' ? '(empty)' : `\`${cell(s.default)}\``} | ${cell(s.doc)} |`);
  return lines.join('\n');
}

export function limitsTable(): string {
  const lines = ['| variable | default | why |', '|---|---|---|'];
  for (const l of Object.values(LIMITS)) lines.push(`| \`${l.env}\` | ${l.value} | ${cell(l.why)} |`);
  return lines.join('\n');
}
