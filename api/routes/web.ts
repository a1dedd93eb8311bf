/**
 * Serves the patient webmail: `web/index.html` at `/`, the rest of `web/` under `/assets/`, and the two browser
 * libraries it uses (DOMPurify, pdf.js) under `/vendor/`. Every file is read once at start into memory: the set
 * of URLs is fixed, so no request path ever reaches the file system (no traversal, no surprise files).
 *
 * Content-Security-Policy:
 * - the app pages: scripts, styles, frames, workers from this origin only; images also from `blob:` (previews
 *   of attachments fetched by the app) and `data:`; no plugins, no framing by others, no `<base>`.
 *   HTML mail bodies are rendered in a frame that inherits this policy, so a remote image, font or stylesheet
 *   in a hostile mail is refused by the browser even if the sanitizer missed it.
 * - the PDF viewer page runs in a sandboxed frame with an opaque origin (no cookies, no access to the app):
 *   it only gets the PDF's bytes by postMessage and may load nothing but its own scripts.
 * Static files carry `Access-Control-Allow-Origin: *` because the sandboxed viewer (origin `null`) loads its
 * module scripts in CORS mode; they are public code, never data.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { FastifyPluginAsync } from 'fastify';
import { PROJECT_ROOT } from '../../config/index.js';

const WEB = path.join(PROJECT_ROOT, 'web');
const require = createRequire(import.meta.url);

export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
  "frame-src 'self'; worker-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

/** The PDF viewer: its own scripts and pdf.js's worker, rendering to canvas; nothing fetched, nothing framed. */
export const VIEWER_CSP =
  "default-src 'none'; script-src 'self'; worker-src 'self'; style-src 'self'; img-src blob: data:; " +
  "font-src data:; connect-src 'none'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'; object-src 'none'";

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

const VENDOR: Record<string, string> = {
  'purify.es.mjs': 'dompurify/dist/purify.es.mjs',
  'pdf.min.mjs': 'pdfjs-dist/build/pdf.min.mjs',
  'pdf.worker.min.mjs': 'pdfjs-dist/build/pdf.worker.min.mjs',
};

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(path.join(dir, e.name), rel)));
    else if (TYPES[path.extname(e.name)]) out.push(rel);
  }
  return out;
}

/** A file of an installed package: found by walking up from the package's main entry to its root folder. */
function resolveVendor(spec: string): string {
  const [pkg, ...rest] = spec.split('/') as [string, ...string[]];
  let dir = path.dirname(require.resolve(pkg));
  while (path.basename(dir) !== pkg && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, ...rest);
}

export const webRoutes: FastifyPluginAsync = async (app) => {
  const routes = new Map<string, { file: string; csp: string }>();
  routes.set('/', { file: path.join(WEB, 'index.html'), csp: CSP });
  for (const rel of await listFiles(WEB)) {
    if (rel === 'index.html') continue;
    routes.set(`/assets/${rel}`, { file: path.join(WEB, rel), csp: rel.startsWith('viewers/') ? VIEWER_CSP : CSP });
  }
  for (const [name, spec] of Object.entries(VENDOR)) routes.set(`/vendor/${name}`, { file: resolveVendor(spec), csp: CSP });

  for (const [url, r] of routes) {
    const body = await fs.readFile(r.file);
    const type = TYPES[path.extname(r.file)]!;
    app.get(url, { schema: { hide: true } }, async (_req, reply) => {
      reply
        .header('content-type', type)
        .header('content-security-policy', r.csp)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-cache');
      if (url !== '/') reply.header('access-control-allow-origin', '*');
      else {
        reply
          .header('x-frame-options', 'DENY')
          .header('cross-origin-opener-policy', 'same-origin')
          .header('permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=(), usb=()');
      }
      return reply.send(body);
    });
  }
};
