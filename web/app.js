// Patient webmail (French), plain ES modules with no build step: what the browser runs is what is in web/,
// served as-is by api/routes/web.ts under a strict Content-Security-Policy. This file wires the pages to routes
// and owns the session state (CSRF token, expiry timer, menu visibility).
import { api, SessionEnded, setCsrfToken } from './lib/api.js';
import { clearDrafts } from './lib/drafts.js';
import { render, route, whenSessionEnds, isPublicPath } from './lib/router.js';
import { activationForm, loginForm, newCodeForm, oppositionForm, passwordResetForm, reopenForm } from './views/auth.js';
import { compose, mailbox, message } from './views/mail.js';
import { documents } from './views/documents.js';
import { accessSettings } from './views/access.js';
import { activity } from './views/activity.js';
import { profile } from './views/profile.js';

const nav = document.getElementById('nav');
const logoutButton = document.getElementById('logout');
let expiryTimer = null;

route('/messages', () => mailbox('inbox'));
route('/sent', () => mailbox('sent'));
route('/messages/:id', ({ id }) => message(id));
route('/new', () => compose());
route('/documents', () => documents());
route('/access', () => accessSettings());
route('/activity', () => activity());
route('/profile', () => profile());
route('/activation', () => activationForm(), { public: true });
route('/opposition', () => oppositionForm(), { public: true });
route('/new-code', () => newCodeForm(), { public: true });
route('/password-reset', () => passwordResetForm(), { public: true });
route('/reopen', () => reopenForm(), { public: true });

/** Called with the session returned by the login or by GET /v1/me/session. */
function signedIn(session) {
  setCsrfToken(session.csrfToken);
  nav.hidden = false;
  logoutButton.hidden = false;
  clearTimeout(expiryTimer);
  const ms = new Date(session.expiresAt).getTime() - Date.now();
  if (ms > 0 && ms < 2 ** 31) expiryTimer = setTimeout(() => signedOut('Votre session a expiré. Reconnectez-vous pour continuer.'), ms);
}

function signedOut(message, kind = 'error') {
  setCsrfToken(null);
  clearTimeout(expiryTimer);
  nav.hidden = true;
  logoutButton.hidden = true;
  if (isPublicPath()) return void render();
  loginForm(message, kind);
}

window.addEventListener('mes:signed-in', (ev) => {
  signedIn(ev.detail);
  void render();
});

whenSessionEnds(() => signedOut('Votre session a expiré. Reconnectez-vous pour continuer.'));

// A page that ended the session itself (« Me déconnecter de tous mes appareils ») says why.
window.addEventListener('mes:signed-out', (ev) => {
  clearDrafts();
  history.replaceState(null, '', '#/messages'); // no hashchange: the login page below is the next page
  signedOut(ev.detail, 'info');
});

logoutButton.addEventListener('click', async () => {
  await api('POST', '/v1/patient/logout').catch(() => null);
  clearDrafts(); // a shared computer keeps nothing the patient wrote
  location.hash = '#/messages';
  signedOut('Vous êtes déconnecté(e).', 'info');
});

async function start() {
  try {
    const r = await api('GET', '/v1/me/session');
    if (r.status !== 200) throw new SessionEnded();
    signedIn(r.data);
    await render();
  } catch (err) {
    if (err instanceof SessionEnded) signedOut();
    else signedOut('Le service est momentanément indisponible. Réessayez dans quelques instants.');
  }
}

// The skip link must not change the hash (the hash is the route).
document.querySelector('a.skip').addEventListener('click', (ev) => {
  ev.preventDefault();
  document.getElementById('main').focus();
});

void start();
