// « Historique » : who did what in the patient's space, and when (GET /v1/me/activity, newest first, `next`
// cursor for « Voir plus »). One table row per event: date, professional (name, profession, RPPS), the action in
// plain French, the document (its title when it is still among the patient's documents) and the detail recorded
// with the access (why it was allowed or refused, the emergency ground and justification when present).
import { api } from '../lib/api.js';
import { alertBox, el, formatDate, problemText, show, statusBox } from '../lib/dom.js';
import { busy, handler, loadAllDocuments, say } from './documents.js';

/** Activity kinds of access/activity.ts, in plain French; an unknown code is shown as it is. */
const ACTIONS = {
  'message-received': 'Vous a envoyé un message',
  'reply-forbidden-by-sender': 'Vous a envoyé un message (sans réponse possible)',
  'exchange-ended': 'A mis fin aux échanges avec vous',
  'message-sent': 'Message envoyé',
  'delivery-failed': "Un message n'a pas pu être distribué",
  'document-listed': 'A consulté la liste de vos documents',
  'document-read': 'A ouvert un document',
  'document-added': 'A ajouté un document',
  'document-masked': "A masqué ou démasqué un document qu'il a écrit",
  'document-deleted': "A supprimé un document qu'il avait écrit",
  'document-revealed': "Vous a rendu visible un document après vous l'avoir présenté",
  'access-refused': 'A voulu consulter vos documents : accès refusé',
  'emergency-access': 'A consulté vos documents en urgence',
  'profile-updated': 'Vos coordonnées ont été mises à jour par le service',
  'profile-state-changed': "L'état de votre profil a changé",
  'provisional-code-issued': "Un nouveau code provisoire d'activation a été émis",
};
export const actionLabel = (code) => ACTIONS[code] || code;

/** Profession codes (TRE_G15, as carried by professionals' tokens); anything else is shown as it is. */
const PROFESSIONS = {
  10: 'Médecin',
  21: 'Pharmacien',
  26: 'Audioprothésiste',
  28: 'Opticien-lunetier',
  40: 'Chirurgien-dentiste',
  50: 'Sage-femme',
  60: 'Infirmier',
  70: 'Masseur-kinésithérapeute',
  80: 'Pédicure-podologue',
  91: 'Orthophoniste',
  92: 'Orthoptiste',
  94: 'Ergothérapeute',
  95: 'Diététicien',
  96: 'Psychomotricien',
  98: "Manipulateur d'électroradiologie médicale",
};
export const professionLabel = (code) => (code ? PROFESSIONS[code] || (/^\d+$/.test(code) ? `Profession n° ${code}` : code) : '');

const cell = (label, ...children) => el('td', { 'data-label': label }, ...children);

export async function activity() {
  const first = await api('GET', '/v1/me/activity');
  if (first.status !== 200) {
    return show(el('h2', { text: 'Historique' }), alertBox(problemText(first, 'Votre historique ne peut pas être affiché pour le moment.')));
  }
  const docs = await loadAllDocuments();
  const titles = new Map(docs.items.map((d) => [d.id, d.title]));
  const status = statusBox();
  const alert = alertBox();
  const tbody = el('tbody');
  let rowCount = 0;

  function row(item) {
    rowCount += 1;
    const a = item.actor;
    const who = el('td', { 'data-label': 'Qui' }, el('span', { class: 'actor-name', text: a.displayName }));
    const prof = professionLabel(a.profession);
    if (prof) who.append(el('br'), el('span', { class: 'meta', text: prof }));
    if (a.rpps) who.append(el('br'), el('span', { class: 'meta', text: `RPPS ${a.rpps}` }));
    const doc = item.documentId
      ? titles.has(item.documentId)
        ? titles.get(item.documentId)
        : `Document n° ${item.documentId.slice(0, 8)} (supprimé ou remplacé)`
      : '—';
    const detail = el('td', { 'data-label': 'Détail' });
    if (item.reason) detail.append(el('span', { text: item.reason }));
    if (item.justification) {
      if (item.reason) detail.append(el('br'));
      detail.append(el('span', { class: 'justification', text: `Justification : ${item.justification}` }));
    }
    if (!item.reason && !item.justification) detail.append('—');
    const when = el('th', { scope: 'row', id: `activity-row-${rowCount}`, 'data-label': 'Date', text: formatDate(item.at) });
    const action = el('td', { 'data-label': 'Action', class: item.action === 'access-refused' ? 'refused' : null, text: actionLabel(item.action) });
    return el('tr', { class: item.action === 'emergency-access' ? 'emergency' : null }, when, who, action, cell('Document', doc), detail);
  }

  let next = first.data.next;
  tbody.append(...first.data.items.map(row));
  const more = el('button', { type: 'button', id: 'activity-more', 'aria-label': "Voir plus d'actions, plus anciennes", text: 'Voir plus' });
  more.hidden = !next;
  more.addEventListener(
    'click',
    handler(alert, async () => {
      alert.textContent = '';
      const release = busy(more);
      const r = await api('GET', `/v1/me/activity?cursor=${encodeURIComponent(next)}`).finally(() => {
        release();
      });
      if (r.status !== 200) return say(alert, problemText(r, "La suite de l'historique ne peut pas être affichée."));
      const firstNew = rowCount + 1;
      tbody.append(...r.data.items.map(row));
      next = r.data.next;
      const n = r.data.items.length;
      if (n) {
        // the keyboard goes on from the first new line
        const th = document.getElementById(`activity-row-${firstNew}`);
        th.setAttribute('tabindex', '-1');
        th.focus();
      }
      if (!next) more.hidden = true;
      say(
        status,
        next
          ? `${n} action${n > 1 ? 's' : ''} de plus affichée${n > 1 ? 's' : ''}.`
          : `${n} action${n > 1 ? 's' : ''} de plus affichée${n > 1 ? 's' : ''}. C'est le début de votre historique.`,
      );
    }),
  );

  const table = el(
    'table',
    { id: 'activity-table' },
    el('caption', { text: 'Qui a fait quoi dans mon espace santé, de la plus récente à la plus ancienne action' }),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col', text: 'Date' }),
        el('th', { scope: 'col', text: 'Qui' }),
        el('th', { scope: 'col', text: 'Action' }),
        el('th', { scope: 'col', text: 'Document' }),
        el('th', { scope: 'col', text: 'Détail' }),
      ),
    ),
    tbody,
  );
  show(
    el('h2', { text: 'Historique' }),
    el('p', {
      text: "Chaque fois qu'un professionnel de santé consulte, ajoute ou essaie de consulter vos documents, c'est inscrit ici. Vos propres actions n'y figurent pas.",
    }),
    status,
    alert,
    rowCount ? table : el('p', { class: 'empty', text: "Aucune action n'a encore été enregistrée." }),
    el('div', { class: 'toolbar' }, more),
  );
}
