/**
 * Where the project's own files are, whether the code runs from its TypeScript sources (tsx, tests) or from
 * the compiled `dist/` (`npm start`, the Docker image): the nearest folder above this module holding the
 * project's package.json. Assets that are not compiled (SQL migrations, the webmail's files) are found there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  for (let d = start; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json')) && fs.existsSync(path.join(d, 'db', 'migrations'))) return d;
    if (path.dirname(d) === d) throw new Error(`the project folder (package.json, db/migrations) was not found above ${start}`);
  }
}

export const PROJECT_ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));
