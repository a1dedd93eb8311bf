// The webmail's only door to the server. Uses the HttpOnly session cookie (SameSite=Strict) and sends the
// session's CSRF token on every state-changing request. A 401 from a patient route means the session ended
// (expired, revoked, logged out elsewhere): it raises SessionEnded, which the router turns into the login page
// and, after a new login, a return to the page the patient was on.

let csrfToken = null;

export class SessionEnded extends Error {}

export function setCsrfToken(token) {
  csrfToken = token;
}

export function hasSession() {
  return csrfToken !== null;
}

/**
 * `body`: a plain object (sent as JSON) or a FormData (multipart). Resolves `{ status, data }` where data is the
 * parsed JSON (or problem+json) body, or null.
 */
export async function api(method, url, body) {
  const headers = { 'x-requested-with': 'webmail' };
  if (csrfToken && method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] = csrfToken;
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(url, { method, credentials: 'same-origin', headers, body: payload });
  const type = res.headers.get('content-type') || '';
  const data = type.includes('json') ? await res.json().catch(() => null) : null;
  if (res.status === 401 && url.startsWith('/v1/me')) throw new SessionEnded();
  return { status: res.status, data };
}

/** Fetches a file (attachment, document) as a Blob; null when refused. */
export async function fetchBlob(url) {
  const res = await fetch(url, { credentials: 'same-origin', headers: { 'x-requested-with': 'webmail' } });
  if (res.status === 401) throw new SessionEnded();
  if (!res.ok) return null;
  return res.blob();
}
