/**
 * Where the professional identity provider's public keys come from (PRO_JWKS_FILE, PRO_JWKS_URL, PRO_ISSUER).
 *
 *   PRO_JWKS_URL=https://…        that JWKS, over HTTPS
 *   PRO_JWKS_URL=discovery        the jwks_uri of $PRO_ISSUER/.well-known/openid-configuration (OpenID Connect
 *                                 Discovery §4: the issuer with any trailing slash removed, then the path)
 *   PRO_JWKS_FILE=…               a JWKS file (tests, offline set-ups)
 *   neither                       the development issuer's jwks.json under $PKI_DIR/oidc
 *
 * Guarantees: a JWKS URL (and a discovery issuer) is `https:` only, without credentials in it, on loopback too
 * (config/rules/https-url.ts `checkHttpsUrl`, as for the whitelist: the keys decide who may read patients' documents, so they
 * come over an authenticated channel); tests use HTTPS with the development CA (PRO_JWKS_CA_FILE). Setting both
 * PRO_JWKS_FILE and PRO_JWKS_URL is refused rather than one silently winning.
 *
 * Failure semantics: pure, never throws; a refusal carries a readable reason naming the variable (loadConfig
 * turns it into the start-up error).
 */
import { checkHttpsUrl } from './https-url.js';

export type ProKeysSetting =
  { kind: 'development'; file: string } | { kind: 'file'; file: string } | { kind: 'url'; url: URL } | { kind: 'discovery'; issuer: string; url: URL };

export type ProKeysChoice = ProKeysSetting | { kind: 'refused'; reason: string };

export interface ProKeysInput {
  /** PRO_JWKS_FILE, resolved, or '' when unset. */
  file: string;
  /** PRO_JWKS_URL as given, or ''. */
  url: string;
  /** PRO_ISSUER. */
  issuer: string;
  /** The development issuer's JWKS file. */
  developmentFile: string;
}

/** The OpenID Connect discovery document's URL for `issuer` (Discovery §4.1). */
export function discoveryUrlOf(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

export function proKeysOf(i: ProKeysInput): ProKeysChoice {
  const url = i.url.trim();
  if (url && i.file) return { kind: 'refused', reason: 'PRO_JWKS_FILE and PRO_JWKS_URL are both set: keep one (the URL in production, the file for tests)' };
  if (i.file) return { kind: 'file', file: i.file };
  if (!url) return { kind: 'development', file: i.developmentFile };
  if (url === 'discovery') {
    const c = checkHttpsUrl(discoveryUrlOf(i.issuer));
    if (!c.ok) return { kind: 'refused', reason: `PRO_JWKS_URL=discovery needs PRO_ISSUER to be the identity provider's https issuer: ${c.reason}` };
    return { kind: 'discovery', issuer: i.issuer, url: c.url };
  }
  const c = checkHttpsUrl(url);
  return c.ok ? { kind: 'url', url: c.url } : { kind: 'refused', reason: `PRO_JWKS_URL: ${c.reason}` };
}

export interface DiscoveryDocument {
  issuer?: unknown;
  jwks_uri?: unknown;
}

/** OpenID Connect Discovery §4.3: the document must name exactly our issuer, and its jwks_uri must be https. */
export function jwksUriOf(doc: unknown, issuer: string): { ok: true; url: URL } | { ok: false; reason: string } {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { ok: false, reason: 'the discovery document is not a JSON object' };
  const d = doc as DiscoveryDocument;
  if (d.issuer !== issuer)
    return { ok: false, reason: `the discovery document names issuer ${JSON.stringify(d.issuer)}, not PRO_ISSUER ${JSON.stringify(issuer)}` };
  if (typeof d.jwks_uri !== 'string') return { ok: false, reason: 'the discovery document has no jwks_uri' };
  const c = checkHttpsUrl(d.jwks_uri);
  return c.ok ? c : { ok: false, reason: `jwks_uri: ${c.reason}` };
}
