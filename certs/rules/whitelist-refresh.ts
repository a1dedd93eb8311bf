/**
 * Pure rules of keeping the ANS whitelist current (SPEC §2 "refreshed daily from a configured URL or file; the
 * last good copy is kept; a stale list raises an alert"; DOMAIN.md §2 "Refresh"). No I/O: the refresher
 * (certs/whitelist-refresh.ts) and the CLI (`whitelist import`) call these and do the reading and writing.
 *
 * Guarantees:
 * - `checkWhitelistUrl` accepts `https:` only, without credentials in the URL: the list decides who may send
 *   health data to patients, so it must come over an authenticated channel (DOMAIN.md: trust comes from the
 *   HTTPS/IGC-Santé channel, the file carries no signature). Plain http is refused even on loopback; tests use
 *   HTTPS with the development CA (WHITELIST_CA_FILE).
 * - `judgeCandidate` refuses a list with no usable entry, without a generation date (its age could never be
 *   checked), dated further in the future than the clock skew allowed (it would block every later list), or
 *   older than the list in force (a stale mirror, a cached copy or an attacker replaying an old list cannot roll
 *   back a revocation of an operator); `allowOlder` (an operator's explicit `--force`) lifts only that last rule.
 * - `redactUrl` keeps scheme, host, port and path: never the query string or fragment, which may carry tokens.
 *
 * Failure semantics: none of these throws on any input; bad input gives a refusal with a readable reason.
 */
import { checkHttpsUrl, redactUrl, type UrlCheck } from '../../config/index.js';

export { redactUrl, type UrlCheck };

/** The whitelist comes over https only, without credentials (config/rules/https-url.ts, shared with the JWKS URL). */
export const checkWhitelistUrl = checkHttpsUrl;

export type WhitelistSource = { kind: 'file'; path: string } | { kind: 'url'; url: URL } | { kind: 'refused'; reason: string };

/** `whitelist import FILE|URL`: anything with a scheme is a URL (and must pass `checkWhitelistUrl`), else a path. */
export function whitelistSourceOf(arg: string): WhitelistSource {
  const a = arg.trim();
  if (a === '') return { kind: 'refused', reason: 'empty FILE|URL' };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(a)) {
    const c = checkWhitelistUrl(a);
    return c.ok ? { kind: 'url', url: c.url } : { kind: 'refused', reason: c.reason };
  }
  return { kind: 'file', path: a };
}

export interface CandidateSummary {
  generatedAt: Date | null;
  /** Usable entries (parseWhitelist never returns 0, but the rule does not rely on it). */
  entries: number;
}

export type CandidateVerdict = { verdict: 'newer' } | { verdict: 'same'; reason: string } | { verdict: 'refuse'; reason: string };

export interface JudgeOptions {
  nowMs: number;
  /** How far in the future a generation date may be (clocks differ). */
  futureSkewMs: number;
  /** The operator asked for it explicitly (`--force`): an older list may replace a newer one. */
  allowOlder?: boolean;
}

const iso = (d: Date) => d.toISOString().replace(/\.000Z$/, 'Z');

/** Whether `candidate` may replace `current` (null: nothing in force). See the header. */
export function judgeCandidate(candidate: CandidateSummary, current: { generatedAt: Date | null } | null, o: JudgeOptions): CandidateVerdict {
  if (candidate.entries <= 0) return { verdict: 'refuse', reason: 'the list has no usable entry' };
  const at = candidate.generatedAt;
  if (!at || Number.isNaN(at.getTime())) return { verdict: 'refuse', reason: 'the list has no DateDeGeneration: its age could not be checked' };
  if (at.getTime() > o.nowMs + o.futureSkewMs) {
    return { verdict: 'refuse', reason: `DateDeGeneration ${iso(at)} is in the future` };
  }
  const inForce = current?.generatedAt;
  if (!inForce || Number.isNaN(inForce.getTime())) return { verdict: 'newer' };
  if (at.getTime() < inForce.getTime() && !o.allowOlder) {
    return { verdict: 'refuse', reason: `DateDeGeneration ${iso(at)} is older than the list in force (${iso(inForce)})` };
  }
  if (at.getTime() === inForce.getTime()) return { verdict: 'same', reason: `same DateDeGeneration as the list in force (${iso(at)})` };
  return { verdict: 'newer' };
}

/** The list in force is stale when its generation date is older than `maxAgeMs` (no date: never known stale). */
export function isStale(generatedAt: Date | null, nowMs: number, maxAgeMs: number): boolean {
  return generatedAt !== null && nowMs - generatedAt.getTime() > maxAgeMs;
}

/**
 * Whether a check should download: the first time, after `everyMs` since the last successful download, and at
 * every check after a failed attempt (so a failure is retried at the check interval, not a day later).
 */
export function downloadDue(state: { lastSuccessMs: number | null; lastAttemptFailed: boolean }, nowMs: number, everyMs: number): boolean {
  if (state.lastAttemptFailed || state.lastSuccessMs === null) return true;
  return nowMs - state.lastSuccessMs >= everyMs;
}
