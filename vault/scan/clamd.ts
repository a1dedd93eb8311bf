/**
 * A ClamAV daemon (clamd) client over TCP or a unix socket, node:net only.
 *
 * Protocol (clamd(8)): `zINSTREAM\0`, then the data as chunks each preceded by its length as a 4-byte
 * big-endian integer, then a zero-length chunk; clamd answers one NUL-terminated line:
 * `stream: OK`, `stream: <signature> FOUND`, `<reason> ERROR`, or `INSTREAM size limit exceeded. ERROR`
 * (the data went past clamd's StreamMaxLength; clamd then closes the connection without reading the rest,
 * so we often see EPIPE/ECONNRESET instead of that line: keep `maxBytes` below StreamMaxLength for a clear
 * reason).
 * `zPING\0` is answered by `PONG`.
 *
 * Guarantees:
 * - `scanStream` and `ping` never throw and never reject: every scanner-side problem (connection refused,
 *   reset, timeout, unexpected or missing reply, size limit, a failing source, invalid options) is returned
 *   as `{ verdict: 'error', reason }`. Only `clean` means "clamd read every byte and found nothing", so a
 *   caller that delivers on `clean` alone FAILS CLOSED.
 * - Bounded: one deadline (`timeoutMs`) covers connecting, sending, clamd's scan and the reply; when it
 *   passes, the socket is destroyed and the verdict is 'error'. The reply is read up to 4 KiB at most.
 * - Back-pressure: the source is pulled only while the socket accepts data (`write()` returning false waits
 *   for 'drain'), so a slow clamd never makes us buffer a whole attachment in memory.
 * - `maxBytes` (optional) is enforced on our side too, without relying on clamd's StreamMaxLength.
 * - An async-iterable source is iterated at most once; when the scan ends before the source is exhausted
 *   (error, timeout, size limit, early reply) a stream source is destroyed and any other iterator is
 *   `return()`ed: once the promise resolves, a stream source has been read to its end or destroyed, never
 *   left half-read. A Buffer source is sent by slices, never copied.
 *
 * `VirusScanner` wraps this for the vault: `new VirusScanner(null)` means "no scanner configured" (SPEC §5:
 * ClamAV is used *when configured*) and every scan answers `not-scanned` without touching the input.
 */
import net from 'node:net';

/** Where clamd listens: a unix socket (`socketPath`) or TCP (`host`, default 127.0.0.1; `port`, default 3310). */
export interface ClamdConnection {
  host?: string;
  port?: number;
  socketPath?: string;
}

export interface ScanOptions extends ClamdConnection {
  /** Deadline for the whole exchange, scan included: size it for the largest accepted attachment. */
  timeoutMs: number;
  /** Refuse (verdict 'error') a source longer than this many bytes. */
  maxBytes?: number;
}

export interface PingOptions extends ClamdConnection {
  timeoutMs: number;
}

export type ScanResult = { verdict: 'clean' } | { verdict: 'infected'; signature: string } | { verdict: 'error'; reason: string };
export type PingResult = { ok: true } | { ok: false; reason: string };

/** clamd's default TCP port. */
export const CLAMD_DEFAULT_PORT = 3310;

/**
 * Largest chunk sent in one INSTREAM frame. clamd refuses a single chunk larger than StreamMaxLength, and
 * smaller frames let back-pressure work at a fine grain; 64 KiB keeps the framing overhead negligible.
 */
const FRAME_BYTES = 64 * 1024;
/** A legitimate reply is one short line; anything longer is not clamd and is not buffered further. */
const MAX_REPLY_BYTES = 4096;

type Source = AsyncIterable<Buffer> | Buffer;

/** Scans `source` with clamd's INSTREAM command. Never throws: see the file header for the semantics. */
export async function scanStream(source: Source, opts: ScanOptions): Promise<ScanResult> {
  const invalid = checkOptions(opts);
  if (invalid) return { verdict: 'error', reason: invalid };
  if (opts.maxBytes !== undefined && !(Number.isSafeInteger(opts.maxBytes) && opts.maxBytes >= 0)) {
    return { verdict: 'error', reason: 'invalid options: maxBytes must be a non-negative integer' };
  }
  const maxBytes = opts.maxBytes ?? Infinity;
  if (Buffer.isBuffer(source) && source.length > maxBytes) return { verdict: 'error', reason: `input exceeds maxBytes (${maxBytes})` };

  return new Promise<ScanResult>((resolve) => {
    let settled = false;
    let sentTerminator = false;
    let reply = Buffer.alloc(0);
    let iterator: AsyncIterator<Buffer> | null = null;
    let iteratorDone = false;
    // Wakes the pump when it waits for 'drain' and the exchange ends some other way.
    let wake: (() => void) | null = null;

    const socket = connect(opts);
    const timer = setTimeout(() => finish({ verdict: 'error', reason: `clamd timeout after ${opts.timeoutMs} ms` }), opts.timeoutMs);

    function finish(result: ScanResult): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      wake?.();
      stopSource();
      resolve(result);
    }

    /**
     * Ends an unfinished source so an abandoned upload does not keep a file or socket open, and so the other
     * branch of a tee (`src.pipe(store); src.pipe(scanBranch)`) is not stalled by a branch nobody reads: a
     * stream is destroyed (this also releases an iterator stuck in next()), an iterator is returned.
     */
    function stopSource(): void {
      if (iteratorDone || Buffer.isBuffer(source)) return;
      iteratorDone = true;
      const destroyable = source as unknown as { destroy?: unknown };
      if (typeof destroyable.destroy === 'function') (destroyable.destroy as () => void).call(source);
      else if (iterator && typeof iterator.return === 'function') iterator.return().catch(() => undefined);
    }

    socket.on('error', (err) => {
      // clamd may answer (size limit) and close before we finish writing: prefer its reply to our EPIPE.
      // When the reset wins the race against the reply, Node drops the unread reply with the socket: say what
      // it most likely was. The verdict is 'error' either way.
      const parsed = completeReply(reply);
      const code = (err as NodeJS.ErrnoException).code;
      if (parsed) finish(judge(parsed, sentTerminator));
      else if (!sentTerminator && (code === 'EPIPE' || code === 'ECONNRESET')) {
        finish({ verdict: 'error', reason: `clamd closed the connection before the end of the stream (${code}: StreamMaxLength exceeded, or clamd stopped)` });
      } else finish({ verdict: 'error', reason: `clamd connection: ${describe(err)}` });
    });
    socket.on('data', (data: Buffer) => {
      reply = Buffer.concat([reply, data]);
      const parsed = completeReply(reply);
      if (parsed !== null) finish(judge(parsed, sentTerminator));
      else if (reply.length > MAX_REPLY_BYTES) finish({ verdict: 'error', reason: 'clamd reply too long' });
    });
    socket.on('close', () => {
      const parsed = completeReply(reply) ?? (reply.length > 0 ? reply.toString('latin1').trim() : null);
      if (parsed) finish(judge(parsed, sentTerminator));
      else finish({ verdict: 'error', reason: 'clamd closed the connection without a reply' });
    });

    const write = async (buf: Buffer): Promise<void> => {
      if (settled) return;
      if (socket.write(buf)) return;
      await new Promise<void>((res) => {
        const done = (): void => {
          socket.off('drain', done);
          wake = null;
          res();
        };
        wake = done;
        socket.once('drain', done);
      });
    };

    const sendChunk = async (chunk: Buffer): Promise<void> => {
      for (let off = 0; off < chunk.length && !settled; off += FRAME_BYTES) {
        const piece = chunk.subarray(off, off + FRAME_BYTES);
        const header = Buffer.allocUnsafe(4);
        header.writeUInt32BE(piece.length, 0);
        // cork/uncork: header and data leave in one segment instead of a 4-byte packet each time.
        socket.cork();
        socket.write(header);
        const p = write(piece);
        socket.uncork();
        await p;
      }
    };

    const pump = async (): Promise<void> => {
      await write(Buffer.from('zINSTREAM\0', 'latin1'));
      if (settled) return;
      let total = 0;
      if (Buffer.isBuffer(source)) {
        await sendChunk(source);
      } else {
        iterator = source[Symbol.asyncIterator]();
        for (;;) {
          if (settled) return;
          const step = await iterator.next();
          if (settled) return;
          if (step.done) {
            iteratorDone = true;
            break;
          }
          const chunk = toBuffer(step.value);
          if (chunk === null) return finish({ verdict: 'error', reason: 'source yielded a non-binary chunk' });
          // A zero-length frame means "end of stream" to clamd: sending one here would end the scan early and
          // report the rest of the file as never seen. Empty chunks are therefore skipped.
          if (chunk.length === 0) continue;
          total += chunk.length;
          if (total > maxBytes) return finish({ verdict: 'error', reason: `input exceeds maxBytes (${maxBytes})` });
          await sendChunk(chunk);
        }
      }
      if (settled) return;
      sentTerminator = true;
      await write(Buffer.alloc(4));
    };

    pump().catch((err: unknown) => finish({ verdict: 'error', reason: `source: ${describe(err)}` }));
  });
}

/** `zPING` → `PONG`. Never throws; `{ ok: false }` on anything else, including a timeout. */
export async function ping(opts: PingOptions): Promise<PingResult> {
  const invalid = checkOptions(opts);
  if (invalid) return { ok: false, reason: invalid };
  return new Promise<PingResult>((resolve) => {
    let settled = false;
    let reply = Buffer.alloc(0);
    const socket = connect(opts);
    const finish = (r: PingResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: `clamd timeout after ${opts.timeoutMs} ms` }), opts.timeoutMs);
    socket.on('error', (err) => finish({ ok: false, reason: `clamd connection: ${describe(err)}` }));
    socket.on('data', (d: Buffer) => {
      reply = Buffer.concat([reply, d]);
      const line = completeReply(reply);
      if (line !== null) finish(line === 'PONG' ? { ok: true } : { ok: false, reason: `unexpected reply: ${printable(line)}` });
      else if (reply.length > MAX_REPLY_BYTES) finish({ ok: false, reason: 'clamd reply too long' });
    });
    socket.on('close', () => {
      const line = reply.toString('latin1').replace(/\0/g, '').trim();
      finish(
        line === 'PONG' ? { ok: true } : { ok: false, reason: line ? `unexpected reply: ${printable(line)}` : 'clamd closed the connection without a reply' },
      );
    });
    socket.write('zPING\0');
  });
}

/** Scanner configuration: where clamd listens, and the limits applied to every scan. */
export interface VirusScannerConfig extends ClamdConnection {
  timeoutMs: number;
  maxBytes?: number;
}

/** What the vault records: a scan result, or the explicit statement that no scanner is configured. */
export type ScanVerdict = ScanResult | { verdict: 'not-scanned' };

/**
 * The vault's virus scanner.
 *
 * - `new VirusScanner(config)`: every `scan` goes to clamd; the verdict is never 'not-scanned', and a scanner
 *   that is down yields 'error' (never a silent fallback to "not scanned"), so callers quarantine.
 * - `new VirusScanner(null)`: scanning is OFF (no scanner configured). `enabled` is false and `scan` resolves
 *   `{ verdict: 'not-scanned' }` without reading the input (a stream is left untouched for the caller). The
 *   other content checks (type sniffing, refused executables) still apply; callers should record that the
 *   document was not scanned rather than treat it as clean.
 *
 * The constructor throws a TypeError for an invalid configuration, so a bad setting stops the process at
 * start-up instead of turning every later scan into 'error'.
 */
export class VirusScanner {
  readonly enabled: boolean;
  private readonly config: VirusScannerConfig | null;

  constructor(config: VirusScannerConfig | null) {
    if (config !== null) {
      const invalid = checkOptions(config);
      if (invalid) throw new TypeError(`VirusScanner: ${invalid}`);
      if (config.maxBytes !== undefined && !(Number.isSafeInteger(config.maxBytes) && config.maxBytes >= 0)) {
        throw new TypeError('VirusScanner: maxBytes must be a non-negative integer');
      }
      this.config = { ...config };
    } else {
      this.config = null;
    }
    this.enabled = this.config !== null;
  }

  /** Never throws; see the class comment for the verdicts. */
  scan(input: Buffer | AsyncIterable<Buffer>): Promise<ScanVerdict> {
    if (this.config === null) return Promise.resolve({ verdict: 'not-scanned' });
    return scanStream(input, this.config);
  }

  /** Readiness probe: with scanning off there is nothing to wait for, so it reports ok. */
  ping(): Promise<PingResult> {
    if (this.config === null) return Promise.resolve({ ok: true });
    return ping(this.config);
  }
}

// ---------------------------------------------------------------------------------------------------------

function checkOptions(opts: ScanOptions | PingOptions): string | null {
  if (opts === null || typeof opts !== 'object') return 'invalid options';
  if (!(typeof opts.timeoutMs === 'number' && Number.isFinite(opts.timeoutMs) && opts.timeoutMs > 0)) {
    return 'invalid options: timeoutMs must be a positive number';
  }
  if (opts.socketPath !== undefined) {
    if (typeof opts.socketPath !== 'string' || opts.socketPath === '') return 'invalid options: socketPath must be a non-empty string';
    if (opts.port !== undefined || opts.host !== undefined) return 'invalid options: give either socketPath or host/port, not both';
    return null;
  }
  if (opts.port !== undefined && !(Number.isInteger(opts.port) && opts.port > 0 && opts.port < 65536)) {
    return 'invalid options: port must be an integer in 1..65535';
  }
  if (opts.host !== undefined && (typeof opts.host !== 'string' || opts.host === '')) return 'invalid options: host must be a non-empty string';
  return null;
}

function connect(opts: ClamdConnection): net.Socket {
  const socket =
    opts.socketPath !== undefined
      ? net.createConnection({ path: opts.socketPath })
      : net.createConnection({ host: opts.host ?? '127.0.0.1', port: opts.port ?? CLAMD_DEFAULT_PORT });
  // Nagle would hold back the small terminator frame; the scan verdict should not wait on it.
  socket.setNoDelay(true);
  return socket;
}

/** The first NUL-terminated line of a reply, or null while it is incomplete. */
function completeReply(buf: Buffer): string | null {
  const nul = buf.indexOf(0);
  if (nul < 0) return null;
  return buf.subarray(0, nul).toString('latin1').trim();
}

/**
 * Maps clamd's reply to a verdict. A clean reply before we sent the terminating frame would mean clamd did
 * not see the whole input, so it is an error, not 'clean'.
 */
function judge(line: string, sentTerminator: boolean): ScanResult {
  const result = parseReply(line);
  if (result.verdict === 'clean' && !sentTerminator) return { verdict: 'error', reason: 'clamd answered before the end of the stream' };
  return result;
}

/** Parses one INSTREAM reply line (without its NUL). Exported for unit tests. */
export function parseReply(line: string): ScanResult {
  if (line === 'stream: OK') return { verdict: 'clean' };
  const found = /^stream: (.+) FOUND$/.exec(line);
  if (found?.[1]) return { verdict: 'infected', signature: found[1] };
  if (/INSTREAM size limit exceeded/i.test(line)) return { verdict: 'error', reason: 'clamd: INSTREAM size limit exceeded (StreamMaxLength)' };
  const error = /^(.*?)\s*ERROR$/.exec(line);
  if (error) return { verdict: 'error', reason: `clamd: ${printable(error[1] || 'ERROR')}` };
  return { verdict: 'error', reason: `unexpected clamd reply: ${printable(line)}` };
}

function toBuffer(chunk: unknown): Buffer | null {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return null;
}

/** Keeps an untrusted reply safe for logs: printable ASCII, bounded. */
function printable(s: string): string {
  const clean = s.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code} ${err.message}` : err.message;
  }
  return String(err);
}
