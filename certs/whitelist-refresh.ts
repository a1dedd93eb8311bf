/**
 * Keeps the ANS whitelist in force current (SPEC §2; DOMAIN.md §2 "Refresh"): WHITELIST_FILE is the last good
 * copy; with WHITELIST_URL set, the list is also downloaded over HTTPS every LIMIT_WHITELIST_DOWNLOAD_MS (daily),
 * and a download that passes every check replaces both the file and the list in force.
 *
 * Guarantees:
 * - Download: `https:` only (rules/whitelist-refresh.ts), the server verified by node:tls against Node's CA store
 *   or, when WHITELIST_CA_FILE is set, against those CAs only (e.g. the IGC-Santé chain); TLS 1.2 minimum; at most
 *   3 redirects, each to an `https:` URL again; no compressed encoding accepted; the whole exchange bounded by
 *   LIMIT_WHITELIST_DOWNLOAD_TIMEOUT_MS and the body by LIMIT_WHITELIST_MAX_BYTES (Content-Length checked first,
 *   then every byte counted), so a slow or hostile server can neither hold a check nor fill memory or disk.
 * - Validation before replacement: the body must be UTF-8, parse as ListeBlancheMSSante (parseWhitelist) and pass
 *   `judgeCandidate` (not empty, a DateDeGeneration, not in the future, not older than the list in force). A list
 *   that fails any of these is never written nor used.
 * - Installation is atomic and durable: temporary file in the same folder, fsync, rename over WHITELIST_FILE,
 *   fsync of the folder. A crash leaves the previous copy or the new one, never a mix, so a restart without
 *   network starts on the last good copy.
 * - The file is re-read at every check (LIMIT_WHITELIST_RELOAD_MS) when it changed on disk (inode, size or
 *   mtime): `cli whitelist import` or an operator's own job is picked up at the next check; an unusable file
 *   keeps the list in force (alert WHITELIST-RELOAD). A file change is the operator's decision and is taken as
 *   it is (an explicitly installed older list, `--force`, stays in force until the next download newer than it).
 * - Alerts, at every check while they hold (pino error/warn lines with an `alert` field):
 *   WHITELIST-STALE (the list in force is older than LIMIT_WHITELIST_MAX_AGE_MS), WHITELIST-DOWNLOAD (download
 *   failed or refused; retried at every check until one succeeds), WHITELIST-RELOAD (file unusable),
 *   WHITELIST-SAVE (a good download could not be written: it is used, but a restart would fall back to the file).
 *   Logged URLs are origin and path only (`redactUrl`); no list content beyond counts and dates is logged.
 *
 * Failure semantics: `init()` throws when no usable list can be had at start (file unusable and, with a URL, the
 * download failed too): the gateway does not start on nothing. `check()` never throws; checks never overlap.
 * `downloadWhitelist` throws `WhitelistDownloadError` (message without query string or credentials);
 * `installWhitelistFile` propagates file-system errors and leaves no temporary file behind.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import type { Logger } from 'pino';
import { checkWhitelistUrl, downloadDue, isStale, judgeCandidate, redactUrl } from './rules/whitelist-refresh.js';
import { WhitelistFormatError, parseWhitelist, type Whitelist } from './whitelist.js';

export class WhitelistDownloadError extends Error {
  override readonly name = 'WhitelistDownloadError';
}

export interface DownloadOptions {
  /** Trusted CAs for the server (PEM, one per entry); undefined: Node's bundled CA store. */
  ca?: string[];
  timeoutMs: number;
  maxBytes: number;
}

const MAX_REDIRECTS = 3;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function get(url: URL, o: DownloadOptions, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method: 'GET',
      agent: false, // no keep-alive socket left behind by a daily request
      ...(o.ca ? { ca: o.ca } : {}),
      minVersion: 'TLSv1.2',
      headers: { accept: 'application/xml, text/xml;q=0.9, */*;q=0.1', 'accept-encoding': 'identity', 'user-agent': 'mes-gateway whitelist refresh' },
      signal,
    });
    req.once('response', resolve);
    req.once('error', reject);
    req.end();
  });
}

async function readCapped(res: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    res.destroy();
    throw new WhitelistDownloadError(`response of ${declared} bytes exceeds LIMIT_WHITELIST_MAX_BYTES (${maxBytes})`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) {
      res.destroy();
      throw new WhitelistDownloadError(`response exceeds LIMIT_WHITELIST_MAX_BYTES (${maxBytes} bytes)`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Downloads the list's XML text; see the header for every bound. Does not parse it. */
export async function downloadWhitelist(raw: string | URL, o: DownloadOptions): Promise<string> {
  const first = checkWhitelistUrl(String(raw));
  if (!first.ok) throw new WhitelistDownloadError(`URL refused: ${first.reason}`);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), o.timeoutMs);
  let url = first.url;
  try {
    for (let hop = 0; ; hop++) {
      const res = await get(url, o, controller.signal);
      const status = res.statusCode ?? 0;
      if (REDIRECTS.has(status)) {
        res.resume();
        if (hop >= MAX_REDIRECTS) throw new WhitelistDownloadError(`more than ${MAX_REDIRECTS} redirects`);
        const location = res.headers.location;
        if (!location) throw new WhitelistDownloadError(`HTTP ${status} without a Location`);
        let target: string;
        try {
          target = new URL(location, url).toString();
        } catch {
          throw new WhitelistDownloadError(`HTTP ${status} to an invalid Location`);
        }
        const next = checkWhitelistUrl(target);
        if (!next.ok) throw new WhitelistDownloadError(`redirect to ${redactUrl(target)} refused: ${next.reason}`);
        url = next.url;
        continue;
      }
      if (status !== 200) {
        res.resume();
        throw new WhitelistDownloadError(`HTTP ${status} from ${redactUrl(url)}`);
      }
      const encoding = String(res.headers['content-encoding'] ?? 'identity').toLowerCase();
      if (encoding !== 'identity') {
        res.destroy();
        throw new WhitelistDownloadError(`Content-Encoding ${encoding} not accepted (identity was asked for)`);
      }
      const body = await readCapped(res, o.maxBytes);
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(body);
      } catch {
        throw new WhitelistDownloadError('response is not UTF-8 text');
      }
    }
  } catch (err) {
    if (err instanceof WhitelistDownloadError) throw err;
    if (controller.signal.aborted) throw new WhitelistDownloadError(`no complete answer within ${o.timeoutMs} ms from ${redactUrl(url)}`);
    const e = err as NodeJS.ErrnoException;
    throw new WhitelistDownloadError(`${redactUrl(url)}: ${e.code ? `${e.code} ` : ''}${e.message}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads a local list file, refusing one larger than `maxBytes` before reading it. */
export async function readWhitelistFileCapped(file: string, maxBytes: number): Promise<string> {
  const info = await stat(file);
  if (info.size > maxBytes) throw new WhitelistFormatError(`${file} is ${info.size} bytes, over LIMIT_WHITELIST_MAX_BYTES (${maxBytes})`);
  return readFile(file, 'utf8');
}

/** Writes `xml` over `file` atomically and durably (see the header). */
export async function installWhitelistFile(file: string, xml: string): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    const handle = await open(tmp, 'wx', 0o644);
    try {
      await handle.writeFile(xml, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  // The rename is durable only once the folder is: without it a power cut may bring back the old name.
  const folder = await open(dir, 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

export interface WhitelistRefreshLimits {
  /** LIMIT_WHITELIST_MAX_AGE_MS */
  maxAgeMs: number;
  /** LIMIT_WHITELIST_DOWNLOAD_MS */
  downloadEveryMs: number;
  /** LIMIT_WHITELIST_DOWNLOAD_TIMEOUT_MS */
  downloadTimeoutMs: number;
  /** LIMIT_WHITELIST_MAX_BYTES */
  maxBytes: number;
  /** LIMIT_WHITELIST_FUTURE_SKEW_MS */
  futureSkewMs: number;
}

export interface WhitelistKeeperOptions {
  /** WHITELIST_FILE: read at start and at every check; the last good copy a download replaces. */
  file: string;
  /** WHITELIST_URL; empty or undefined: the file only. */
  url?: string;
  /** WHITELIST_CA_FILE's certificates; undefined: Node's CA store. */
  ca?: string[];
  limits: WhitelistRefreshLimits;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  now?: () => number;
}

export interface WhitelistCheck {
  file: 'loaded' | 'unchanged' | 'failed';
  download: 'not-configured' | 'not-due' | 'installed' | 'unchanged' | 'refused' | 'failed';
  stale: boolean;
}

const signatureOf = (s: { ino: number; size: number; mtimeMs: number }) => `${s.ino}:${s.size}:${s.mtimeMs}`;

export class WhitelistKeeper {
  readonly #o: WhitelistKeeperOptions;
  readonly #url: URL | null;
  #list: Whitelist | null = null;
  /** Signature of the file content in #list (or written by us), so an unchanged file is not parsed again. */
  #fileSignature: string | null = null;
  #lastDownloadMs: number | null = null;
  #lastDownloadFailed = false;
  #running: Promise<WhitelistCheck> | null = null;
  #timer: NodeJS.Timeout | null = null;

  /** Throws on a WHITELIST_URL that `checkWhitelistUrl` refuses: a misconfiguration stops the start. */
  constructor(o: WhitelistKeeperOptions) {
    this.#o = o;
    if (o.url) {
      const c = checkWhitelistUrl(o.url);
      if (!c.ok) throw new Error(`WHITELIST_URL: ${c.reason}`);
      this.#url = c.url;
    } else {
      this.#url = null;
    }
  }

  /** The list in force; null only before `init()`. */
  current(): Whitelist | null {
    return this.#list;
  }

  #now(): number {
    return this.#o.now?.() ?? Date.now();
  }

  async #readFile(): Promise<'loaded' | 'unchanged'> {
    const before = await stat(this.#o.file);
    if (this.#list && signatureOf(before) === this.#fileSignature) return 'unchanged';
    const list = parseWhitelist(await readWhitelistFileCapped(this.#o.file, this.#o.limits.maxBytes));
    const after = await stat(this.#o.file);
    this.#list = list;
    // Replaced while we read: parse it again at the next check rather than trust a mix of the two.
    this.#fileSignature = signatureOf(before) === signatureOf(after) ? signatureOf(after) : null;
    return 'loaded';
  }

  async #download(): Promise<'installed' | 'unchanged' | 'refused' | 'failed'> {
    const url = this.#url!;
    const log = this.#o.logger;
    let list: Whitelist;
    let xml: string;
    try {
      xml = await downloadWhitelist(url, { ca: this.#o.ca, timeoutMs: this.#o.limits.downloadTimeoutMs, maxBytes: this.#o.limits.maxBytes });
      list = parseWhitelist(xml);
    } catch (err) {
      this.#lastDownloadFailed = true;
      const refused = err instanceof WhitelistFormatError;
      log.warn(
        { alert: 'WHITELIST-DOWNLOAD', url: redactUrl(url), err: (err as Error).message },
        refused ? 'downloaded whitelist refused; the list in force is kept' : 'whitelist download failed; the list in force is kept',
      );
      return refused ? 'refused' : 'failed';
    }
    const verdict = judgeCandidate({ generatedAt: list.generatedAt, entries: list.entries.length }, this.#list, {
      nowMs: this.#now(),
      futureSkewMs: this.#o.limits.futureSkewMs,
    });
    if (verdict.verdict === 'refuse') {
      this.#lastDownloadFailed = true;
      log.warn({ alert: 'WHITELIST-DOWNLOAD', url: redactUrl(url), err: verdict.reason }, 'downloaded whitelist refused; the list in force is kept');
      return 'refused';
    }
    this.#lastDownloadFailed = false;
    this.#lastDownloadMs = this.#now();
    if (verdict.verdict === 'same') return 'unchanged';
    try {
      await installWhitelistFile(this.#o.file, xml);
      this.#fileSignature = signatureOf(await stat(this.#o.file));
    } catch (err) {
      // Used anyway: it is valid and newer. The file keeps the older copy; its signature is unchanged, so the
      // next check does not bring the older copy back.
      log.error(
        { alert: 'WHITELIST-SAVE', file: this.#o.file, err: (err as Error).message },
        'the downloaded whitelist could not be written; it is in force until a restart',
      );
    }
    this.#list = list;
    log.info(
      { domains: list.byDomain.size, entries: list.entries.length, skipped: list.skipped.length, generatedAt: list.generatedAt?.toISOString() },
      'whitelist downloaded and installed',
    );
    return 'installed';
  }

  /**
   * Start-up: the file, else (with a URL) a download. Throws when neither gives a usable list; the message
   * names both failures.
   */
  async init(): Promise<Whitelist> {
    try {
      await this.#readFile();
      return this.#list!;
    } catch (fileErr) {
      if (!this.#url) throw fileErr;
      const outcome = await this.#download();
      if (outcome !== 'installed' || !this.#list) {
        throw new Error(
          `no usable whitelist: ${this.#o.file}: ${(fileErr as Error).message}; and the download from ${redactUrl(this.#url)} did not give one (${outcome})`,
        );
      }
      return this.#list;
    }
  }

  /** One check (file, download when due, alerts); see the header. Never throws. */
  check(): Promise<WhitelistCheck> {
    this.#running ??= this.#check().finally(() => (this.#running = null));
    return this.#running;
  }

  async #check(): Promise<WhitelistCheck> {
    const log = this.#o.logger;
    let file: WhitelistCheck['file'];
    try {
      file = await this.#readFile();
      if (file === 'loaded') {
        log.info({ entries: this.#list!.entries.length, skipped: this.#list!.skipped.length }, 'whitelist file reloaded');
      }
    } catch (err) {
      file = 'failed';
      log.error({ alert: 'WHITELIST-RELOAD', file: this.#o.file, err: (err as Error).message }, 'whitelist reload failed; keeping the last good copy');
    }
    let download: WhitelistCheck['download'] = 'not-configured';
    if (this.#url) {
      const due = downloadDue(
        { lastSuccessMs: this.#lastDownloadMs, lastAttemptFailed: this.#lastDownloadFailed },
        this.#now(),
        this.#o.limits.downloadEveryMs,
      );
      download = due ? await this.#download() : 'not-due';
    }
    const list = this.#list;
    const stale = list ? isStale(list.generatedAt, this.#now(), this.#o.limits.maxAgeMs) : true;
    if (list && stale) {
      log.error(
        { alert: 'WHITELIST-STALE', generatedAt: list.generatedAt!.toISOString(), maxAgeMs: this.#o.limits.maxAgeMs },
        'the authorised domain list is stale',
      );
    } else if (!list) {
      log.error({ alert: 'WHITELIST-STALE' }, 'no authorised domain list is loaded');
    }
    return { file, download, stale };
  }

  /** A check now, then every `everyMs` (timer unref'd). */
  start(everyMs: number): void {
    if (this.#timer) clearInterval(this.#timer);
    void this.check();
    this.#timer = setInterval(() => void this.check(), everyMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }
}
