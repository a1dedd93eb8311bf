// ESLint rule `mesgw/module-boundaries`: the module surfaces and directions of SPEC §9, as data.
//
// - A module is a top-level folder (gateway's adapters are one module each: gateway/ingress, gateway/relay,
//   gateway/notify). Another module is reached through its `index.ts` only ("import from '../vault/index.js'"),
//   never a file inside it: what a module does not export from its index is its own business.
// - MAY_IMPORT says which modules each module may import at all. The domain modules (vault, access, mailbox)
//   never import an adapter (api, gateway/*) nor the process layer (app); the vault stands below access and the
//   mailbox; db and config know no domain module; config imports nothing.
// - Tests (tests/) and web/ (browser code, reaching the server over HTTP only) are not modules here.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

const DOMAIN = ['vault', 'access', 'mailbox'];
const INFRA = ['config', 'db', 'certs'];
const ADAPTERS = ['api', 'gateway/ingress', 'gateway/relay', 'gateway/notify'];

/** Which modules each module may import (through their index). */
export const MAY_IMPORT = {
  config: [],
  db: ['config'],
  certs: ['config'],
  vault: ['config', 'db'],
  access: [...INFRA, 'vault'],
  mailbox: [...INFRA, 'vault', 'access'],
  'gateway/notify': [...INFRA],
  'gateway/relay': [...INFRA],
  'gateway/ingress': [...INFRA, ...DOMAIN],
  api: [...INFRA, ...DOMAIN, 'gateway/notify'],
  app: [...INFRA, ...DOMAIN, ...ADAPTERS],
  bench: [...INFRA, ...DOMAIN, ...ADAPTERS, 'app'],
};

/** The module a repository path belongs to, or null outside the modules (tests, web, tools, root files). */
export function moduleOf(relPath) {
  const parts = relPath.split(/[\\/]/);
  if (parts.length < 2) return null;
  if (parts[0] === 'gateway') return parts.length > 2 ? `gateway/${parts[1]}` : null;
  return Object.prototype.hasOwnProperty.call(MAY_IMPORT, parts[0]) ? parts[0] : null;
}

/** Why `importer` may not import `target` (both repository-relative, target as written with .js), or null. */
export function boundaryProblem(importer, target) {
  const from = moduleOf(importer);
  const to = moduleOf(target);
  if (from === null || to === null || from === to) return null;
  if (!MAY_IMPORT[from].includes(to)) return `${from} may not import ${to} (SPEC §9 directions: tools/eslint-module-boundaries.js)`;
  const index = `${to}/index.js`;
  if (target.split(path.sep).join('/') !== index) return `import ${to} through ${index}, not ${target} (a module's surface is its index)`;
  return null;
}

export const moduleBoundaries = {
  meta: { type: 'problem', docs: { description: 'Modules import each other through index.ts, in the directions of SPEC §9' }, schema: [] },
  create(context) {
    const file = path.relative(ROOT, context.filename ?? context.getFilename());
    const check = (node) => {
      const spec = node.source && node.source.value;
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, file)), spec));
      const problem = boundaryProblem(file, target);
      if (problem) context.report({ node: node.source, message: problem });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: (node) => check({ source: node.source }) };
  },
};

export default { rules: { 'module-boundaries': moduleBoundaries } };
