// The Node.js version the project declares (package.json engines, .nvmrc, the Dockerfile's image) against what
// its dependencies declare, from the lock file: every package must accept Node 20.19, except the two the README
// accepts (cookie@2 and content-disposition@3 say node >= 22 as a support policy; they are ES modules needing
// nothing newer than require(esm), which Node has unflagged since 20.19). For those two, the code paths their
// dependants use are run here, loaded the way those dependants load them, on the Node running the tests.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: unknown; dev?: boolean }>;
};

/** Packages whose engines exclude our Node floor, accepted in the README ("Node.js version"). */
const ACCEPTED = ['content-disposition', 'cookie'];

const nameOf = (lockPath: string): string => lockPath.slice(lockPath.lastIndexOf('node_modules/') + 'node_modules/'.length);

describe('Node.js version', () => {
  it('is one version line everywhere: engines, .nvmrc, the Docker image, and the Node running this', () => {
    expect(pkg.engines.node).toBe('>=20.19.0 <21');
    const floor = semver.minVersion(pkg.engines.node)!;
    // .nvmrc names the major line alone, so nvm takes its newest release, past the floor.
    const nvmrc = fs.readFileSync(path.join(ROOT, '.nvmrc'), 'utf8').trim();
    expect(nvmrc).toMatch(/^\d+$/);
    expect(Number(nvmrc)).toBe(semver.major(floor));
    const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(/^ARG NODE_IMAGE=node:(\d+)-bookworm-slim$/m.exec(dockerfile)?.[1]).toBe(nvmrc);
    expect(semver.satisfies(process.version, pkg.engines.node)).toBe(true);
  });

  it('is accepted by every locked package but the ones the README accepts', () => {
    const floor = semver.minVersion(pkg.engines.node)!.version;
    const refusing = new Map<string, string>();
    for (const [lockPath, entry] of Object.entries(lock.packages)) {
      if (!lockPath || typeof entry.engines !== 'object' || entry.engines === null) continue;
      const range = (entry.engines as { node?: unknown }).node;
      if (typeof range !== 'string') continue;
      if (!semver.satisfies(floor, range)) refusing.set(nameOf(lockPath), `${entry.version ?? '?'} wants node ${range}`);
    }
    expect([...refusing.keys()].sort(), JSON.stringify(Object.fromEntries(refusing))).toEqual(ACCEPTED);
  });

  it('runs the accepted packages as their dependants load them: content-disposition from @fastify/static', () => {
    const fromStatic = createRequire(createRequire(import.meta.url).resolve('@fastify/static'));
    const { create } = fromStatic('content-disposition') as { create(name: string): string };
    expect(create('compte rendu.pdf')).toBe('attachment; filename="compte rendu.pdf"');
    expect(create('résumé.pdf')).toBe('attachment; filename="r?sum?.pdf"; filename*=UTF-8\'\'r%C3%A9sum%C3%A9.pdf');
  });

  it('runs the accepted packages as their dependants load them: cookie from @fastify/cookie (import) and light-my-request (require)', async () => {
    const require = createRequire(import.meta.url);
    const fromPlugin = createRequire(require.resolve('@fastify/cookie'));
    const imported = (await import(pathToFileURL(fromPlugin.resolve('cookie')).href)) as {
      stringifySetCookie(c: Record<string, unknown>, o?: object): string;
      parseCookie(header: string): Record<string, string | undefined>;
    };
    const header = imported.stringifySetCookie({ name: 'mesgw_session', value: 'a.b-c_d', httpOnly: true, secure: true, sameSite: 'strict', path: '/' });
    expect(header).toBe('mesgw_session=a.b-c_d; Path=/; HttpOnly; Secure; SameSite=Strict');
    expect(imported.parseCookie('mesgw_session=a.b-c_d; other=1')).toEqual({ mesgw_session: 'a.b-c_d', other: '1' });
    // light-my-request (fastify's inject) require()s the ES module: require(esm), Node >= 20.19.
    const fromInject = createRequire(require.resolve('light-my-request'));
    const required = fromInject('cookie') as typeof imported;
    expect(required.stringifySetCookie({ name: 'x', value: 'y' })).toBe('x=y');
  });
});
