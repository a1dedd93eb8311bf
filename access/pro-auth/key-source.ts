/**
 * The professional identity provider's public keys, kept current (SPEC §6.3), for `verifyProToken`.
 *
 * Sources (config/rules/pro-keys.ts says which one is configured):
 *   file        a JWKS file (PRO_JWKS_FILE, or the development issuer's jwks.json), read with `loadJwks`
 *   url         PRO_JWKS_URL over HTTPS, fetched with jose's remote JWKS set (`createRemoteJWKSet`: a 200 with a
 *               JSON key set, redirects refused, concurrent fetches shared) through node:https so that only
 *               PRO_JWKS_CA_FILE is trusted when it is set (else Node's CA store); answers over 1 MiB refused
 *   discovery   the jwks_uri of PRO_ISSUER's /.well-known/openid-configuration (its `issuer` must be PRO_ISSUER,
 *               its jwks_uri https), then as url; discovered again after a failed fetch (the URI may have moved)
 *
 * Guarantees of `ProKeys`:
 * - The keys in force are the last good set: a fetch that fails, times out, or brings something that is not a
 *   public key set (private members, no keys array, no key at all) changes nothing, and is reported once to
 *   `onFailure`. So while the provider is unreachable, tokens whose kid is known keep verifying from the cache.
 * - A good fetch replaces the whole set: a key the provider withdrew stops verifying at once.
 * - Refreshed every `refreshMs` (start/stop) and, through `verifyProTokenWith`, when a token's header names a kid
 *   that is not in the set: then at most one fetch is made per `cooldownMs` after the last attempt (success or
 *   failure), and every request arriving meanwhile shares the fetch in flight, so made-up kids cannot flood the
 *   provider; the request that triggered it waits for it (bounded by the fetch's timeout), then is verified
 *   against the new set.
 * - `verifyProTokenWith` keeps every check and failure reason of `verifyProToken` (it is called unchanged).
 *
 * Failure semantics: `refresh`, `refreshForUnknownKid` and `verifyProTokenWith` never throw; `init` throws the
 * fetch's error only when asked to (`required`, for a file: a bad configuration stops the start-up); the remote
 * sources start without keys when the provider is down at start (every token is then refused with `kid` until a
 * fetch succeeds) rather than keep the SMTP ingress and the patients' API from starting.
 */
import https from 'node:https';
import { createRemoteJWKSet, customFetch, type FetchImplementation } from 'jose';
import { type ProKeysSetting, jwksUriOf } from '../../config/index.js';
import { redactUrl } from '../../certs/index.js';
import { loadJwks, publicJwks, tokenKid, verifyProToken, type ProTokenResult, type VerifyProTokenOptions } from './verify.js';

/** A JWKS or a discovery document is a few KB; more is not a key set. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export type Jwks = { keys: JsonWebKey[] };

/** One way of getting the provider's current key set; `fetch` throws an Error saying what went wrong. */
export interface KeyFetcher {
  /** For logs: the file, or the URL without query string. */
  readonly describe: string;
  fetch(): Promise<Jwks>;
}

export interface RemoteOptions {
  /** PEM CAs that alone are trusted for the provider's server; undefined: Node's CA store. */
  ca?: string[];
  /** Bound on one HTTPS exchange. */
  timeoutMs: number;
}

export function fileKeys(file: string): KeyFetcher {
  return { describe: file, fetch: () => loadJwks(file) };
}

/** A JWKS at an https URL (refused otherwise), through jose's remote key set. */
export function remoteKeys(url: URL, o: RemoteOptions): KeyFetcher {
  if (url.protocol !== 'https:') throw new TypeError(`refusing a JWKS over ${url.protocol}// (https only)`);
  const describe = redactUrl(url);
  const fetchImpl: FetchImplementation = async (href, init) => {
    const r = await httpsGet(new URL(href), { ca: o.ca, signal: init.signal, accept: init.headers.get('accept') ?? 'application/json' });
    return new Response([204, 205, 304].includes(r.status) ? null : new Uint8Array(r.body), { status: r.status, headers: { 'content-type': r.contentType } });
  };
  // Our own cache policy (ProKeys) decides when to fetch: jose's set is asked to reload, never to decide.
  const set = createRemoteJWKSet(url, { timeoutDuration: o.timeoutMs, cooldownDuration: 0, cacheMaxAge: Infinity, [customFetch]: fetchImpl });
  return {
    describe,
    async fetch() {
      try {
        await set.reload();
      } catch (err) {
        throw new Error(`JWKS ${describe}: ${(err as Error).message}`);
      }
      return publicJwks(set.jwks(), describe);
    },
  };
}

/** OpenID Connect discovery from `issuer` (`url` is its discovery document's URL), then its jwks_uri. */
export function discoveredKeys(issuer: string, url: URL, o: RemoteOptions): KeyFetcher {
  let remote: KeyFetcher | null = null;
  const describe = `discovery ${redactUrl(url)}`;
  return {
    describe,
    async fetch() {
      if (!remote) {
        const r = await httpsGet(url, { ca: o.ca, signal: AbortSignal.timeout(o.timeoutMs), accept: 'application/json' }).catch((err: Error) => {
          throw new Error(`${describe}: ${err.message}`);
        });
        if (r.status !== 200) throw new Error(`${describe}: HTTP ${r.status}`);
        let doc: unknown;
        try {
          doc = JSON.parse(r.body.toString('utf8'));
        } catch {
          throw new Error(`${describe}: not JSON`);
        }
        const jwksUri = jwksUriOf(doc, issuer);
        if (!jwksUri.ok) throw new Error(`${describe}: ${jwksUri.reason}`);
        remote = remoteKeys(jwksUri.url, o);
      }
      try {
        return await remote.fetch();
      } catch (err) {
        remote = null;
        throw err;
      }
    },
  };
}

/** The fetcher for a configured source (Config.pro.keys). */
export function keyFetcherFor(setting: ProKeysSetting, o: RemoteOptions): KeyFetcher {
  switch (setting.kind) {
    case 'development':
    case 'file':
      return fileKeys(setting.file);
    case 'url':
      return remoteKeys(setting.url, o);
    case 'discovery':
      return discoveredKeys(setting.issuer, setting.url, o);
  }
}

export interface ProKeysOptions {
  fetcher: KeyFetcher;
  /** Periodic refresh (start()). */
  refreshMs: number;
  /** Least time between the last attempt and a fetch for an unknown kid. */
  cooldownMs: number;
  /** A fetch failed or brought no usable set; the keys in force stay. */
  onFailure?: (err: Error) => void;
  /** A good fetch brought a set different from the one in force. */
  onChange?: (keys: number) => void;
}

export class ProKeys {
  readonly #o: ProKeysOptions;
  #keys: Jwks = { keys: [] };
  #loadedAt: number | null = null;
  #lastAttempt: number | null = null;
  #lastError: Error | null = null;
  #pending: Promise<boolean> | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(o: ProKeysOptions) {
    this.#o = o;
  }

  get describe(): string {
    return this.#o.fetcher.describe;
  }

  /** First load; with `required`, throws when it fails (a file source), else resolves whether it succeeded. */
  async init(o: { required: boolean }): Promise<boolean> {
    const ok = await this.refresh();
    if (!ok && o.required) throw this.#lastError ?? new Error(`JWKS ${this.describe}: not loaded`);
    return ok;
  }

  /** The key set in force (the same object until a fetch changes it). */
  current(): Jwks {
    return this.#keys;
  }

  /** When the set in force was fetched, or null before the first good fetch. */
  loadedAt(): Date | null {
    return this.#loadedAt === null ? null : new Date(this.#loadedAt);
  }

  /** Fetches now (sharing a fetch in flight); resolves true when a good set was loaded. Never throws. */
  refresh(): Promise<boolean> {
    this.#pending ??= this.#load().finally(() => (this.#pending = null));
    return this.#pending;
  }

  /** A token names `kid`: fetches unless it is known or the cooldown since the last attempt is running. */
  refreshForUnknownKid(kid: string): Promise<boolean> {
    if (this.#keys.keys.some((k) => (k as { kid?: unknown }).kid === kid)) return Promise.resolve(false);
    if (this.#pending) return this.#pending;
    if (this.#lastAttempt !== null && Date.now() - this.#lastAttempt < this.#o.cooldownMs) return Promise.resolve(false);
    return this.refresh();
  }

  start(): void {
    this.stop();
    this.#timer = setInterval(() => void this.refresh(), this.#o.refreshMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  async #load(): Promise<boolean> {
    this.#lastAttempt = Date.now();
    try {
      const set = await this.#o.fetcher.fetch();
      if (set.keys.length === 0) throw new Error(`JWKS ${this.describe}: no key in the set (the keys in force are kept)`);
      const changed = JSON.stringify(set) !== JSON.stringify(this.#keys);
      if (changed) this.#keys = set;
      this.#loadedAt = Date.now();
      this.#lastError = null;
      if (changed) this.#o.onChange?.(set.keys.length);
      return true;
    } catch (err) {
      this.#lastError = err instanceof Error ? err : new Error(String(err));
      this.#o.onFailure?.(this.#lastError);
      return false;
    }
  }
}

/**
 * `verifyProToken` against the keys in force; a token refused only because its kid is unknown is verified again
 * after `refreshForUnknownKid` brought a new set (the provider rotated its keys). Never throws for any token.
 */
export async function verifyProTokenWith(keys: ProKeys, token: string, opts: Omit<VerifyProTokenOptions, 'jwks'>): Promise<ProTokenResult> {
  const first = verifyProToken(token, { ...opts, jwks: keys.current() });
  if (first.ok || first.reason !== 'kid') return first;
  const kid = tokenKid(token);
  if (kid === null || !(await keys.refreshForUnknownKid(kid))) return first;
  return verifyProToken(token, { ...opts, jwks: keys.current() });
}

// ---------------------------------------------------------------------------------------------------------

interface GetResult {
  status: number;
  contentType: string;
  body: Buffer;
}

/** One GET over HTTPS (no redirect followed), the body capped at MAX_ANSWER_BYTES, aborted by `signal`. */
function httpsGet(url: URL, o: { ca?: string[]; signal: AbortSignal; accept: string }): Promise<GetResult> {
  if (url.protocol !== 'https:') return Promise.reject(new Error(`refusing ${url.protocol}// (https only)`));
  return new Promise<GetResult>((resolve, reject) => {
    const req = https.request(url, { method: 'GET', signal: o.signal, headers: { accept: o.accept }, ...(o.ca ? { ca: o.ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_ANSWER_BYTES) {
          req.destroy(new Error(`answer over ${MAX_ANSWER_BYTES} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
    });
    req.on('error', (err) => reject(o.signal.aborted ? new Error('no answer in time') : err));
    req.end();
  });
}
