// The clamd client against a real clamd (tests/support/clamd.ts) and against fake servers for the failure
// cases clamd cannot be made to produce on demand (silence, garbage, a reader that never reads).
import net from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReply, ping, scanStream, VirusScanner } from '../../../vault/scan/clamd.js';
import { EICAR, EICAR_SIGNATURE, startClamd, type ClamdHandle } from '../../support/clamd.js';
import { freePort } from '../../support/ports.js';

let clamd: ClamdHandle;
const servers: net.Server[] = [];

/**
 * A 1 MB sample known to the test database by its whole-file MD5: clamd detects it only if every byte
 * arrived, in order, so it checks the framing of multi-frame Buffers and of odd-sized stream chunks.
 */
const BIG_SAMPLE = pdfLike(1024 * 1024 + 17);
const BIG_SIGNATURE = 'Big-Sample-Signature.UNOFFICIAL';

beforeAll(async () => {
  clamd = await startClamd({ extraSignatures: [{ name: 'Big-Sample-Signature', data: BIG_SAMPLE }] });
});
afterAll(async () => {
  await clamd?.stop();
  for (const s of servers) s.close();
});

const opts = () => ({ port: clamd.port, host: '127.0.0.1', timeoutMs: 20_000 });

/** PDF-like bytes: a header, some deterministic pseudo-random body, an EOF marker. */
function pdfLike(size: number): Buffer {
  const body = Buffer.alloc(size);
  let x = 12345;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    body[i] = x & 0xff;
  }
  Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1').copy(body, 0);
  Buffer.from('\n%%EOF\n').copy(body, size - 7);
  return body;
}

async function* chunks(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

/** A TCP server on loopback whose connections are handled by `onConn`; closed in afterAll. */
async function fakeServer(onConn: (s: net.Socket) => void, serverOpts: net.ServerOpts = {}): Promise<number> {
  const server = net.createServer(serverOpts, onConn);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

describe('scanStream against a real clamd', () => {
  it('answers PONG to ping', async () => {
    expect(await ping(opts())).toEqual({ ok: true });
  });

  it('reports EICAR as infected with the signature name', async () => {
    expect(await scanStream(EICAR, opts())).toEqual({ verdict: 'infected', signature: EICAR_SIGNATURE });
  });

  it('reports EICAR split into tiny chunks (and an empty chunk) as infected', async () => {
    // The empty chunk must not be sent as the zero-length terminator, or clamd would scan only a prefix.
    async function* split(): AsyncGenerator<Buffer> {
      yield EICAR.subarray(0, 5);
      yield Buffer.alloc(0);
      yield* chunks(EICAR.subarray(5), 7);
    }
    expect(await scanStream(split(), opts())).toEqual({ verdict: 'infected', signature: EICAR_SIGNATURE });
  });

  it('works over the unix socket too', async () => {
    const o = { socketPath: clamd.socketPath, timeoutMs: 20_000 };
    expect(await ping(o)).toEqual({ ok: true });
    expect(await scanStream(EICAR, o)).toEqual({ verdict: 'infected', signature: EICAR_SIGNATURE });
    expect(await scanStream(pdfLike(5000), o)).toEqual({ verdict: 'clean' });
  });

  it('reports clean PDF-like bytes as clean', async () => {
    expect(await scanStream(pdfLike(20_000), opts())).toEqual({ verdict: 'clean' });
  });

  it('reports a 3 MB stream sent in chunks as clean', async () => {
    const big = pdfLike(3 * 1024 * 1024);
    expect(await scanStream(chunks(big, 100_000), opts())).toEqual({ verdict: 'clean' });
    expect(await scanStream(Readable.from(chunks(big, 16_384)), opts())).toEqual({ verdict: 'clean' });
  });

  it('delivers every byte in order: a 1 MB whole-file signature matches as a Buffer and in odd chunks', async () => {
    expect(await scanStream(BIG_SAMPLE, opts())).toEqual({ verdict: 'infected', signature: BIG_SIGNATURE });
    expect(await scanStream(chunks(BIG_SAMPLE, 99_991), opts())).toEqual({ verdict: 'infected', signature: BIG_SIGNATURE });
    expect(await scanStream(chunks(EICAR, 1), opts())).toEqual({ verdict: 'infected', signature: EICAR_SIGNATURE });
    // One byte changed: no longer the sample.
    const altered = Buffer.from(BIG_SAMPLE);
    altered[500_000] = (altered[500_000] ?? 0) ^ 1;
    expect(await scanStream(altered, opts())).toEqual({ verdict: 'clean' });
  });

  it('refuses input over maxBytes on our side', async () => {
    const r = await scanStream(chunks(pdfLike(300_000), 50_000), { ...opts(), maxBytes: 100_000 });
    expect(r.verdict).toBe('error');
    const b = await scanStream(pdfLike(300_000), { ...opts(), maxBytes: 100_000 });
    expect(b).toMatchObject({ verdict: 'error', reason: expect.stringContaining('maxBytes') });
  });

  it('VirusScanner with a config scans', async () => {
    const scanner = new VirusScanner(opts());
    expect(scanner.enabled).toBe(true);
    expect(await scanner.scan(EICAR)).toEqual({ verdict: 'infected', signature: EICAR_SIGNATURE });
    expect(await scanner.scan(chunks(pdfLike(10_000), 1000))).toEqual({ verdict: 'clean' });
    expect(await scanner.ping()).toEqual({ ok: true });
  });
});

describe('fail closed', () => {
  it('a clamd whose StreamMaxLength is exceeded → error, then a stopped clamd → error', async () => {
    const small = await startClamd({ streamMaxLength: '1M' });
    try {
      const o = { port: small.port, timeoutMs: 20_000 };
      // clamd either answers "INSTREAM size limit exceeded" or resets the connection first (a race).
      for (let i = 0; i < 3; i++) {
        const r = await scanStream(chunks(pdfLike(3 * 1024 * 1024), 64 * 1024), o);
        expect(r).toMatchObject({ verdict: 'error', reason: expect.stringMatching(/size limit|StreamMaxLength/) });
      }
      expect(await scanStream(EICAR, o)).toEqual({ verdict: 'infected', signature: EICAR_SIGNATURE });
      await small.stop();
      const t0 = Date.now();
      const after = await scanStream(EICAR, o);
      expect(after).toMatchObject({ verdict: 'error', reason: expect.stringContaining('ECONNREFUSED') });
      expect(Date.now() - t0).toBeLessThan(2000);
      expect((await ping(o)).ok).toBe(false);
    } finally {
      await small.stop();
    }
  });

  it('clamd killed in the middle of a stream → error, without waiting for the timeout', async () => {
    const victim = await startClamd();
    try {
      let sent = 0;
      // Produces data slowly and forever: only the dead connection can end the scan.
      async function* slow(): AsyncGenerator<Buffer> {
        for (;;) {
          sent++;
          if (sent === 3) process.kill(victim.pid, 'SIGKILL');
          yield Buffer.alloc(1024, 1);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      const t0 = Date.now();
      const r = await scanStream(slow(), { port: victim.port, timeoutMs: 15_000 });
      expect(r.verdict).toBe('error');
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      await victim.stop();
    }
  });

  it('a port with nothing listening → error quickly', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const r = await scanStream(EICAR, { port, timeoutMs: 10_000 });
    expect(r).toMatchObject({ verdict: 'error', reason: expect.stringContaining('ECONNREFUSED') });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await ping({ port, timeoutMs: 10_000 })).toMatchObject({ ok: false });
  });

  it('a unix socket that does not exist → error', async () => {
    const r = await scanStream(EICAR, { socketPath: '/nonexistent/clamd.ctl', timeoutMs: 1000 });
    expect(r.verdict).toBe('error');
  });

  it('a server that never answers → error at the deadline', async () => {
    const port = await fakeServer((s) => s.resume());
    const t0 = Date.now();
    const r = await scanStream(EICAR, { port, timeoutMs: 300 });
    const elapsed = Date.now() - t0;
    expect(r).toMatchObject({ verdict: 'error', reason: expect.stringContaining('timeout') });
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2000);
    expect(await ping({ port, timeoutMs: 300 })).toMatchObject({ ok: false, reason: expect.stringContaining('timeout') });
  });

  it('a source that hangs → error at the deadline, and the source stream is destroyed', async () => {
    const port = await fakeServer((s) => s.resume());
    const source = new Readable({ read() {} });
    source.push(Buffer.from('start'));
    const r = await scanStream(source, { port, timeoutMs: 300 });
    expect(r).toMatchObject({ verdict: 'error', reason: expect.stringContaining('timeout') });
    expect(source.destroyed).toBe(true);
  });

  it('a failing source → error, not a throw', async () => {
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.from('abc');
      throw new Error('disk gone');
    }
    const r = await scanStream(broken(), opts());
    expect(r).toMatchObject({ verdict: 'error', reason: expect.stringContaining('disk gone') });
  });

  it('a garbage reply, an early "OK" and a connection closed without reply → error', async () => {
    const garbage = await fakeServer((s) => s.once('data', () => s.end('HELLO THERE\0')));
    expect(await scanStream(EICAR, { port: garbage, timeoutMs: 2000 })).toMatchObject({ verdict: 'error', reason: expect.stringContaining('unexpected') });
    // "OK" before the terminating frame: clamd cannot have seen the whole input.
    const early = await fakeServer((s) => {
      s.resume();
      s.once('data', () => s.write('stream: OK\0'));
    });
    const neverEnds = new Readable({ read() {} });
    neverEnds.push(Buffer.from('x'));
    expect(await scanStream(neverEnds, { port: early, timeoutMs: 2000 })).toMatchObject({
      verdict: 'error',
      reason: expect.stringContaining('before the end'),
    });
    const silent = await fakeServer((s) => s.once('data', () => s.end()));
    expect(await scanStream(EICAR, { port: silent, timeoutMs: 2000 })).toMatchObject({ verdict: 'error', reason: expect.stringContaining('without a reply') });
  });

  it('honours back-pressure: a reader that never reads does not make us drain the source', async () => {
    const port = await fakeServer(() => undefined, { pauseOnConnect: true });
    let pulled = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      const block = Buffer.alloc(64 * 1024, 7);
      for (;;) {
        pulled += block.length;
        // Bounds the test itself: without back-pressure the pump would pull until the worker runs out of memory.
        if (pulled > 64 * 1024 * 1024) throw new Error('pulled 64 MB without back-pressure');
        yield block;
      }
    }
    const r = await scanStream(endless(), { port, timeoutMs: 1000 });
    expect(r).toMatchObject({ verdict: 'error', reason: expect.stringContaining('timeout') });
    // Loopback socket buffers hold a few MB; without back-pressure a second of pulling is hundreds of MB.
    expect(pulled).toBeLessThan(32 * 1024 * 1024);
  });

  it('invalid options → error, not a throw', async () => {
    expect((await scanStream(EICAR, { port: 70000, timeoutMs: 100 })).verdict).toBe('error');
    expect((await scanStream(EICAR, { port: 3310, timeoutMs: 0 })).verdict).toBe('error');
    expect(() => new VirusScanner({ timeoutMs: -1 })).toThrow(TypeError);
  });
});

describe('VirusScanner(null)', () => {
  it('is disabled and answers not-scanned without reading the input', async () => {
    const scanner = new VirusScanner(null);
    expect(scanner.enabled).toBe(false);
    expect(await scanner.scan(EICAR)).toEqual({ verdict: 'not-scanned' });
    const stream = Readable.from([Buffer.from('untouched')]);
    expect(await scanner.scan(stream)).toEqual({ verdict: 'not-scanned' });
    expect(stream.destroyed).toBe(false);
    expect(stream.readableDidRead).toBe(false);
  });
});

describe('parseReply', () => {
  it('maps each clamd reply', () => {
    expect(parseReply('stream: OK')).toEqual({ verdict: 'clean' });
    expect(parseReply('stream: Win.Test.EICAR_HDB-1 FOUND')).toEqual({ verdict: 'infected', signature: 'Win.Test.EICAR_HDB-1' });
    expect(parseReply('INSTREAM size limit exceeded. ERROR')).toMatchObject({ verdict: 'error', reason: expect.stringContaining('size limit') });
    expect(parseReply('lstat() failed: No such file or directory. ERROR')).toMatchObject({ verdict: 'error', reason: expect.stringContaining('lstat') });
    expect(parseReply('stream: OK FOUND extra')).toMatchObject({ verdict: 'error' });
    expect(parseReply('')).toMatchObject({ verdict: 'error' });
  });
});
