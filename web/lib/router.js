// Hash routes (`#/messages/…`): the page survives a reload and the browser's back button works, with no server
// routes to keep in step. A view is an async function that renders into <main>; when it meets an ended session
// (SessionEnded from lib/api.js) the router shows the login page and comes back to the same route afterwards.
import { SessionEnded } from './api.js';
import { alertBox, el, show } from './dom.js';

const routes = [];
let onSessionEnded = () => {};

/** `pattern` like '/messages/:id'; `view(params)` renders the page. `public` routes need no session. */
export function route(pattern, view, opts = {}) {
  const re = new RegExp(`^${pattern.replace(/:(\w+)/g, '(?<$1>[^/]+)')}$`);
  routes.push({ re, view, public: opts.public === true });
}

export function whenSessionEnds(fn) {
  onSessionEnded = fn;
}

export function currentPath() {
  return location.hash.replace(/^#/, '') || '/messages';
}

export function isPublicPath(p = currentPath()) {
  const r = routes.find((x) => x.re.test(p));
  return Boolean(r && r.public);
}

export function navigate(path) {
  if (currentPath() === path) void render();
  else location.hash = `#${path}`;
}

export async function render() {
  const p = currentPath();
  const r = routes.find((x) => x.re.test(p));
  if (!r) return show(el('h2', { text: 'Page introuvable' }), el('p', {}, el('a', { href: '#/messages', text: 'Retour aux messages' })));
  const params = Object.fromEntries(Object.entries(p.match(r.re).groups || {}).map(([k, v]) => [k, decodeURIComponent(v)]));
  try {
    await r.view(params);
  } catch (err) {
    if (err instanceof SessionEnded) return onSessionEnded();
    show(el('h2', { text: 'Erreur' }), alertBox('Le service est momentanément indisponible. Réessayez dans quelques instants.'));
  }
  for (const a of document.querySelectorAll('#nav a')) {
    if (p === a.getAttribute('href').slice(1) || p.startsWith(`${a.getAttribute('href').slice(1)}/`)) {
      a.setAttribute('aria-current', 'page');
      a.parentElement.parentElement.scrollLeft = a.offsetLeft - 16; // on a phone the menu is one scrollable strip
    } else a.removeAttribute('aria-current');
  }
}

window.addEventListener('hashchange', () => void render());

// A form handler that meets an ended session (e.g. "Envoyer" after the session expired) goes to the login too.
window.addEventListener('unhandledrejection', (ev) => {
  if (ev.reason instanceof SessionEnded) {
    ev.preventDefault();
    onSessionEnded();
  }
});
