/**
 * Serves the patient webmail (web/) at `/`: three static files, read once at start, with a strict
 * Content-Security-Policy (scripts and styles from this origin only, no framing, no plugins).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');

export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; " +
  "form-action 'self'; base-uri 'none'; object-src 'none'";

export const webRoutes: FastifyPluginAsync = async (app) => {
  const files = {
    '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
    '/assets/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
    '/assets/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  } as const;
  for (const [url, f] of Object.entries(files)) {
    const body = await fs.readFile(path.join(WEB, f.file));
    app.get(url, { schema: { hide: true } }, async (_req, reply) =>
      reply
        .header('content-type', f.type)
        .header('content-security-policy', CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-cache')
        .send(body),
    );
  }
};
