// The whitelist keeper against a real HTTPS server on 127.0.0.1 presenting the development PKI's server
// certificate (trusted through the keeper's `ca`, as WHITELIST_CA_FILE does), with real files. Log lines are
// read back from a real pino logger.
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  WhitelistDownloadError,
  WhitelistKeeper,
  buildWhitelistXml,
  downloadWhitelist,
  initDevelopmentPki,
  installWhitelistFile,
  loadTrustMaterial,
  type PkiPaths,
  type WhitelistRefreshLimits,
} from '../../certs/index.js';
import { freePort } from '../support/ports.js';
import { makeTempDir } from './helpers.js';
import { logs } from '../support/log-tap.js';

const HOUR = 3600_000;
const LIMITS: WhitelistRefreshLimits = { maxAgeMs: 48 * HOUR, downloadEveryMs: 24 * HOUR, downloadTimeoutMs: 3_000, maxBytes: 1024 * 1024, futureSkewMs: HOUR };

const listXml = (hoursAgo: number, domains = ['hopital-a.mssante.fr']) =>
  buildWhitelistXml(
    domains.map((domain) => ({ domain, dn: `CN=smtp.${domain},OU=399999999900011,O=TEST,C=FR`, description: 'test' })),
    new Date(Math.floor((Date.now() - hoursAgo * HOUR) / 1000) * 1000),
  );

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let pki: PkiPaths;
let ca: string[];
let server: https.Server;
let port: number;
let handler: Handler;
let requests: string[];
let caseNo = 0;
let file: string;

const serve =
  (body: string, status = 200, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/xml', ...headers });
    res.end(body);
  };

const url = (p = '/listeblanchemssante.xml') => `https://127.0.0.1:${port}${p}`;

function keeper(log: ReturnType<typeof logs>, over: Partial<ConstructorParameters<typeof WhitelistKeeper>[0]> = {}) {
  return new WhitelistKeeper({ file, url: url(), ca, limits: LIMITS, logger: log.logger, ...over });
}

beforeAll(async () => {
  tmp = await makeTempDir('wl-refresh');
  pki = await initDevelopmentPki(path.join(tmp.dir, 'pki'));
  ca = (await loadTrustMaterial({ caFile: pki.ca })).ca;
  server = https.createServer({ key: await readFile(pki.server.key), cert: await readFile(pki.server.cert) }, (req, res) => {
    requests.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

beforeEach(() => {
  requests = [];
  handler = serve('unset', 500);
  file = path.join(tmp.dir, `case-${++caseNo}`, 'whitelist.xml');
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await tmp?.cleanup();
});

describe('WhitelistKeeper with WHITELIST_URL', () => {
  it('downloads, validates and installs a newer list atomically as the last good copy; a restart without network starts on it', async () => {
    const log = logs();
    const old = listXml(30);
    await installWhitelistFile(file, old);
    const fresh = listXml(1, ['hopital-a.mssante.fr', 'cabinet-b.mssante.fr']);
    handler = serve(fresh);
    const k = keeper(log, { url: url('/listeblanchemssante.xml?token=s3cret') });
    expect((await k.init()).byDomain.size).toBe(1);
    expect(await k.check()).toEqual({ file: 'unchanged', download: 'installed', stale: false });
    expect(k.current()!.byDomain.size).toBe(2);
    expect(await readFile(file, 'utf8')).toBe(fresh);
    expect(await readdir(path.dirname(file)), 'no temporary file left').toEqual(['whitelist.xml']);
    expect(requests).toEqual(['/listeblanchemssante.xml?token=s3cret']);
    expect(JSON.stringify(log.lines)).not.toContain('s3cret');
    expect(log.lines.find((l) => l.msg === 'whitelist downloaded and installed')).toMatchObject({ domains: 2, entries: 2 });

    // Daily: the next check neither downloads nor re-parses the file it wrote itself.
    expect(await k.check()).toEqual({ file: 'unchanged', download: 'not-due', stale: false });
    expect(requests).toHaveLength(1);

    // A restart with the network gone: the last good copy is what the file holds.
    const offline = keeper(logs(), { url: `https://127.0.0.1:${await freePort()}/listeblanchemssante.xml` });
    expect((await offline.init()).byDomain.size).toBe(2);
    expect((await offline.check()).download).toBe('failed');
    expect(offline.current()!.byDomain.size).toBe(2);
  });

  it('refuses a non-HTTPS URL before connecting, and a redirect to one; follows a redirect to HTTPS', async () => {
    expect(() => keeper(logs(), { url: `http://127.0.0.1:${port}/listeblanchemssante.xml` })).toThrow(/WHITELIST_URL: only https/);
    await expect(downloadWhitelist(`http://127.0.0.1:${port}/l.xml`, { ca, timeoutMs: 1000, maxBytes: 1000 })).rejects.toThrow(WhitelistDownloadError);
    expect(requests).toEqual([]);

    const log = logs();
    await installWhitelistFile(file, listXml(30));
    const k = keeper(log);
    await k.init();
    handler = (_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${port}/plain.xml` });
      res.end();
    };
    expect((await k.check()).download).toBe('failed');
    expect(log.alerts('WHITELIST-DOWNLOAD').at(-1)!.err).toMatch(/redirect to http:\/\/127\.0\.0\.1:\d+\/plain\.xml refused: only https/);
    expect(requests).toEqual(['/listeblanchemssante.xml']);

    const fresh = listXml(1);
    handler = (req, res) => {
      if (req.url === '/moved.xml') return serve(fresh)(req, res);
      res.writeHead(301, { location: '/moved.xml' });
      res.end();
    };
    expect((await k.check()).download).toBe('installed');
    expect(await readFile(file, 'utf8')).toBe(fresh);
  });

  it('an invalid, empty or older download keeps the last good copy in force and on disk, and is retried at every check', async () => {
    const log = logs();
    const good = listXml(5);
    await installWhitelistFile(file, good);
    const k = keeper(log);
    const inForce = await k.init();
    const attempts: [string, RegExp][] = [
      ['<ListeBlancheMSSante><DateDeGeneration>2025-03-13T02:00:03Z</Date', /not well-formed/],
      [
        `<?xml version="1.0"?><ListeBlancheMSSante><DateDeGeneration>${new Date().toISOString()}</DateDeGeneration><ListeDomaines/></ListeBlancheMSSante>`,
        /no usable entry/,
      ],
      [listXml(10), /older than the list in force/],
      [listXml(-5), /in the future/],
      ['<!DOCTYPE x [<!ENTITY a "b">]><ListeBlancheMSSante/>', /DTD/],
    ];
    for (const [body, reason] of attempts) {
      handler = serve(body);
      expect((await k.check()).download).toBe('refused');
      expect(log.alerts('WHITELIST-DOWNLOAD').at(-1)!.err).toMatch(reason);
      expect(k.current()).toBe(inForce);
      expect(await readFile(file, 'utf8')).toBe(good);
    }
    // Each check tried again: a refusal is not a success that waits a day.
    expect(requests).toHaveLength(attempts.length);
  });

  it('refuses an oversize answer, announced or not, and a non-UTF-8 one', async () => {
    const log = logs();
    const good = listXml(5);
    await installWhitelistFile(file, good);
    const k = keeper(log, { limits: { ...LIMITS, maxBytes: 4096 } });
    await k.init();
    const big = listXml(
      1,
      Array.from({ length: 60 }, (_, i) => `d${i}.mssante.fr`),
    );
    expect(Buffer.byteLength(big)).toBeGreaterThan(4096);
    handler = serve(big, 200, { 'content-length': String(Buffer.byteLength(big)) });
    expect((await k.check()).download).toBe('failed');
    expect(log.alerts('WHITELIST-DOWNLOAD').at(-1)!.err).toMatch(/of \d+ bytes exceeds LIMIT_WHITELIST_MAX_BYTES \(4096\)/);
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/xml' }); // chunked: no length announced
      for (let i = 0; i < big.length; i += 1000) res.write(big.slice(i, i + 1000));
      res.end();
    };
    expect((await k.check()).download).toBe('failed');
    expect(log.alerts('WHITELIST-DOWNLOAD').at(-1)!.err).toMatch(/exceeds LIMIT_WHITELIST_MAX_BYTES \(4096 bytes\)/);
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(Buffer.from([0x3c, 0xff, 0xfe, 0x3e]));
    };
    expect((await k.check()).download).toBe('failed');
    expect(log.alerts('WHITELIST-DOWNLOAD').at(-1)!.err).toMatch(/not UTF-8/);
    expect(await readFile(file, 'utf8')).toBe(good);
  });

  it('gives up on a server that stalls within the timeout, and does not trust a server outside its CAs', async () => {
    const log = logs();
    await installWhitelistFile(file, listXml(5));
    const k = keeper(log, { limits: { ...LIMITS, downloadTimeoutMs: 500 } });
    await k.init();
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.write('<?xml version="1.0"?><ListeBlancheMSSante>'); // and nothing more
    };
    const started = Date.now();
    expect((await k.check()).download).toBe('failed');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(log.alerts('WHITELIST-DOWNLOAD').at(-1)!.err).toMatch(/no complete answer within 500 ms/);
    server.closeAllConnections();

    handler = serve(listXml(1));
    const untrusting = keeper(log, { ca: undefined }); // Node's CA store: the development CA is not in it
    await untrusting.init();
    expect((await untrusting.check()).download).toBe('failed');
    expect(log.alerts('WHITELIST-DOWNLOAD').at(-1)!.err).toMatch(/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT|self.signed/i);
    expect(requests).toHaveLength(1); // only the stalled one reached the handler
  });

  it('alerts WHITELIST-STALE at every check while the list in force is stale, also while downloads fail, until a fresh one arrives', async () => {
    const log = logs();
    await installWhitelistFile(file, listXml(72));
    const k = keeper(log);
    await k.init();
    handler = serve('busy', 503);
    for (let i = 1; i <= 3; i++) {
      expect(await k.check()).toEqual({ file: 'unchanged', download: 'failed', stale: true });
      expect(log.alerts('WHITELIST-STALE')).toHaveLength(i);
      expect(log.alerts('WHITELIST-DOWNLOAD')).toHaveLength(i);
    }
    expect(log.alerts('WHITELIST-STALE')[0]).toMatchObject({ level: 50, generatedAt: expect.any(String) });
    expect(log.alerts('WHITELIST-DOWNLOAD')[0]!.err).toMatch(/HTTP 503/);
    handler = serve(listXml(1));
    expect(await k.check()).toEqual({ file: 'unchanged', download: 'installed', stale: false });
    expect(log.alerts('WHITELIST-STALE')).toHaveLength(3);
  });

  it('with no usable file at start, downloads at once; with neither, start-up fails naming both', async () => {
    const fresh = listXml(1);
    handler = serve(fresh);
    const k = keeper(logs());
    expect((await k.init()).generatedAt).toBeInstanceOf(Date);
    expect(await readFile(file, 'utf8')).toBe(fresh);

    await writeFile(file, 'garbage');
    handler = serve('nope', 500);
    await expect(keeper(logs()).init()).rejects.toThrow(
      /no usable whitelist: .*whitelist\.xml: .*not well-formed.*download from https:\/\/127\.0\.0\.1:\d+\/listeblanchemssante\.xml .*failed/,
    );
  });
});

describe('WhitelistKeeper on the file alone', () => {
  it('picks up a list installed in the file at the next check, parses an unchanged file once, keeps the list on a bad file', async () => {
    const log = logs();
    await installWhitelistFile(file, listXml(5));
    const k = keeper(log, { url: undefined });
    await k.init();
    expect(await k.check()).toEqual({ file: 'unchanged', download: 'not-configured', stale: false });
    await installWhitelistFile(file, listXml(2, ['hopital-a.mssante.fr', 'cabinet-b.mssante.fr']));
    expect((await k.check()).file).toBe('loaded');
    const inForce = k.current()!;
    expect(inForce.byDomain.size).toBe(2);
    await writeFile(file, '<ListeBlancheMSSante>');
    expect((await k.check()).file).toBe('failed');
    expect(log.alerts('WHITELIST-RELOAD')).toHaveLength(1);
    expect(k.current()).toBe(inForce);
    await rm(file);
    expect((await k.check()).file).toBe('failed');
    expect(k.current()).toBe(inForce);
    expect(requests).toEqual([]);
  });
});
