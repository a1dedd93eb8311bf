// « Qui voit quoi » : the patient's access settings (PATCH /v1/me/access): mask every document, allow emergency
// access, choose the administrator doctor; and the professionals blocked by RPPS (POST / DELETE
// /v1/me/access/blocked). Each setting is explained in one plain sentence. The API gives blocked professionals
// and the administrator by RPPS only: their names are looked up in the activity history when they appear there.
import { api } from '../lib/api.js';
import { alertBox, el, problemText, show, statusBox } from '../lib/dom.js';
import { busy, focusOn, handler, say } from './documents.js';
import { knownProfessionals, professionLabel } from './activity.js';

const RPPS = /^\d{11}$/;
const cleanRpps = (v) => v.replace(/[\s.-]+/g, '');
const RPPS_HELP = "Le numéro RPPS compte 11 chiffres. Il figure sur les ordonnances et les courriers du professionnel, et dans la page « Historique ».";
const RPPS_INVALID = 'Le numéro RPPS doit comporter exactement 11 chiffres.';

export async function accessSettings() {
  const r = await api('GET', '/v1/me/access');
  if (r.status !== 200) {
    return show(el('h2', { text: 'Qui voit quoi' }), alertBox(problemText(r, 'Vos réglages ne peuvent pas être affichés pour le moment.')));
  }
  let settings = r.data;
  const names = await knownProfessionals();
  const status = statusBox();
  const alert = alertBox();

  /** "Dr Alice Martin, Médecin (RPPS 10000000001)" when known, else "RPPS 10000000001". */
  const who = (rpps) => {
    const p = names.get(rpps);
    if (!p) return `RPPS ${rpps}`;
    const prof = professionLabel(p.profession);
    return `${p.displayName}${prof ? `, ${prof}` : ''} (RPPS ${rpps})`;
  };

  async function reload() {
    const again = await api('GET', '/v1/me/access');
    if (again.status === 200) settings = again.data;
  }

  async function patch(change, okText, failText) {
    const res = await api('PATCH', '/v1/me/access', change);
    if (res.status !== 204) {
      say(alert, problemText(res, failText));
      return false;
    }
    await reload();
    say(status, okText);
    return true;
  }

  // --- the two switches -------------------------------------------------------------------------------------
  /** A checkbox saved as soon as it changes (PATCH /v1/me/access {field}); put back if the save fails. */
  const setting = (id, field, label, help, savedOn, savedOff) => {
    const box = el('input', { id, type: 'checkbox', name: id, 'aria-describedby': `${id}-help` });
    box.checked = settings[field];
    box.addEventListener(
      'change',
      handler(alert, async () => {
        alert.textContent = '';
        const release = busy(box);
        const ok = await patch({ [field]: box.checked }, box.checked ? savedOn : savedOff, "Ce réglage n'a pas pu être enregistré.").finally(() => {
          release();
          box.focus();
        });
        if (!ok) box.checked = !box.checked;
      }),
    );
    return el('div', { class: 'setting' }, el('label', { class: 'check', for: id }, box, label), el('p', { id: `${id}-help`, class: 'help', text: help }));
  };
  const allMasked = setting(
    'all-masked',
    'allMasked',
    'Masquer tous mes documents',
    "Aucun professionnel ne pourra lire vos documents, sauf leur auteur, votre médecin administrateur et, si vous l'autorisez, un médecin en cas d'urgence.",
    "C'est enregistré : tous vos documents sont masqués aux professionnels.",
    "C'est enregistré : vos documents ne sont plus tous masqués (chaque document garde son propre réglage).",
  );
  const emergency = setting(
    'emergency-allowed',
    'emergencyAllowed',
    "Autoriser l'accès en cas d'urgence",
    "Si votre vie est en danger, un médecin du SAMU ou des urgences pourra lire vos documents, même masqués, en écrivant pourquoi ; cet accès sera inscrit dans votre historique.",
    "C'est enregistré : l'accès en cas d'urgence est autorisé.",
    "C'est enregistré : l'accès en cas d'urgence n'est plus autorisé.",
  );
  const switches = el('fieldset', { class: 'card settings' }, el('legend', { text: 'Mes réglages de confidentialité' }), allMasked, emergency);

  // --- the administrator doctor -----------------------------------------------------------------------------
  const adminCurrent = el('div', { id: 'admin-current' });
  const adminAlert = alertBox();
  const adminInput = el('input', { id: 'admin-rpps', name: 'rpps', inputmode: 'numeric', autocomplete: 'off', maxlength: '14', required: true, 'aria-describedby': 'admin-rpps-help' });
  const adminSubmit = el('button', { type: 'submit' });
  const adminForm = el(
    'form',
    { id: 'admin-form', 'aria-labelledby': 'admin-form-title', novalidate: true },
    el('h4', { id: 'admin-form-title', text: 'Choisir mon médecin administrateur' }),
    el('label', { for: 'admin-rpps', text: 'Numéro RPPS du médecin (11 chiffres)' }),
    adminInput,
    el('p', { id: 'admin-rpps-help', class: 'help', text: `${RPPS_HELP} Ce médecin doit déjà avoir consulté votre profil.` }),
    adminAlert,
    adminSubmit,
  );
  function drawAdmin() {
    const rpps = settings.administratorRpps;
    adminSubmit.textContent = rpps ? 'Changer de médecin administrateur' : 'Choisir ce médecin';
    if (!rpps) {
      adminCurrent.replaceChildren(el('p', { id: 'admin-state', text: "Vous n'avez pas choisi de médecin administrateur." }));
      return;
    }
    const remove = el('button', { type: 'button', id: 'admin-remove', 'aria-label': `Retirer ${who(rpps)} comme médecin administrateur`, text: 'Retirer ce médecin administrateur' });
    remove.addEventListener(
      'click',
      handler(alert, async () => {
        alert.textContent = '';
        const release = busy(remove);
        const ok = await patch({ administratorRpps: null }, `${who(rpps)} n'est plus votre médecin administrateur.`, "Le changement n'a pas pu être enregistré.");
        if (!ok) {
          release();
          return;
        }
        drawAdmin();
        focusOn('#admin-state');
      }),
    );
    adminCurrent.replaceChildren(el('p', { id: 'admin-state', text: `Votre médecin administrateur : ${who(rpps)}.` }), el('div', { class: 'actions' }, remove));
  }
  adminForm.addEventListener(
    'submit',
    handler(adminAlert, async (ev) => {
      ev.preventDefault();
      adminAlert.textContent = '';
      const rpps = cleanRpps(adminInput.value);
      if (!RPPS.test(rpps)) {
        adminInput.setAttribute('aria-invalid', 'true');
        adminInput.focus();
        return say(adminAlert, RPPS_INVALID);
      }
      adminInput.removeAttribute('aria-invalid');
      const release = busy(adminSubmit);
      const res = await api('PATCH', '/v1/me/access', { administratorRpps: rpps }).finally(() => {
        release();
      });
      if (res.status !== 204) return say(adminAlert, problemText(res, "Ce médecin n'a pas pu être choisi."));
      await reload();
      adminInput.value = '';
      drawAdmin();
      say(status, `C'est enregistré : ${who(rpps)} est votre médecin administrateur.`);
      adminInput.focus();
    }),
  );
  drawAdmin();
  const adminSection = el(
    'section',
    { class: 'card', 'aria-labelledby': 'admin-title' },
    el('h3', { id: 'admin-title', text: 'Mon médecin administrateur' }),
    el('p', { text: 'Ce médecin (en général votre médecin traitant) peut voir tous vos documents, même ceux que vous avez masqués.' }),
    adminCurrent,
    adminForm,
  );

  // --- blocked professionals --------------------------------------------------------------------------------
  const blockedList = el('div', { id: 'blocked-list' });
  function drawBlocked() {
    const list = [...settings.blocked].sort();
    if (!list.length) {
      blockedList.replaceChildren(el('p', { id: 'blocked-empty', class: 'empty', text: "Vous n'avez bloqué aucun professionnel." }));
      return;
    }
    blockedList.replaceChildren(
      el(
        'ul',
        { class: 'blocked', 'aria-labelledby': 'blocked-title' },
        ...list.map((rpps, i) => {
          const unblock = el('button', { type: 'button', 'aria-label': `Débloquer ${who(rpps)}`, text: 'Débloquer' });
          unblock.addEventListener(
            'click',
            handler(alert, async () => {
              alert.textContent = '';
              const release = busy(unblock);
              const res = await api('DELETE', `/v1/me/access/blocked/${encodeURIComponent(rpps)}`);
              if (res.status !== 204 && res.status !== 404) {
                release();
                return say(alert, problemText(res, "Ce professionnel n'a pas pu être débloqué."));
              }
              await reload();
              drawBlocked();
              const buttons = blockedList.querySelectorAll('button');
              if (buttons.length) buttons[Math.min(i, buttons.length - 1)].focus();
              else focusOn('#blocked-title');
              say(status, `${who(rpps)} est débloqué : il peut de nouveau voir les documents autorisés.`);
            }),
          );
          return el('li', { id: `blocked-${rpps}` }, el('span', { text: who(rpps) }), unblock);
        }),
      ),
    );
  }
  drawBlocked();
  const blockAlert = alertBox();
  const blockInput = el('input', { id: 'block-rpps', name: 'rpps', inputmode: 'numeric', autocomplete: 'off', maxlength: '14', required: true, 'aria-describedby': 'block-rpps-help' });
  const blockForm = el(
    'form',
    { id: 'block-form', 'aria-labelledby': 'block-form-title', novalidate: true },
    el('h4', { id: 'block-form-title', text: 'Bloquer un professionnel' }),
    el('label', { for: 'block-rpps', text: 'Numéro RPPS du professionnel à bloquer (11 chiffres)' }),
    blockInput,
    el('p', { id: 'block-rpps-help', class: 'help', text: RPPS_HELP }),
    blockAlert,
    el('button', { type: 'submit', text: 'Bloquer ce professionnel' }),
  );
  blockForm.addEventListener(
    'submit',
    handler(blockAlert, async (ev) => {
      ev.preventDefault();
      blockAlert.textContent = '';
      const rpps = cleanRpps(blockInput.value);
      if (!RPPS.test(rpps)) {
        blockInput.setAttribute('aria-invalid', 'true');
        blockInput.focus();
        return say(blockAlert, RPPS_INVALID);
      }
      blockInput.removeAttribute('aria-invalid');
      const res = await api('POST', '/v1/me/access/blocked', { rpps });
      if (res.status !== 204) return say(blockAlert, problemText(res, "Ce professionnel n'a pas pu être bloqué."));
      await reload();
      blockInput.value = '';
      drawBlocked();
      say(status, `${who(rpps)} est bloqué : il ne peut plus voir aucun de vos documents.`);
      blockInput.focus();
    }),
  );
  const blockedSection = el(
    'section',
    { class: 'card', 'aria-labelledby': 'blocked-title' },
    el('h3', { id: 'blocked-title', text: 'Professionnels bloqués' }),
    el('p', { text: "Un professionnel bloqué ne voit aucun de vos documents, même en cas d'urgence." }),
    blockedList,
    blockForm,
  );

  show(
    el('h2', { text: 'Qui voit quoi' }),
    el('p', { text: 'Ici, vous choisissez quels professionnels de santé peuvent consulter vos documents.' }),
    status,
    alert,
    switches,
    adminSection,
    blockedSection,
  );
}
