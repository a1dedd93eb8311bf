/**
 * Remote sources the gateway trusts (the ANS whitelist, the professional identity provider's keys) are read over
 * https only, and logged without what may carry a secret. Pure: no I/O.
 *
 * - `checkHttpsUrl` accepts `https:` only, without credentials in the URL (they would end up in logs and process
 *   listings). Plain http is refused even on loopback: tests use https with a development CA.
 * - `redactUrl` keeps scheme, host, port and path: never the query string or fragment, which may carry tokens.
 * Neither throws, whatever the input.
 */

export type UrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

export function checkHttpsUrl(raw: string): UrlCheck {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return { ok: false, reason: 'not a valid URL' };
  }
  if (url.protocol !== 'https:') return { ok: false, reason: `only https:// URLs are accepted, got ${url.protocol}//` };
  if (url.username || url.password) return { ok: false, reason: 'credentials in the URL are refused (they would end up in logs and process listings)' };
  return { ok: true, url };
}

/** What may be logged of a URL: origin and path, never query, fragment or credentials. */
export function redactUrl(url: URL | string): string {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
