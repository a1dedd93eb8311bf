// « Mon profil » : the profile state (from GET /v1/me/session), the ZIP of every document (GET /v1/me/archive, a
// plain link: a GET that carries the session cookie) and closing the profile (POST /v1/me/profile/close) behind a
// confirmation in the page that says what closing means and offers the archive first. Closing revokes the session
// server-side: the page then says so, and the next API call brings the login page.
import { api } from '../lib/api.js';
import { alertBox, el, problemText, show, statusBox } from '../lib/dom.js';
import { busy, handler, say } from './documents.js';

const STATES = {
  active: 'Votre profil est actif : les professionnels de santé peuvent vous écrire par cette messagerie, et vous pouvez leur répondre.',
  created: 'Votre profil est ouvert : les professionnels de santé peuvent vous écrire par cette messagerie.',
  closed: 'Votre profil est fermé : les messages des professionnels de santé sont refusés.',
  opposed: 'Vous vous êtes opposé(e) à la création de votre profil.',
  pending: "Votre profil n'est pas encore ouvert.",
};

/**
 * A plain download link (the ZIP streams straight to disk, never held in memory), but checked first: with an
 * ended session the browser would otherwise save the server's 401 as a file; instead the login page comes.
 */
function archiveLink(id, text) {
  const a = el('a', { id, class: 'button-link', href: '/v1/me/archive', download: 'mon-espace-sante-documents.zip', text });
  let checked = false;
  a.addEventListener('click', async (ev) => {
    if (checked) {
      checked = false;
      return;
    }
    ev.preventDefault();
    await api('GET', '/v1/me/session'); // throws SessionEnded → login page
    checked = true;
    a.click();
  });
  return a;
}

export async function profile() {
  const session = await api('GET', '/v1/me/session');
  const state = session.status === 200 ? session.data.state : null;
  const status = statusBox();
  const alert = alertBox();

  const closeButton = el('button', { type: 'button', id: 'close-profile', class: 'danger', 'aria-expanded': 'false', 'aria-controls': 'close-confirm', text: 'Fermer mon profil' });
  const yes = el('button', { type: 'button', id: 'close-yes', class: 'danger', text: 'Oui, fermer mon profil' });
  const no = el('button', { type: 'button', id: 'close-no', text: 'Non, garder mon profil' });
  const confirm = el(
    'div',
    { id: 'close-confirm', class: 'confirm', role: 'group', 'aria-labelledby': 'close-confirm-title', hidden: true },
    el('h4', { id: 'close-confirm-title', tabindex: '-1', text: 'Voulez-vous vraiment fermer votre profil ?' }),
    el(
      'ul',
      {},
      el('li', { text: 'Les messages que les professionnels de santé vous enverront seront refusés.' }),
      el('li', { text: 'Les professionnels ne pourront plus consulter vos documents.' }),
      el('li', { text: 'Vous serez déconnecté(e) tout de suite et ne pourrez plus vous connecter.' }),
    ),
    el('p', { class: 'notice', text: "Avant de fermer, pensez à télécharger tous vos documents : après, vous n'y aurez plus accès." }),
    el('p', {}, archiveLink('archive-before-close', "Télécharger d'abord tous mes documents (ZIP)")),
    el('div', { class: 'actions' }, yes, no),
  );

  closeButton.addEventListener('click', () => {
    alert.textContent = '';
    confirm.hidden = false;
    closeButton.setAttribute('aria-expanded', 'true');
    document.getElementById('close-confirm-title').focus();
  });
  no.addEventListener('click', () => {
    confirm.hidden = true;
    closeButton.setAttribute('aria-expanded', 'false');
    closeButton.focus();
    say(status, 'Votre profil reste ouvert.');
  });
  yes.addEventListener(
    'click',
    handler(alert, async () => {
      alert.textContent = '';
      const release = busy(yes);
      const r = await api('POST', '/v1/me/profile/close').finally(() => {
        release();
      });
      if (r.status !== 204) return say(alert, problemText(r, "Votre profil n'a pas pu être fermé."));
      closed();
    }),
  );

  const closeSection =
    state === 'closed'
      ? null
      : el(
          'section',
          { class: 'card', 'aria-labelledby': 'close-title' },
          el('h3', { id: 'close-title', text: 'Fermer mon profil' }),
          el('p', {
            text: "Si vous fermez votre profil, les professionnels de santé ne pourront plus vous écrire par cette messagerie : leurs messages seront refusés. Vous pourrez demander plus tard sa réouverture.",
          }),
          el('p', { class: 'actions' }, closeButton),
          confirm,
        );

  show(
    el('h2', { text: 'Mon profil' }),
    el('p', { id: 'profile-state', class: 'info', text: STATES[state] || (state ? `État de votre profil : ${state}.` : "L'état de votre profil ne peut pas être affiché pour le moment.") }),
    status,
    alert,
    el(
      'section',
      { class: 'card', 'aria-labelledby': 'archive-title' },
      el('h3', { id: 'archive-title', text: 'Garder une copie de mes documents' }),
      el('p', { text: 'Téléchargez en une seule fois tous vos documents, réunis dans un fichier compressé (ZIP) que vous pourrez garder sur votre ordinateur.' }),
      el('p', {}, archiveLink('archive-link', 'Télécharger tous mes documents (ZIP)')),
    ),
    ...(closeSection ? [closeSection] : []),
  );
}

/** The last page: the session is revoked server-side; any next step brings the login page. */
function closed() {
  const done = statusBox();
  show(
    el('h2', { text: 'Votre profil est fermé' }),
    done,
    el('p', { text: 'Les professionnels de santé ne peuvent plus vous écrire par cette messagerie, et vous avez été déconnecté(e).' }),
    el('p', { text: "Si vous changez d'avis, vous pourrez demander la réouverture de votre profil." }),
    el('p', {}, el('a', { href: '#/messages', text: "Retour à la page d'accueil" })),
  );
  say(done, 'Votre profil a bien été fermé.');
}
