// DOM helpers shared by every view. Text from the API is only ever inserted as text (textContent), never
// parsed as HTML: the one place that renders mail HTML is lib/html-body.js, behind DOMPurify and a sandbox.

/** Creates an element: `text` sets textContent, other keys are attributes (null/undefined/false skipped). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') node.textContent = v;
    else if (k === 'on') for (const [type, fn] of Object.entries(v)) node.addEventListener(type, fn);
    else if (v === true) node.setAttribute(k, '');
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

const main = () => document.getElementById('main');

/**
 * Replaces the page content and moves the keyboard focus: to the first field of a form when the page is a form,
 * else to the page title, so a screen reader announces the new page and Tab starts from the top of it.
 */
export function show(...nodes) {
  const m = main();
  m.replaceChildren(...nodes);
  const field = m.querySelector('form input:not([type=hidden]), form textarea, form select');
  const title = m.querySelector('h2');
  if (field && m.firstElementChild && m.firstElementChild.matches('form')) field.focus();
  else if (title) {
    title.setAttribute('tabindex', '-1');
    title.focus();
  } else m.focus();
  const t = title ? title.textContent : '';
  document.title = t ? `${t} — Ma messagerie santé` : 'Ma messagerie santé';
}

/** A French error paragraph announced by screen readers. */
export function alertBox(text = '') {
  return el('p', { class: 'error', role: 'alert', text });
}

/** A polite status line (e.g. "Votre réponse a été envoyée."). */
export function statusBox(text = '') {
  return el('p', { class: 'status', role: 'status', text });
}

export function problemText(r, fallback) {
  return (r && r.data && r.data.detail) || fallback;
}

export function formatDate(iso) {
  return new Date(iso).toLocaleString('fr-FR', { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} o`;
  if (bytes < 1024 * 1024) return `${Math.ceil(bytes / 1024)} Ko`;
  return `${(bytes / (1024 * 1024)).toFixed(1).replace('.', ',')} Mo`;
}

/** A link that goes to an in-app page (hash route). */
export function navLink(href, text, attrs = {}) {
  return el('a', { href, ...attrs, text });
}
