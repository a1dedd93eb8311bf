// Patient webmail (French). Plain ES module, no build step: it talks to the API over HTTP only, with the
// HttpOnly session cookie (SameSite=Strict). Every text shown comes from the API and is inserted as text,
// never as HTML.
const main = document.getElementById('main');
const logoutButton = document.getElementById('logout');

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') node.textContent = v;
    else if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

async function api(method, url, body) {
  const res = await fetch(url, {
    method,
    credentials: 'same-origin',
    headers: body ? { 'content-type': 'application/json', 'x-requested-with': 'webmail' } : { 'x-requested-with': 'webmail' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const type = res.headers.get('content-type') || '';
  const data = type.includes('json') ? await res.json() : null;
  return { status: res.status, data };
}

function show(...nodes) {
  main.replaceChildren(...nodes);
  const first = main.querySelector('input, button, a');
  (first || main).focus();
}

function problemText(r, fallback) {
  return (r.data && r.data.detail) || fallback;
}

function loginForm(message) {
  const error = el('p', { class: 'error', role: 'alert', text: message || '' });
  const form = el(
    'form',
    { id: 'login-form', 'aria-labelledby': 'login-title' },
    el('h2', { id: 'login-title', text: 'Connexion' }),
    el('label', { for: 'ins', text: 'Identifiant (matricule INS)' }),
    el('input', { id: 'ins', name: 'ins', autocomplete: 'username', inputmode: 'text', required: '', maxlength: '15' }),
    el('label', { for: 'password', text: 'Mot de passe' }),
    el('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: '' }),
    error,
    el('button', { type: 'submit', text: 'Se connecter' }),
  );
  const activate = el('a', { href: '#/activation', id: 'go-activation', text: 'Première connexion : activer mon profil' });
  activate.addEventListener('click', (ev) => {
    ev.preventDefault();
    activationForm();
  });
  form.append(activate);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await api('POST', '/v1/patient/login', { ins: form.ins.value.trim().toUpperCase(), password: form.password.value });
    if (r.status !== 200) {
      error.textContent = problemText(r, 'Connexion impossible.');
      return;
    }
    codeForm(r.data.challengeId);
  });
  show(form);
}

function activationForm() {
  const error = el('p', { class: 'error', role: 'alert' });
  const form = el(
    'form',
    { id: 'activation-form', 'aria-labelledby': 'activation-title' },
    el('h2', { id: 'activation-title', text: 'Activer mon profil' }),
    el('label', { for: 'act-ins', text: 'Identifiant (matricule INS)' }),
    el('input', { id: 'act-ins', name: 'ins', autocomplete: 'username', required: '', maxlength: '15' }),
    el('label', { for: 'act-code', text: 'Code provisoire (reçu par courrier ou e-mail)' }),
    el('input', { id: 'act-code', name: 'provisionalCode', autocomplete: 'off', required: '' }),
    el('label', { for: 'act-birth', text: 'Date de naissance' }),
    el('input', { id: 'act-birth', name: 'birthDate', type: 'date', required: '' }),
    el('label', { for: 'act-password', text: 'Mot de passe choisi (12 caractères au moins)' }),
    el('input', { id: 'act-password', name: 'password', type: 'password', autocomplete: 'new-password', required: '' }),
    error,
    el('button', { type: 'submit', text: 'Activer' }),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await api('POST', '/v1/patient/activate', {
      ins: form.ins.value.trim().toUpperCase(),
      provisionalCode: form.provisionalCode.value.trim(),
      birthDate: form.birthDate.value,
      password: form.password.value,
    });
    if (r.status !== 204) {
      error.textContent = problemText(r, 'Activation impossible.');
      return;
    }
    loginForm('Votre profil est activé. Connectez-vous avec votre mot de passe.');
  });
  show(form);
}

function codeForm(challengeId) {
  const error = el('p', { class: 'error', role: 'alert' });
  const form = el(
    'form',
    { id: 'code-form', 'aria-labelledby': 'code-title' },
    el('h2', { id: 'code-title', text: 'Code de connexion' }),
    el('p', { text: 'Saisissez le code à 6 chiffres reçu par e-mail.' }),
    el('label', { for: 'code', text: 'Code reçu par e-mail' }),
    el('input', { id: 'code', name: 'code', autocomplete: 'one-time-code', inputmode: 'numeric', pattern: '[0-9]{6}', maxlength: '6', required: '' }),
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
    inbox();
  });
  show(form);
}

async function inbox() {
  const r = await api('GET', '/v1/me/messages');
  if (r.status === 401) return loginForm();
  logoutButton.hidden = false;
  const items = r.data.items;
  const list = el('ul', { class: 'messages', id: 'inbox', 'aria-label': 'Messages reçus' });
  for (const m of items) {
    const open = el('a', { href: `#/messages/${m.id}`, class: 'subject', text: m.subject || '(sans objet)' });
    open.addEventListener('click', (ev) => {
      ev.preventDefault();
      message(m.id);
    });
    list.append(
      el(
        'li',
        { class: m.read ? 'read' : 'unread' },
        open,
        el('br'),
        el('span', { class: 'from', text: m.from.displayName }),
        el('span', { class: 'date', text: ` — ${new Date(m.receivedAt).toLocaleString('fr-FR')}` }),
      ),
    );
  }
  show(
    el('h2', { text: 'Messages reçus' }),
    items.length ? list : el('p', { class: 'empty', text: "Je peux uniquement contacter les professionnels qui m'ont déjà écrit et qui n'ont pas mis fin aux échanges." }),
  );
}

async function message(id) {
  const r = await api('GET', `/v1/me/messages/${encodeURIComponent(id)}`);
  if (r.status === 401) return loginForm('Votre session a expiré. Reconnectez-vous.');
  if (r.status !== 200) return show(el('p', { class: 'error', role: 'alert', text: problemText(r, 'Message introuvable.') }));
  const m = r.data;
  const back = el('button', { type: 'button', text: '← Retour aux messages' });
  back.addEventListener('click', () => inbox());
  const body = el('pre', { class: 'body', text: m.text });
  const attachments = el('ul', { class: 'attachments', 'aria-label': 'Pièces jointes' });
  for (const a of m.attachments) {
    attachments.append(el('li', {}, el('a', { href: `/v1/me/messages/${m.id}/attachments/${a.id}`, download: a.filename, text: `${a.filename} (${Math.ceil(a.size / 1024)} Ko)` })));
  }
  const parts = [back, el('h2', { text: m.subject || '(sans objet)' }), el('p', { class: 'from', text: `De : ${m.from.displayName}` }), body];
  if (m.attachments.length) parts.push(el('h3', { text: 'Pièces jointes' }), attachments);
  if (m.canReply) {
    const status = el('p', { role: 'status' });
    const form = el(
      'form',
      { id: 'reply-form', 'aria-label': 'Répondre' },
      el('label', { for: 'reply-text', text: 'Ma réponse' }),
      el('textarea', { id: 'reply-text', name: 'text', rows: '5', required: '' }),
      status,
      el('button', { type: 'submit', text: 'Envoyer' }),
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const s = await api('POST', `/v1/me/messages/${encodeURIComponent(id)}/reply`, { text: form.text.value });
      status.textContent = s.status === 202 ? 'Votre réponse a été envoyée.' : problemText(s, "La réponse n'a pas pu être envoyée.");
      if (s.status === 202) form.text.value = '';
    });
    parts.push(form);
  } else if (m.closedNotice) {
    parts.push(el('p', { class: 'notice', role: 'note', text: m.closedNotice }));
  }
  show(...parts);
}

logoutButton.addEventListener('click', async () => {
  await api('POST', '/v1/patient/logout');
  logoutButton.hidden = true;
  loginForm();
});

inbox().catch(() => loginForm('Le service est momentanément indisponible.'));
