// « Mon profil » : the profile state (from GET /v1/me/session), the ZIP of every document (GET /v1/me/archive, a
// plain link: a GET that carries the session cookie), changing the password (POST /v1/me/password: the other
// sessions end), logging out of every device (POST /v1/me/logout-everywhere, then the login page says so) and
// closing the profile (POST /v1/me/profile/close) behind a
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

  const closeButton = el('button', {
    type: 'button',
    id: 'close-profile',
    class: 'danger',
    'aria-expanded': 'false',
    'aria-controls': 'close-confirm',
    text: 'Fermer mon profil',
  });
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

  const passwordSection = passwordForm();
  const everywhere = el('button', { type: 'button', id: 'logout-everywhere', text: 'Me déconnecter de tous mes appareils' });
  const everywhereAlert = alertBox();
  everywhere.addEventListener(
    'click',
    handler(everywhereAlert, async () => {
      everywhereAlert.textContent = '';
      const release = busy(everywhere);
      const r = await api('POST', '/v1/me/logout-everywhere').finally(release);
      if (r.status !== 204) return say(everywhereAlert, problemText(r, "La déconnexion n'a pas pu être faite."));
      window.dispatchEvent(new CustomEvent('mes:signed-out', { detail: 'Vous êtes déconnecté(e) de tous vos appareils, celui-ci compris.' }));
    }),
  );
  const sessionsSection = el(
    'section',
    { class: 'card', 'aria-labelledby': 'sessions-title' },
    el('h3', { id: 'sessions-title', text: 'Me déconnecter partout' }),
    el('p', {
      text: 'Si vous vous êtes connecté(e) sur un ordinateur qui n’est pas le vôtre, ou si vous pensez que quelqu’un utilise votre compte, fermez toutes vos connexions en une fois.',
    }),
    everywhereAlert,
    el('p', { class: 'actions' }, everywhere),
  );

  const closeSection =
    state === 'closed'
      ? null
      : el(
          'section',
          { class: 'card', 'aria-labelledby': 'close-title' },
          el('h3', { id: 'close-title', text: 'Fermer mon profil' }),
          el('p', {
            text: 'Si vous fermez votre profil, les professionnels de santé ne pourront plus vous écrire par cette messagerie : leurs messages seront refusés. Vous pourrez demander plus tard sa réouverture.',
          }),
          el('p', { class: 'actions' }, closeButton),
          confirm,
        );

  show(
    el('h2', { text: 'Mon profil' }),
    el('p', {
      id: 'profile-state',
      class: 'info',
      text: STATES[state] || (state ? `État de votre profil : ${state}.` : "L'état de votre profil ne peut pas être affiché pour le moment."),
    }),
    session.status === 200 && session.data.address
      ? el(
          'p',
          { id: 'own-address' },
          'Votre adresse de messagerie de santé : ',
          el('strong', { text: session.data.address }),
          ' (les professionnels de santé vous écrivent à cette adresse).',
        )
      : null,
    status,
    alert,
    el(
      'section',
      { class: 'card', 'aria-labelledby': 'archive-title' },
      el('h3', { id: 'archive-title', text: 'Garder une copie de mes documents' }),
      el('p', {
        text: 'Téléchargez en une seule fois tous vos documents, réunis dans un fichier compressé (ZIP) que vous pourrez garder sur votre ordinateur.',
      }),
      el('p', {}, archiveLink('archive-link', 'Télécharger tous mes documents (ZIP)')),
    ),
    passwordSection,
    sessionsSection,
    ...(closeSection ? [closeSection] : []),
  );
}

/** « Changer mon mot de passe » : the current one, then the new one twice (checked here, then by the server). */
function passwordForm() {
  const alert = alertBox();
  const status = statusBox();
  const submit = el('button', { type: 'submit', text: 'Changer mon mot de passe' });
  const form = el(
    'form',
    { id: 'password-form', class: 'card', 'aria-labelledby': 'password-title' },
    el('h3', { id: 'password-title', text: 'Changer mon mot de passe' }),
    el('label', { for: 'pw-current', text: 'Mot de passe actuel' }),
    el('input', { id: 'pw-current', name: 'currentPassword', type: 'password', autocomplete: 'current-password', required: true }),
    el('label', { for: 'pw-new', text: 'Nouveau mot de passe (12 caractères au moins)' }),
    el('input', { id: 'pw-new', name: 'newPassword', type: 'password', autocomplete: 'new-password', required: true, minlength: '12' }),
    el('label', { for: 'pw-again', text: 'Nouveau mot de passe, une seconde fois' }),
    el('input', { id: 'pw-again', name: 'again', type: 'password', autocomplete: 'new-password', required: true, minlength: '12' }),
    alert,
    status,
    el('p', { class: 'actions' }, submit),
  );
  form.addEventListener(
    'submit',
    handler(alert, async (ev) => {
      ev.preventDefault();
      alert.textContent = '';
      status.textContent = '';
      if (form.newPassword.value !== form.again.value) return say(alert, 'Les deux nouveaux mots de passe ne sont pas identiques.');
      const release = busy(submit);
      const r = await api('POST', '/v1/me/password', { currentPassword: form.currentPassword.value, newPassword: form.newPassword.value }).finally(release);
      if (r.status !== 204) return say(alert, problemText(r, "Votre mot de passe n'a pas pu être changé."));
      form.reset();
      say(status, 'Votre mot de passe est changé. Vos connexions sur vos autres appareils ont été fermées.');
    }),
  );
  return form;
}

/** The last page: the session is revoked server-side; any next step brings the login page. */
function closed() {
  const done = statusBox();
  show(
    el('h2', { text: 'Votre profil est fermé' }),
    done,
    el('p', { text: 'Les professionnels de santé ne peuvent plus vous écrire par cette messagerie, et vous avez été déconnecté(e).' }),
    el('p', {}, "Si vous changez d'avis, vous pourrez rouvrir votre profil : ", el('a', { href: '#/reopen', text: 'Rouvrir mon profil' }), '.'),
    el('p', {}, el('a', { href: '#/messages', text: "Retour à la page d'accueil" })),
  );
  say(done, 'Votre profil a bien été fermé.');
}
