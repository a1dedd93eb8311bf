import { copyFile, mkdir, readFile, rm, unlink, utimes } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnFromX509, initDevelopmentPki, type PkiPaths } from '../../certs/index.js';
import { issuedBy, keyMatches, makeTempDir, readCerts } from './helpers.js';

async function expectConsistent(paths: PkiPaths): Promise<void> {
  const [, issuing] = await readCerts(paths.ca);
  for (const pair of [paths.server, paths.operators['hopital-a.mssante.fr'], paths.operators['cabinet-b.mssante.fr'], paths.expired, paths.revoked]) {
    expect(await keyMatches(pair), pair.cert).toBe(true);
    expect(issuedBy((await readCerts(pair.cert))[0]!, issuing!), pair.cert).toBe(true);
  }
}

describe('initDevelopmentPki: concurrency, interrupted runs and force', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let paths: PkiPaths;
  beforeAll(async () => {
    tmp = await makeTempDir('certs-pki-init');
  });
  afterAll(async () => tmp.cleanup());

  it('concurrent calls on one folder produce one consistent PKI', async () => {
    const [a, b] = await Promise.all([
      initDevelopmentPki(tmp.dir, { gatewayHostname: 'mx.test.example' }),
      initDevelopmentPki(tmp.dir, { gatewayHostname: 'mx.test.example' }),
    ]);
    expect(a).toEqual(b);
    paths = a;
    await expectConsistent(paths);
    const [server] = await readCerts(paths.server.cert);
    expect(server!.checkHost('mx.test.example')).toBe('mx.test.example');
    expect(dnFromX509(server!)).toMatch(/^CN=mx\.test\.example,/);
    expect(existsSync(path.join(tmp.dir, '.init.lock'))).toBe(false);
  });

  it('waits while another process holds the lock and uses its result instead of generating again', async () => {
    const other = await makeTempDir('certs-pki-lock');
    try {
      const lock = path.join(other.dir, '.init.lock');
      await mkdir(lock);
      let done = false;
      let busy = 0;
      let seenBusyTwice!: () => void;
      const waitedTwice = new Promise<void>((resolve) => (seenBusyTwice = resolve));
      const pending = initDevelopmentPki(other.dir, {
        onLockBusy: () => {
          if (++busy === 2) seenBusyTwice();
        },
      }).then((p) => {
        done = true;
        return p;
      });
      // It found the lock held, waited, and found it held again: it is waiting, not generating.
      await waitedTwice;
      expect(done).toBe(false);
      expect(existsSync(path.join(other.dir, 'ca.crt'))).toBe(false);
      // The "other process" completes: ca.crt appears, then the lock goes.
      await copyFile(paths.ca, path.join(other.dir, 'ca.crt'));
      await rm(lock, { recursive: true });
      const result = await pending;
      expect(existsSync(result.ca)).toBe(true);
      expect(existsSync(result.server.cert)).toBe(false);
    } finally {
      await other.cleanup();
    }
  });

  it('regenerates a folder without ca.crt (interrupted run), taking over a stale lock', async () => {
    const oldServer = await readFile(paths.server.cert, 'utf8');
    await unlink(paths.ca);
    const lock = path.join(tmp.dir, '.init.lock');
    await mkdir(lock);
    const old = new Date(Date.now() - 120_000);
    await utimes(lock, old, old);
    await initDevelopmentPki(tmp.dir, { gatewayHostname: 'mx.test.example' });
    expect(existsSync(lock)).toBe(false);
    expect(await readFile(paths.server.cert, 'utf8')).not.toBe(oldServer);
    await expectConsistent(paths);
  });

  it('force replaces a complete PKI', async () => {
    const ca = await readFile(paths.ca, 'utf8');
    await initDevelopmentPki(tmp.dir, { force: true });
    expect(await readFile(paths.ca, 'utf8')).not.toBe(ca);
    await expectConsistent(paths);
    // Without gatewayHostname the default name comes back.
    expect((await readCerts(paths.server.cert))[0]!.checkHost('mx.patient.mssante.fr')).toBe('mx.patient.mssante.fr');
  });
});
