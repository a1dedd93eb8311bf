// Sign-in pages: login (INS + password, then the e-mailed one-time code), first activation with the
// provisional code, opposition to the creation of the profile during the 6-week window, and self-service without a
// session: a new provisional code by e-mail (the page says the same thing whatever the INS), a new password with
// the provisional code (forgotten password), reopening a closed or opposed profile. Every field has a visible
// label; each form is submitted with Enter; errors are read out (role=alert), confirmations too (role=status), in
// plain French.
import { api } from '../lib/api.js';
import { alertBox, el, problemText, show, statusBox } from '../lib/dom.js';
import { setDraftOwner } from '../lib/drafts.js';

const insField = (id) =>
  el('input', {
    id,
    name: 'ins',
    autocomplete: 'username',
    autocapitalize: 'characters',
    spellcheck: 'false',
    required: true,
    maxlength: '15',
    'aria-describedby': `${id}-help`,
  });
const insHelp = (id) => el('p', { id: `${id}-help`, class: 'help', text: '15 caractères, indiqués sur votre carte Vitale ou le courrier reçu.' });
const normalizeIns = (v) => v.replace(/\s+/g, '').toUpperCase();

/** The session starts with an `mes:signed-in` event carrying `{ csrfToken, expiresAt }` (handled by app.js). */
export function loginForm(message, kind = 'error') {
  const error = kind === 'info' ? el('p', { class: 'status', role: 'status', text: message }) : alertBox(message || '');
  const form = el(
    'form',
    { id: 'login-form', 'aria-labelledby': 'login-title' },
    el('h2', { id: 'login-title', text: 'Connexion' }),
    el('label', { for: 'ins', text: 'Identifiant (matricule INS)' }),
    insField('ins'),
    insHelp('ins'),
    el('label', { for: 'password', text: 'Mot de passe' }),
    el('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    error,
    el('button', { type: 'submit', text: 'Se connecter' }),
  );
  const links = el(
    'ul',
    { class: 'links' },
    el('li', {}, el('a', { href: '#/activation', id: 'go-activation', text: 'Première connexion : activer mon profil' })),
    el('li', {}, el('a', { href: '#/opposition', id: 'go-opposition', text: "Je ne souhaite pas de profil : m'opposer à sa création" })),
    el('li', {}, el('a', { href: '#/password-reset', id: 'go-password-reset', text: "J'ai oublié mon mot de passe" })),
    el('li', {}, el('a', { href: '#/new-code', id: 'go-new-code', text: 'Recevoir un nouveau code provisoire par e-mail' })),
    el('li', {}, el('a', { href: '#/reopen', id: 'go-reopen', text: 'Rouvrir mon profil fermé, ou revenir sur mon opposition' })),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    error.className = 'error';
    error.setAttribute('role', 'alert');
    const r = await api('POST', '/v1/patient/login', { ins: normalizeIns(form.ins.value), password: form.password.value });
    if (r.status !== 200) {
      error.textContent = problemText(r, 'Connexion impossible.');
      return;
    }
    codeForm(r.data.challengeId, normalizeIns(form.ins.value));
  });
  show(form, links);
}

function codeForm(challengeId, ins) {
  const error = alertBox();
  const form = el(
    'form',
    { id: 'code-form', 'aria-labelledby': 'code-title' },
    el('h2', { id: 'code-title', text: 'Code de connexion' }),
    el('p', { id: 'code-help', text: 'Nous venons de vous envoyer un code à 6 chiffres par e-mail. Il est valable quelques minutes.' }),
    el('label', { for: 'code', text: 'Code reçu par e-mail' }),
    el('input', {
      id: 'code',
      name: 'code',
      autocomplete: 'one-time-code',
      inputmode: 'numeric',
      pattern: '[0-9]{6}',
      maxlength: '6',
      required: true,
      'aria-describedby': 'code-help',
    }),
    error,
    el('button', { type: 'submit', text: 'Valider' }),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await api('POST', '/v1/patient/login/verify', { challengeId, code: form.code.value.trim() });
    if (r.status !== 200) {
      error.textContent = problemText(r, 'Code incorrect ou expiré.');
      return;
    }
    await setDraftOwner(ins);
    window.dispatchEvent(new CustomEvent('mes:signed-in', { detail: r.data }));
  });
  show(form);
}

/** Fields shared by activation and opposition: both prove identity with the provisional code and birth date. */
function identityFields(prefix) {
  return [
    el('label', { for: `${prefix}-ins`, text: 'Identifiant (matricule INS)' }),
    insField(`${prefix}-ins`),
    insHelp(`${prefix}-ins`),
    el('label', { for: `${prefix}-code`, text: 'Code provisoire (reçu par courrier ou e-mail)' }),
    el('input', { id: `${prefix}-code`, name: 'provisionalCode', autocomplete: 'off', spellcheck: 'false', required: true }),
    el('label', { for: `${prefix}-birth`, text: 'Date de naissance' }),
    el('input', { id: `${prefix}-birth`, name: 'birthDate', type: 'date', required: true }),
  ];
}

/** The body both forms send: the identity proven by the provisional code and the birth date. */
const identityBody = (form) => ({ ins: normalizeIns(form.ins.value), provisionalCode: form.provisionalCode.value.trim(), birthDate: form.birthDate.value });

const backToLogin = () => el('p', {}, el('a', { href: '#/messages', text: '← Retour à la connexion' }));

export function activationForm(info) {
  const error = alertBox();
  const form = el(
    'form',
    { id: 'activation-form', 'aria-labelledby': 'activation-title' },
    el('h2', { id: 'activation-title', text: 'Activer mon profil' }),
    ...(info ? [el('p', { class: 'status', role: 'status', text: info })] : []),
    ...identityFields('act'),
    el('label', { for: 'act-password', text: 'Mot de passe choisi (12 caractères au moins)' }),
    el('input', { id: 'act-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: '12' }),
    error,
    el('button', { type: 'submit', text: 'Activer' }),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const r = await api('POST', '/v1/patient/activate', { ...identityBody(form), password: form.password.value });
    if (r.status !== 204) {
      error.textContent = problemText(r, 'Activation impossible.');
      return;
    }
    history.replaceState(null, '', '#/messages');
    loginForm('Votre profil est activé. Connectez-vous avec votre mot de passe.', 'info');
  });
  show(form, backToLogin());
}

export function oppositionForm() {
  const error = alertBox();
  const form = el(
    'form',
    { id: 'opposition-form', 'aria-labelledby': 'opposition-title' },
    el('h2', { id: 'opposition-title', text: "M'opposer à la création de mon profil" }),
    el('p', {
      text:
        "Pendant les 6 semaines qui suivent le courrier d'information, vous pouvez refuser la création de votre profil. " +
        'Les professionnels ne pourront alors plus vous écrire par cette messagerie. Vous pourrez revenir sur ce choix plus tard.',
    }),
    ...identityFields('opp'),
    error,
    el('button', { type: 'submit', class: 'danger', text: "Je m'oppose à la création de mon profil" }),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const r = await api('POST', '/v1/patient/oppose', identityBody(form));
    if (r.status !== 204) {
      error.textContent = problemText(r, 'Opposition impossible.');
      return;
    }
    show(
      el('h2', { text: 'Votre opposition est enregistrée' }),
      el('p', { role: 'status', text: 'Votre profil ne sera pas créé. Aucun professionnel ne pourra vous écrire par cette messagerie.' }),
      backToLogin(),
    );
  });
  show(form, backToLogin());
}

/** Where the patient without a code is sent: a new one by e-mail. */
const newCodeLink = () => el('p', {}, el('a', { href: '#/new-code', text: "Je n'ai pas de code provisoire valable : en recevoir un par e-mail" }));

export function newCodeForm() {
  const error = alertBox();
  const done = statusBox();
  const form = el(
    'form',
    { id: 'new-code-form', 'aria-labelledby': 'new-code-title' },
    el('h2', { id: 'new-code-title', text: 'Recevoir un nouveau code provisoire' }),
    el('p', {
      text:
        "Le code est envoyé à l'adresse e-mail enregistrée pour votre profil. Il sert, avec votre date de naissance, à choisir un nouveau mot de passe, " +
        'à rouvrir votre profil ou à l’activer. Il ne reste valable que peu de temps : l’e-mail indique combien.',
    }),
    el('label', { for: 'nc-ins', text: 'Identifiant (matricule INS)' }),
    insField('nc-ins'),
    insHelp('nc-ins'),
    error,
    done,
    el('button', { type: 'submit', text: 'Recevoir un code' }),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    done.textContent = '';
    const r = await api('POST', '/v1/patient/provisional-code', { ins: normalizeIns(form.ins.value) });
    if (r.status !== 202) {
      error.textContent = problemText(r, "La demande n'a pas pu être envoyée.");
      return;
    }
    // The same text for every INS: the page never tells whether a profile exists.
    done.textContent =
      "Demande enregistrée. Si cet identifiant correspond à un profil, un code provisoire vient d'être envoyé à l'adresse e-mail enregistrée. " +
      'Pensez à regarder dans les courriers indésirables.';
  });
  show(
    form,
    el(
      'ul',
      { class: 'links' },
      el('li', {}, el('a', { href: '#/password-reset', text: 'Choisir un nouveau mot de passe avec ce code' })),
      el('li', {}, el('a', { href: '#/reopen', text: 'Rouvrir mon profil avec ce code' })),
      el('li', {}, el('a', { href: '#/activation', text: 'Activer mon profil avec ce code' })),
    ),
    backToLogin(),
  );
}

export function passwordResetForm() {
  const error = alertBox();
  const form = el(
    'form',
    { id: 'password-reset-form', 'aria-labelledby': 'password-reset-title' },
    el('h2', { id: 'password-reset-title', text: 'Mot de passe oublié' }),
    el('p', {
      text: 'Choisissez un nouveau mot de passe avec un code provisoire reçu par e-mail et votre date de naissance. Vous serez déconnecté(e) de tous vos appareils.',
    }),
    ...identityFields('rst'),
    el('label', { for: 'rst-password', text: 'Nouveau mot de passe (12 caractères au moins)' }),
    el('input', { id: 'rst-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: '12' }),
    error,
    el('button', { type: 'submit', text: 'Changer mon mot de passe' }),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const r = await api('POST', '/v1/patient/password/reset', { ...identityBody(form), password: form.password.value });
    if (r.status !== 204) {
      error.textContent = problemText(r, 'Changement du mot de passe impossible.');
      return;
    }
    history.replaceState(null, '', '#/messages');
    loginForm('Votre mot de passe est changé. Connectez-vous avec le nouveau mot de passe.', 'info');
  });
  show(form, newCodeLink(), backToLogin());
}

export function reopenForm() {
  const error = alertBox();
  const form = el(
    'form',
    { id: 'reopen-form', 'aria-labelledby': 'reopen-title' },
    el('h2', { id: 'reopen-title', text: 'Rouvrir mon profil' }),
    el('p', {
      text: 'Si vous avez fermé votre profil, ou refusé sa création, vous pouvez le rouvrir : les professionnels de santé pourront de nouveau vous écrire par cette messagerie.',
    }),
    ...identityFields('reo'),
    error,
    el('button', { type: 'submit', text: 'Rouvrir mon profil' }),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const body = identityBody(form);
    const r = await api('POST', '/v1/patient/reactivate', body);
    if (r.status !== 200) {
      error.textContent = problemText(r, 'Réouverture impossible.');
      return;
    }
    if (r.data.state === 'active') {
      history.replaceState(null, '', '#/messages');
      loginForm('Votre profil est rouvert. Connectez-vous avec votre mot de passe.', 'info');
      return;
    }
    // Never activated: the same code activates it now.
    history.replaceState(null, '', '#/activation');
    activationForm('Votre profil est rouvert. Activez-le maintenant avec le même code provisoire et choisissez un mot de passe.');
    const f = document.getElementById('activation-form');
    f.ins.value = body.ins;
    f.provisionalCode.value = body.provisionalCode;
    f.birthDate.value = body.birthDate;
  });
  show(form, newCodeLink(), backToLogin());
}
