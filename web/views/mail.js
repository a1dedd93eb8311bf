// Messages: received and sent lists, one message (text or sanitized HTML, attachments with preview and
// download, reply form or the reason why answering is closed), and a new message to a professional who wrote
// first. A draft survives an ended session: it is kept in sessionStorage until sent, for its patient only
// (lib/drafts.js; logout removes it). Lists come in pages (the API's `next` cursor): « Voir les messages plus
// anciens » under a folder, and « Afficher d'autres professionnels » under the recipient list of a new message
// (the professionals who wrote last come first; the ones loaded are added to the list, the choice made is kept).
import { api } from '../lib/api.js';
import { keepDraft } from '../lib/drafts.js';
import { alertBox, el, formatDate, formatSize, problemText, show, statusBox } from '../lib/dom.js';
import { mailHtmlFrame } from '../lib/html-body.js';
import { canPreview, showPreview } from '../lib/preview.js';
import { navigate } from '../lib/router.js';
import { busy, handler, say } from './documents.js';

const FOLDERS = {
  inbox: { title: 'Messages reçus', id: 'inbox', empty: "Vous n'avez reçu aucun message pour l'instant." },
  sent: { title: 'Messages envoyés', id: 'sent', empty: "Vous n'avez envoyé aucun message." },
};

const STATUS_LABELS = {
  queued: "En cours d'envoi",
  delayed: 'Envoi retardé : nouvel essai automatique en cours',
  sent: 'Envoyé',
  displayed: 'Lu par le destinataire',
  failed: "Non distribué : le message n'a pas pu être remis",
};

const CANNOT_WRITE = "Vous pouvez uniquement écrire aux professionnels de santé qui vous ont déjà écrit et qui n'ont pas mis fin aux échanges.";

function messageItem(m, folder) {
  const who = folder === 'sent' ? `À : ${m.to ? m.to.displayName : ''}` : `De : ${m.from.displayName}`;
  const flags = [];
  if (folder === 'inbox' && !m.read) flags.push('non lu');
  if (m.attachments.length) flags.push(`${m.attachments.length} pièce${m.attachments.length > 1 ? 's' : ''} jointe${m.attachments.length > 1 ? 's' : ''}`);
  if (folder === 'sent' && m.status) flags.push(STATUS_LABELS[m.status] || m.status);
  return el(
    'li',
    { class: folder === 'inbox' && !m.read ? 'unread' : 'read' },
    el('a', { href: `#/messages/${encodeURIComponent(m.id)}`, class: 'subject', text: m.subject || '(sans objet)' }),
    el('br'),
    el('span', { class: 'meta', text: `${who} — ${formatDate(m.receivedAt)}${flags.length ? ` — ${flags.join(', ')}` : ''}` }),
  );
}

export async function mailbox(folder) {
  const f = FOLDERS[folder];
  const list = el('ul', { class: 'messages', id: f.id, 'aria-label': f.title });
  const more = el('button', { type: 'button', text: 'Voir les messages plus anciens', hidden: true });
  let next = null;
  const load = async (cursor) => {
    const q = new URLSearchParams({ folder });
    if (cursor) q.set('cursor', cursor);
    const r = await api('GET', `/v1/me/messages?${q}`);
    if (r.status !== 200) throw new Error('list failed');
    for (const m of r.data.items) list.append(messageItem(m, folder));
    next = r.data.next;
    more.hidden = !next;
    return r.data.items.length;
  };
  more.addEventListener('click', async () => {
    const before = list.children.length;
    await load(next);
    const first = list.children[before] && list.children[before].querySelector('a');
    if (first) first.focus();
  });
  const count = await load(null);
  const toolbar = el('div', { class: 'toolbar' }, el('a', { href: '#/new', class: 'button-link', text: 'Écrire à un professionnel' }));
  show(el('h2', { text: f.title }), toolbar, count ? list : el('p', { class: 'empty', text: f.empty }), more);
}

function attachmentList(m, previewArea, previewStatus) {
  const list = el('ul', { class: 'attachments', 'aria-label': 'Pièces jointes' });
  for (const a of m.attachments) {
    const url = `/v1/me/messages/${encodeURIComponent(m.id)}/attachments/${encodeURIComponent(a.id)}`;
    const item = el(
      'li',
      {},
      el('span', { text: `${a.filename} (${formatSize(a.size)})` }),
      el('a', { href: url, download: a.filename, class: 'download', text: 'Télécharger', 'aria-label': `Télécharger ${a.filename}` }),
    );
    if (canPreview(a.mediaType)) {
      const b = el('button', { type: 'button', text: 'Aperçu', 'aria-label': `Aperçu de ${a.filename}` });
      b.addEventListener('click', () => showPreview(previewArea, previewStatus, { url, mediaType: a.mediaType, filename: a.filename }));
      item.append(b);
    }
    list.append(item);
  }
  return list;
}

function bodyOf(m, blockedNote) {
  if (m.html) {
    const inline = new Map(m.attachments.filter((a) => a.contentId).map((a) => [a.contentId, a]));
    return mailHtmlFrame(m.html, {
      title: `Contenu du message : ${m.subject || 'sans objet'}`,
      cidUrl: (cid) => {
        const a = inline.get(cid);
        return a ? `/v1/me/messages/${encodeURIComponent(m.id)}/attachments/${encodeURIComponent(a.id)}` : null;
      },
      onReady: (blocked) => {
        if (blocked > 0) blockedNote.textContent = 'Les images et contenus externes de ce message ont été bloqués pour protéger votre vie privée.';
        blockedNote.hidden = blocked === 0;
      },
    });
  }
  return el('pre', { class: 'body', text: m.text });
}

/**
 * "Joindre des documents": the patient's own documents as checkboxes, loaded when the section is opened (most
 * messages carry none). The server checks ownership and the 5 MB total; this only offers the choice.
 */
function documentPicker(prefix) {
  const list = el('div', { class: 'doc-picker-list' }, el('p', { class: 'help', text: 'Chargement de vos documents…' }));
  const fieldset = el(
    'fieldset',
    { class: 'doc-picker', id: `${prefix}-docs` },
    el('legend', { text: 'Joindre des documents de mon espace santé (facultatif, 5 Mo au total)' }),
    list,
  );
  const details = el('details', {}, el('summary', { text: 'Joindre des documents' }), fieldset);
  let loaded = false;
  details.addEventListener('toggle', async () => {
    if (!details.open || loaded) return;
    loaded = true;
    const r = await api('GET', '/v1/me/documents');
    const items = r.status === 200 ? r.data.items : [];
    if (!items.length) return list.replaceChildren(el('p', { class: 'help', text: "Vous n'avez aucun document à joindre." }));
    list.replaceChildren(
      ...items.map((d) =>
        el(
          'label',
          { class: 'check' },
          el('input', { type: 'checkbox', name: 'documentIds', value: d.id }),
          `${d.title} (${formatSize(d.size)}, ${formatDate(d.createdAt)})`,
        ),
      ),
    );
  });
  return {
    element: details,
    selected: () => [...fieldset.querySelectorAll('input[name=documentIds]:checked')].map((i) => i.value),
    clear: () => {
      for (const i of fieldset.querySelectorAll('input[name=documentIds]:checked')) i.checked = false;
    },
  };
}

/** Submits a reply or a new message: 202 clears the fields and the kept draft; anything else is explained. */
function onSend(form, { error, status, clearDraft, fields, picker, sent, failed }, send) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    status.textContent = '';
    const r = await send();
    if (r.status === 202) {
      for (const f of fields) f.value = '';
      picker.clear();
      clearDraft();
      status.textContent = sent;
    } else error.textContent = problemText(r, failed);
  });
}

function replyForm(m) {
  const status = statusBox();
  const error = alertBox();
  const text = el('textarea', { id: 'reply-text', name: 'text', rows: '6', required: true });
  const clearDraft = keepDraft(text, `reply:${m.id}`);
  const picker = documentPicker('reply');
  const form = el(
    'form',
    { id: 'reply-form', 'aria-labelledby': 'reply-title' },
    el('h3', { id: 'reply-title', text: `Répondre à ${m.from.displayName}` }),
    el('label', { for: 'reply-text', text: 'Ma réponse' }),
    text,
    picker.element,
    error,
    status,
    el('button', { type: 'submit', text: 'Envoyer' }),
  );
  onSend(
    form,
    {
      error,
      status,
      clearDraft,
      fields: [text],
      picker,
      sent: 'Votre réponse a été envoyée.',
      failed: "La réponse n'a pas pu être envoyée. Réessayez plus tard.",
    },
    () => api('POST', `/v1/me/messages/${encodeURIComponent(m.id)}/reply`, { text: text.value, documentIds: picker.selected() }),
  );
  return form;
}

export async function message(id) {
  const r = await api('GET', `/v1/me/messages/${encodeURIComponent(id)}`);
  if (r.status !== 200) {
    return show(
      el('h2', { text: 'Message introuvable' }),
      alertBox(problemText(r, 'Message introuvable.')),
      el('p', {}, el('a', { href: '#/messages', text: '← Retour aux messages' })),
    );
  }
  const m = r.data;
  const inbox = m.folder !== 'sent';
  const back = el('a', { href: inbox ? '#/messages' : '#/sent', text: inbox ? '← Messages reçus' : '← Messages envoyés' });
  const toolbar = el('div', { class: 'toolbar' }, back);
  const actionStatus = statusBox();
  if (inbox) {
    const unread = el('button', { type: 'button', text: 'Marquer comme non lu' });
    unread.addEventListener('click', async () => {
      const s = await api('PATCH', `/v1/me/messages/${encodeURIComponent(id)}`, { read: false });
      actionStatus.textContent = s.status === 204 ? 'Message marqué comme non lu.' : problemText(s, 'Action impossible.');
    });
    toolbar.append(unread);
  }
  const del = el('button', { type: 'button', text: 'Supprimer' });
  del.addEventListener('click', () => {
    const confirm = el('button', { type: 'button', class: 'danger', text: 'Oui, supprimer ce message' });
    const cancel = el('button', { type: 'button', text: 'Annuler' });
    const box = el(
      'div',
      { class: 'notice', role: 'group', 'aria-label': 'Confirmer la suppression' },
      el('p', { text: 'Supprimer ce message ? Ses pièces jointes restent dans vos documents.' }),
      confirm,
      cancel,
    );
    cancel.addEventListener('click', () => {
      box.remove();
      del.focus();
    });
    confirm.addEventListener('click', async () => {
      const s = await api('DELETE', `/v1/me/messages/${encodeURIComponent(id)}`);
      if (s.status === 204) navigate(inbox ? '/messages' : '/sent');
      else actionStatus.textContent = problemText(s, 'Suppression impossible.');
    });
    toolbar.after(box);
    confirm.focus();
  });
  toolbar.append(del);

  const blockedNote = el('p', { class: 'info', id: 'blocked-content', hidden: true });
  const meta = inbox
    ? `De : ${m.from.displayName} — reçu le ${formatDate(m.receivedAt)}`
    : `À : ${m.to ? m.to.displayName : ''} — envoyé le ${formatDate(m.receivedAt)}${m.status ? ` — ${STATUS_LABELS[m.status] || m.status}` : ''}`;
  const article = el(
    'article',
    { class: 'message', 'aria-labelledby': 'message-title' },
    el('h2', { id: 'message-title', text: m.subject || '(sans objet)' }),
    el('p', { class: 'meta', text: meta }),
    blockedNote,
    bodyOf(m, blockedNote),
  );
  const parts = [toolbar, actionStatus, article];
  if (m.attachments.length) {
    const previewArea = el('div', { class: 'preview-area', id: 'preview' });
    const previewStatus = statusBox();
    parts.push(el('h3', { text: 'Pièces jointes' }), attachmentList(m, previewArea, previewStatus), previewStatus, previewArea);
  }
  if (inbox && m.canReply) parts.push(replyForm(m));
  else if (inbox && m.closedNotice) parts.push(el('p', { class: 'notice', role: 'note', text: m.closedNotice }));
  show(...parts);
}

export async function compose() {
  const r = await api('GET', '/v1/me/contacts');
  const contacts = r.status === 200 ? r.data.items : [];
  if (!contacts.length) {
    return show(el('h2', { text: 'Écrire à un professionnel' }), el('p', { class: 'empty', text: CANNOT_WRITE }));
  }
  const error = alertBox();
  const status = statusBox();
  const option = (c) => el('option', { value: c.id, text: c.displayName });
  const select = el('select', { id: 'new-to', name: 'contactId', required: true }, ...contacts.map(option));
  // the next page of the recipient list, appended to it; the focus goes back to the list to choose
  let next = r.data.next;
  const listStatus = statusBox();
  const more = el('button', { type: 'button', id: 'new-to-more', text: "Afficher d'autres professionnels", hidden: !next });
  more.addEventListener(
    'click',
    handler(error, async () => {
      error.textContent = '';
      const release = busy(more);
      const p = await api('GET', `/v1/me/contacts?cursor=${encodeURIComponent(next)}`).finally(release);
      if (p.status !== 200) return say(error, problemText(p, "La liste des professionnels n'a pas pu être complétée. Réessayez plus tard."));
      select.append(...p.data.items.map(option));
      next = p.data.next;
      more.hidden = !next;
      const n = p.data.items.length;
      const added = `${n} professionnel${n > 1 ? 's' : ''} ajouté${n > 1 ? 's' : ''} à la liste des destinataires.`;
      say(listStatus, next ? added : `${added} Ce sont tous les professionnels à qui vous pouvez écrire.`);
      select.focus();
    }),
  );
  const subject = el('input', { id: 'new-subject', name: 'subject', maxlength: '200', required: true });
  const text = el('textarea', { id: 'new-text', name: 'text', rows: '8', required: true });
  const clearDraft = keepDraft(text, 'new');
  const picker = documentPicker('new');
  const form = el(
    'form',
    { id: 'new-form', 'aria-labelledby': 'new-title' },
    el('h2', { id: 'new-title', text: 'Écrire à un professionnel' }),
    el('p', { class: 'help', id: 'new-help', text: CANNOT_WRITE }),
    el('label', { for: 'new-to', text: 'Destinataire' }),
    select,
    more,
    listStatus,
    el('label', { for: 'new-subject', text: 'Objet' }),
    subject,
    el('label', { for: 'new-text', text: 'Message' }),
    text,
    picker.element,
    error,
    status,
    el('button', { type: 'submit', text: 'Envoyer' }),
  );
  onSend(
    form,
    {
      error,
      status,
      clearDraft,
      fields: [subject, text],
      picker,
      sent: 'Votre message a été envoyé. Vous le retrouverez dans « Messages envoyés ».',
      failed: "Le message n'a pas pu être envoyé. Réessayez plus tard.",
    },
    () => api('POST', '/v1/me/messages', { contactId: select.value, subject: subject.value.trim(), text: text.value, documentIds: picker.selected() }),
  );
  show(form);
}
