// « Mes documents » : the patient's documents grouped by rubric (the 10 rubrics of vault/rubrics.ts), with for
// each one: download, mask / unmask to professionals, move to another rubric, and delete (own uploads only, after
// a confirmation in the page). A document its author replaced has « Versions précédentes », a disclosure that
// loads the earlier versions when opened (date, author, a download link each). An upload form adds a document,
// « Écrire une note » a short text of the patient's own, filed as a document in the rubric chosen. Actions update
// the page in place and keep the keyboard focus where the patient is; confirmations are read out (role=status),
// errors too (role=alert).
import { api, fetchBlob, SessionEnded } from '../lib/api.js';
import { render } from '../lib/router.js';
import { alertBox, el, formatDate, formatSize, problemText, show, statusBox } from '../lib/dom.js';

/** The rubrics in display order, `[id, label]`, from GET /v1/rubrics (the server's vault/rubrics.ts), loaded once. */
export const RUBRICS = [];
const LABELS = new Map();
export const rubricLabel = (id) => LABELS.get(id) || id;

async function loadRubrics() {
  if (RUBRICS.length) return;
  const r = await api('GET', '/v1/rubrics');
  if (r.status !== 200) throw new Error('rubrics unavailable');
  for (const { id, label } of r.data.items) {
    RUBRICS.push([id, label]);
    LABELS.set(id, label);
  }
}

export const UNAVAILABLE = 'Le service est momentanément indisponible. Réessayez dans quelques instants.';

/**
 * Wraps an event handler. A session that ended (SessionEnded from lib/api.js) re-renders the current route: its
 * first API call meets the same 401 inside the router, which shows the login page and comes back here afterwards.
 * A network failure becomes a French alert.
 */
export function handler(alert, fn) {
  return async (ev) => {
    try {
      await fn(ev);
    } catch (err) {
      if (err instanceof SessionEnded) return void render();
      alert.textContent = UNAVAILABLE;
    }
  };
}

/** Disables a control during a request; gives the focus back afterwards if it had it (a disabled control loses it). */
export function busy(control) {
  const hadFocus = document.activeElement === control;
  control.disabled = true;
  return () => {
    control.disabled = false;
    if (hadFocus && control.isConnected && (!document.activeElement || document.activeElement === document.body)) control.focus();
  };
}

/** Sets a status or alert line so that it is announced even when the same sentence comes twice in a row. */
export function say(box, text) {
  box.textContent = '';
  window.setTimeout(() => {
    box.textContent = text;
  }, 50);
}

/** Every current document, newest first (follows the `next` cursor; a bounded number of pages). */
export async function loadAllDocuments() {
  const items = [];
  let cursor = null;
  for (let page = 0; page < 100; page++) {
    const r = await api('GET', `/v1/me/documents${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (r.status !== 200) return { error: problemText(r, 'Vos documents ne peuvent pas être affichés pour le moment.'), items };
    items.push(...r.data.items);
    cursor = r.data.next;
    if (!cursor) break;
  }
  return { error: null, items };
}

const EXTENSIONS = {
  'application/pdf': '.pdf',
  'image/jpeg': '.jpg',
  'image/png': '.png',
  'image/gif': '.gif',
  'image/tiff': '.tif',
  'image/webp': '.webp',
  'text/plain': '.txt',
  'text/html': '.html',
  'text/xml': '.xml',
  'application/xml': '.xml',
  'application/zip': '.zip',
  'application/dicom': '.dcm',
};

/** A file name for the download: the title, made safe, with the extension of its type when it has none. */
function downloadName(doc) {
  const base =
    [...(doc.title || 'document')]
      .map((c) => (c.charCodeAt(0) < 32 || '\\/:*?"<>|'.includes(c) ? '_' : c))
      .join('')
      .trim()
      .slice(0, 120) || 'document';
  const ext = EXTENSIONS[doc.mediaType] || '';
  return ext && !base.toLowerCase().endsWith(ext) && !/\.[a-z0-9]{2,4}$/i.test(base) ? base + ext : base;
}

/** PATCH /v1/me/documents/{id} with `control` disabled meanwhile. */
const patchDocument = (doc, change, control) => api('PATCH', `/v1/me/documents/${encodeURIComponent(doc.id)}`, change).finally(busy(control));

const quoted = (t) => `« ${t} »`;

let filter = '';

export async function documents() {
  const [list, access] = await Promise.all([loadAllDocuments(), api('GET', '/v1/me/access'), loadRubrics()]);
  let docs = list.items;
  const status = statusBox();
  const alert = alertBox(list.error || '');
  const listArea = el('div', { id: 'documents-list' });
  const filterSelect = el(
    'select',
    { id: 'doc-filter', name: 'filter', 'aria-describedby': 'doc-filter-help' },
    el('option', { value: '', text: 'Toutes les rubriques' }),
    ...RUBRICS.map(([id, label]) => el('option', { value: id, text: label })),
  );
  if (!LABELS.has(filter)) filter = '';
  filterSelect.value = filter;

  function updateFilterCounts() {
    for (const opt of filterSelect.options) {
      const n = opt.value ? docs.filter((d) => d.rubric === opt.value).length : docs.length;
      const label = opt.value ? rubricLabel(opt.value) : 'Toutes les rubriques';
      opt.textContent = `${label} (${n})`;
    }
  }

  /** Re-draws the list (after the filter changes, an upload, a move or a deletion). */
  function drawList() {
    updateFilterCounts();
    const shown = filter ? docs.filter((d) => d.rubric === filter) : docs;
    if (!shown.length) {
      listArea.replaceChildren(
        el('p', { class: 'empty', text: filter ? `Aucun document dans la rubrique ${quoted(rubricLabel(filter))}.` : "Vous n'avez encore aucun document." }),
      );
      return;
    }
    const rubricIds = RUBRICS.map(([id]) => id);
    for (const d of shown) if (!rubricIds.includes(d.rubric)) rubricIds.push(d.rubric);
    const sections = [];
    for (const rubric of rubricIds) {
      const inRubric = shown.filter((d) => d.rubric === rubric);
      if (!inRubric.length) continue;
      const titleId = `rubric-${rubric}`;
      sections.push(
        el(
          'section',
          { class: 'rubric', 'aria-labelledby': titleId },
          el('h3', { id: titleId, tabindex: '-1', text: `${rubricLabel(rubric)} (${inRubric.length})` }),
          el('ul', { class: 'doc-list' }, ...inRubric.map(docItem)),
        ),
      );
    }
    listArea.replaceChildren(...sections);
  }

  function docItem(doc) {
    const li = el('li', { class: 'doc', id: `doc-${doc.id}` });
    const titleId = `doc-title-${doc.id}`;
    const stateLine = el('p', { class: 'doc-state' });
    const maskButton = el('button', { type: 'button', class: 'mask-toggle' });
    const showState = () => {
      stateLine.textContent = doc.masked
        ? 'Masqué aux professionnels'
        : doc.maskedByAuthor
          ? 'Masqué aux professionnels par son auteur'
          : 'Visible par les professionnels autorisés';
      stateLine.classList.toggle('masked', doc.masked || doc.maskedByAuthor === true);
      maskButton.textContent = doc.masked ? 'Ne plus masquer' : 'Masquer';
      maskButton.setAttribute('aria-label', doc.masked ? `Ne plus masquer ${quoted(doc.title)}` : `Masquer ${quoted(doc.title)} aux professionnels`);
    };
    showState();
    const who = doc.author.kind === 'patient' ? 'Ajouté par moi' : `De : ${doc.author.displayName}`;
    const download = el('button', { type: 'button', 'aria-label': `Télécharger ${quoted(doc.title)}`, text: 'Télécharger' });
    download.addEventListener(
      'click',
      handler(alert, async () => {
        alert.textContent = '';
        const release = busy(download);
        try {
          const blob = await fetchBlob(`/v1/me/documents/${encodeURIComponent(doc.id)}/content`);
          if (!blob) return say(alert, `Le document ${quoted(doc.title)} ne peut pas être téléchargé.`);
          const url = window.URL.createObjectURL(blob);
          const a = el('a', { href: url, download: downloadName(doc), class: 'hidden-link' });
          document.body.append(a);
          a.click();
          a.remove();
          window.setTimeout(() => window.URL.revokeObjectURL(url), 60_000);
          say(status, `Le téléchargement de ${quoted(doc.title)} a commencé.`);
        } finally {
          release();
        }
      }),
    );
    maskButton.addEventListener(
      'click',
      handler(alert, async () => {
        alert.textContent = '';
        const masked = !doc.masked;
        const r = await patchDocument(doc, { masked }, maskButton);
        if (r.status !== 204) return say(alert, problemText(r, "Le changement n'a pas pu être enregistré."));
        doc.masked = masked;
        showState();
        maskButton.focus();
        say(
          status,
          masked
            ? `${quoted(doc.title)} est maintenant masqué aux professionnels.`
            : `${quoted(doc.title)} n'est plus masqué : les professionnels autorisés peuvent le voir.`,
        );
      }),
    );

    // move to another rubric: a small panel opened by a button (aria-expanded)
    const movePanelId = `doc-move-${doc.id}`;
    const moveSelect = el(
      'select',
      { id: `doc-move-select-${doc.id}`, name: 'rubric' },
      ...RUBRICS.map(([id, label]) => el('option', { value: id, text: label })),
    );
    moveSelect.value = doc.rubric;
    const moveButton = el('button', {
      type: 'button',
      'aria-expanded': 'false',
      'aria-controls': movePanelId,
      'aria-label': `Changer de rubrique pour ${quoted(doc.title)}`,
      text: 'Changer de rubrique',
    });
    const moveOk = el('button', { type: 'button', class: 'primary', text: 'Déplacer' });
    const moveCancel = el('button', { type: 'button', text: 'Annuler' });
    const movePanel = el(
      'div',
      { id: movePanelId, class: 'inline-panel', hidden: true },
      el('label', { for: moveSelect.id, text: `Nouvelle rubrique pour ${quoted(doc.title)}` }),
      moveSelect,
      el('div', { class: 'actions' }, moveOk, moveCancel),
    );
    const closeMove = () => {
      movePanel.hidden = true;
      moveButton.setAttribute('aria-expanded', 'false');
      moveButton.focus();
    };
    moveButton.addEventListener('click', () => {
      const open = movePanel.hidden;
      movePanel.hidden = !open;
      moveButton.setAttribute('aria-expanded', String(open));
      if (open) moveSelect.focus();
    });
    moveCancel.addEventListener('click', closeMove);
    moveOk.addEventListener(
      'click',
      handler(alert, async () => {
        alert.textContent = '';
        const rubric = moveSelect.value;
        if (rubric === doc.rubric) return closeMove();
        const r = await patchDocument(doc, { rubric }, moveOk);
        if (r.status !== 204) return say(alert, problemText(r, "Le document n'a pas pu être déplacé."));
        doc.rubric = rubric;
        drawList();
        focusOn(`#doc-title-${doc.id}`, `#rubric-${rubric}`);
        say(status, `${quoted(doc.title)} est maintenant dans la rubrique ${quoted(rubricLabel(rubric))}.`);
      }),
    );

    const actions = el('div', { class: 'actions' }, download, maskButton, moveButton);
    const parts = [
      el('h4', { id: titleId, class: 'doc-title', tabindex: '-1', text: doc.title }),
      el('p', { class: 'meta', text: `${who} — le ${formatDate(doc.createdAt)} — ${formatSize(doc.size)}` }),
      stateLine,
      actions,
      movePanel,
    ];
    if (doc.hasPreviousVersions) parts.push(previousVersions(doc));

    // only the patient's own uploads may be deleted (the API answers 403 for the others)
    if (doc.author.kind === 'patient') {
      const del = el('button', { type: 'button', class: 'danger', 'aria-label': `Supprimer ${quoted(doc.title)}`, text: 'Supprimer' });
      const questionId = `doc-del-q-${doc.id}`;
      const yes = el('button', { type: 'button', class: 'danger', 'aria-describedby': questionId, text: 'Oui, supprimer' });
      const no = el('button', { type: 'button', 'aria-describedby': questionId, text: 'Non, garder' });
      const confirm = el(
        'div',
        { class: 'confirm', role: 'group', 'aria-labelledby': questionId, hidden: true },
        el('p', { id: questionId, text: `Supprimer définitivement ${quoted(doc.title)} ? Vous ne pourrez pas le récupérer.` }),
        el('div', { class: 'actions' }, yes, no),
      );
      del.addEventListener('click', () => {
        confirm.hidden = false;
        no.focus();
      });
      no.addEventListener('click', () => {
        confirm.hidden = true;
        del.focus();
      });
      yes.addEventListener(
        'click',
        handler(alert, async () => {
          alert.textContent = '';
          const release = busy(yes);
          const r = await api('DELETE', `/v1/me/documents/${encodeURIComponent(doc.id)}`).finally(() => {
            release();
          });
          if (r.status !== 204) return say(alert, problemText(r, "Le document n'a pas pu être supprimé."));
          docs = docs.filter((d) => d.id !== doc.id);
          drawList();
          focusOn(`#rubric-${doc.rubric}`, '#doc-filter');
          say(status, `Le document ${quoted(doc.title)} a été supprimé.`);
        }),
      );
      actions.append(del);
      parts.push(confirm);
    }
    li.append(...parts);
    return li;
  }

  /**
   * « Versions précédentes »: the versions this document replaced, newest first, read when the disclosure is first
   * opened (GET /v1/me/documents/{id}/versions; the current one is the document itself, left out).
   */
  function previousVersions(doc) {
    const body = el('div', { class: 'doc-versions-body' }, el('p', { class: 'help', text: 'Chargement des versions précédentes…' }));
    const details = el('details', { class: 'doc-versions', id: `doc-versions-${doc.id}` }, el('summary', { text: 'Versions précédentes' }), body);
    let loaded = false;
    details.addEventListener(
      'toggle',
      handler(alert, async () => {
        if (!details.open || loaded) return;
        loaded = true;
        const r = await api('GET', `/v1/me/documents/${encodeURIComponent(doc.id)}/versions`);
        if (r.status !== 200) {
          loaded = false;
          return body.replaceChildren(alertBox(problemText(r, 'Les versions précédentes ne peuvent pas être affichées pour le moment.')));
        }
        const earlier = r.data.items.filter((v) => !v.current && v.id !== doc.id);
        if (!earlier.length) return body.replaceChildren(el('p', { class: 'help', text: 'Aucune version précédente ne peut être affichée.' }));
        body.replaceChildren(
          el(
            'ul',
            { class: 'doc-list', 'aria-label': `Versions précédentes de ${quoted(doc.title)}` },
            ...earlier.map((v) =>
              el(
                'li',
                { class: 'doc-version', id: `doc-version-${v.id}` },
                el('p', {
                  class: 'meta',
                  text: `${quoted(v.title)} — version du ${formatDate(v.createdAt)} — ${v.author.kind === 'patient' ? 'Ajoutée par moi' : `De : ${v.author.displayName}`} — ${formatSize(v.size)}`,
                }),
                el('a', {
                  href: `/v1/me/documents/${encodeURIComponent(v.id)}/content`,
                  download: downloadName(v),
                  class: 'download',
                  text: 'Télécharger',
                  'aria-label': `Télécharger la version du ${formatDate(v.createdAt)} de ${quoted(v.title)}`,
                }),
              ),
            ),
          ),
        );
      }),
    );
    return details;
  }

  filterSelect.addEventListener('change', () => {
    filter = filterSelect.value;
    drawList();
    const n = filter ? docs.filter((d) => d.rubric === filter).length : docs.length;
    say(status, `${n} document${n > 1 ? 's' : ''} affiché${n > 1 ? 's' : ''}.`);
  });

  // the upload form
  const uploadAlert = alertBox();
  const fileInput = el('input', { id: 'doc-file', name: 'file', type: 'file', required: true, 'aria-describedby': 'doc-file-help' });
  const titleInput = el('input', { id: 'doc-title', name: 'title', maxlength: '200', autocomplete: 'off', 'aria-describedby': 'doc-title-help' });
  const rubricSelect = el('select', { id: 'doc-rubric', name: 'rubric' }, ...RUBRICS.map(([id, label]) => el('option', { value: id, text: label })));
  rubricSelect.value = 'autres-documents';
  const submit = el('button', { type: 'submit', text: 'Ajouter le document' });
  const form = el(
    'form',
    { id: 'upload-form', 'aria-labelledby': 'upload-title', novalidate: true },
    el('h3', { id: 'upload-title', text: 'Ajouter un document' }),
    el('label', { for: 'doc-file', text: 'Fichier à ajouter' }),
    fileInput,
    el('p', { id: 'doc-file-help', class: 'help', text: 'Un document PDF ou une photo (JPEG, PNG). Les programmes et les fichiers inconnus sont refusés.' }),
    el('label', { for: 'doc-title', text: 'Titre du document (facultatif)' }),
    titleInput,
    el('p', { id: 'doc-title-help', class: 'help', text: 'Par exemple : « Ordonnance de lunettes ». Sans titre, le nom du fichier est utilisé.' }),
    el('label', { for: 'doc-rubric', text: 'Rubrique où le ranger' }),
    rubricSelect,
    uploadAlert,
    submit,
  );
  form.addEventListener(
    'submit',
    handler(uploadAlert, async (ev) => {
      ev.preventDefault();
      uploadAlert.textContent = '';
      fileInput.removeAttribute('aria-invalid');
      const file = fileInput.files && fileInput.files[0];
      if (!file) {
        fileInput.setAttribute('aria-invalid', 'true');
        fileInput.focus();
        return say(uploadAlert, "Choisissez d'abord le fichier à ajouter.");
      }
      const body = new window.FormData();
      body.append('title', titleInput.value.trim());
      body.append('rubric', rubricSelect.value);
      body.append('file', file, file.name);
      const release = busy(submit);
      submit.textContent = 'Envoi en cours…';
      const r = await api('POST', '/v1/me/documents', body).finally(() => {
        release();
        submit.textContent = 'Ajouter le document';
      });
      if (r.status !== 201) return say(uploadAlert, problemText(r, "Le document n'a pas pu être ajouté."));
      const title = titleInput.value.trim() || file.name;
      form.reset();
      rubricSelect.value = 'autres-documents';
      const reloaded = await loadAllDocuments();
      if (!reloaded.error) docs = reloaded.items;
      if (filter && filter !== r.data.rubric) {
        filter = '';
        filterSelect.value = '';
      }
      drawList();
      say(status, `Le document ${quoted(title)} a été ajouté dans la rubrique ${quoted(rubricLabel(r.data.rubric))}.`);
      submit.focus();
    }),
  );

  const toForm = el('button', { type: 'button', text: 'Ajouter un document' });
  toForm.addEventListener('click', () => fileInput.focus());

  // « Écrire une note »: a short text of the patient's own, kept as a plain-text document (POST /v1/me/notes)
  const noteAlert = alertBox();
  const noteTitle = el('input', { id: 'note-title', name: 'title', maxlength: '200', autocomplete: 'off', required: true });
  const noteText = el('textarea', { id: 'note-text', name: 'text', rows: '6', maxlength: '10000', required: true, 'aria-describedby': 'note-text-help' });
  const noteRubric = el('select', { id: 'note-rubric', name: 'rubric' }, ...RUBRICS.map(([id, label]) => el('option', { value: id, text: label })));
  noteRubric.value = 'autres-documents';
  const noteSubmit = el('button', { type: 'submit', text: 'Enregistrer la note' });
  const noteForm = el(
    'form',
    { id: 'note-form', 'aria-labelledby': 'note-form-title', novalidate: true },
    el('h3', { id: 'note-form-title', text: 'Écrire une note' }),
    el('label', { for: 'note-title', text: 'Titre de la note' }),
    noteTitle,
    el('label', { for: 'note-text', text: 'Texte de la note' }),
    noteText,
    el('p', {
      id: 'note-text-help',
      class: 'help',
      text: 'Par exemple : vos symptômes du jour, ou une question pour votre prochain rendez-vous. Texte simple, 10 000 caractères au plus.',
    }),
    el('label', { for: 'note-rubric', text: 'Rubrique où la ranger' }),
    noteRubric,
    noteAlert,
    noteSubmit,
  );
  noteForm.addEventListener(
    'submit',
    handler(noteAlert, async (ev) => {
      ev.preventDefault();
      noteAlert.textContent = '';
      for (const f of [noteTitle, noteText]) f.removeAttribute('aria-invalid');
      const title = noteTitle.value.trim();
      const empty = !title ? noteTitle : !noteText.value.trim() ? noteText : null;
      if (empty) {
        empty.setAttribute('aria-invalid', 'true');
        empty.focus();
        return say(noteAlert, empty === noteTitle ? 'Donnez un titre à votre note.' : 'Écrivez le texte de votre note.');
      }
      const release = busy(noteSubmit);
      const r = await api('POST', '/v1/me/notes', { title, text: noteText.value, rubric: noteRubric.value }).finally(release);
      if (r.status !== 201) return say(noteAlert, problemText(r, "La note n'a pas pu être enregistrée."));
      noteForm.reset();
      noteRubric.value = 'autres-documents';
      const reloaded = await loadAllDocuments();
      if (!reloaded.error) docs = reloaded.items;
      if (filter && filter !== r.data.rubric) {
        filter = '';
        filterSelect.value = '';
      }
      drawList();
      say(status, `La note ${quoted(title)} a été ajoutée dans la rubrique ${quoted(rubricLabel(r.data.rubric))}.`);
      noteSubmit.focus();
    }),
  );
  const toNote = el('button', { type: 'button', text: 'Écrire une note' });
  toNote.addEventListener('click', () => noteTitle.focus());

  const notices = [];
  if (access.status === 200 && access.data.allMasked) {
    notices.push(
      el(
        'p',
        { class: 'notice' },
        'Tous vos documents sont actuellement masqués aux professionnels (réglage de la page ',
        el('a', { href: '#/access', text: 'Qui voit quoi' }),
        ').',
      ),
    );
  }

  show(
    el('h2', { text: 'Mes documents' }),
    el('p', {
      text: 'Vos documents de santé, rangés par rubrique. Vous pouvez les télécharger, les masquer aux professionnels de santé, ou ajouter vos propres documents.',
    }),
    ...notices,
    status,
    alert,
    el(
      'div',
      { class: 'toolbar' },
      el('label', { for: 'doc-filter', text: 'Afficher' }),
      filterSelect,
      el('span', { id: 'doc-filter-help', class: 'help', text: 'Choisissez une rubrique pour ne voir que ses documents.' }),
      toForm,
      toNote,
    ),
    listArea,
    form,
    noteForm,
  );
  drawList();
}

/** Moves the focus to the first element found (a heading gets tabindex=-1 so it can take it). */
export function focusOn(...selectors) {
  for (const s of selectors) {
    const node = document.querySelector(s);
    if (node) {
      if (!node.matches('a, button, input, select, textarea') && !node.hasAttribute('tabindex')) node.setAttribute('tabindex', '-1');
      node.focus();
      return;
    }
  }
}
