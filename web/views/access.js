// « Qui voit quoi » : the patient's access settings (PATCH /v1/me/access): mask every document, allow the SAMU
// regulator, allow « bris de glace » (two separate switches, each refusable), choose the administrator doctor;
// the professionals blocked by RPPS (POST / DELETE /v1/me/access/blocked) and the establishments blocked by FINESS
// (POST / DELETE /v1/me/access/blocked-establishments). Each setting is explained in one plain sentence.
//
// Nobody should have to type an 11-digit number: the administrator doctor and the professional to block are
// picked from the professionals the patient knows (GET /v1/me/access/known-professionals: the history and the
// mail contacts the directory knows), as radio buttons; the last choice, « un autre », opens onto the RPPS field,
// which stays for anyone not in the list (typing in it selects that choice). The administrator must already have
// accessed the profile, so that list offers only professionals from the history. Names come from the same list;
// an RPPS it does not know is shown as such.
import { api } from '../lib/api.js';
import { alertBox, el, problemText, show, statusBox } from '../lib/dom.js';
import { busy, focusOn, handler, say } from './documents.js';
import { professionLabel } from './activity.js';

const RPPS = /^\d{11}$/;
const cleanRpps = (v) => v.replace(/[\s.-]+/g, '');
const RPPS_HELP = 'Le numéro RPPS compte 11 chiffres. Il figure sur les ordonnances et les courriers du professionnel, et dans la page « Historique ».';
const RPPS_INVALID = 'Le numéro RPPS doit comporter exactement 11 chiffres.';
const NONE_CHOSEN = 'Choisissez un professionnel dans la liste, ou saisissez son numéro RPPS.';
// The same reading as the server's parseFiness (access/rules/blocking.ts); the server checks again.
const FINESS = /^(?:\d{2}|2A|2B)\d{7}$/;
const cleanFiness = (v) => v.replace(/[\s.-]+/g, '').toUpperCase();
const FINESS_HELP =
  "Le numéro FINESS compte 9 caractères : des chiffres, ou 2A / 2B suivis de 7 chiffres pour la Corse. Il figure sur les courriers, les factures et le site de l'établissement.";
const FINESS_INVALID = 'Le numéro FINESS doit comporter 9 caractères : des chiffres, ou 2A / 2B suivis de 7 chiffres pour la Corse.';

export async function accessSettings() {
  const r = await api('GET', '/v1/me/access');
  if (r.status !== 200) {
    return show(el('h2', { text: 'Qui voit quoi' }), alertBox(problemText(r, 'Vos réglages ne peuvent pas être affichés pour le moment.')));
  }
  let settings = r.data;
  const k = await api('GET', '/v1/me/access/known-professionals');
  const known = k.status === 200 ? k.data.items : [];
  const names = new Map(known.map((p) => [p.rpps, p]));
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

  // --- the switches -----------------------------------------------------------------------------------------
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
    "Aucun professionnel ne pourra lire vos documents, sauf leur auteur, votre médecin administrateur et, en cas d'urgence, ceux que vous autorisez ci-dessous.",
    "C'est enregistré : tous vos documents sont masqués aux professionnels.",
    "C'est enregistré : vos documents ne sont plus tous masqués (chaque document garde son propre réglage).",
  );
  const samu = setting(
    'samu-allowed',
    'samuRegulatorAllowed',
    "Autoriser l'accès par le médecin régulateur du SAMU",
    "Quand vous appelez le 15, ou qu'on l'appelle pour vous, le médecin régulateur du SAMU pourra lire vos documents, même masqués, pour décider des secours ; il devra écrire pourquoi, et cet accès sera inscrit dans votre historique.",
    "C'est enregistré : le médecin régulateur du SAMU peut accéder à vos documents.",
    "C'est enregistré : le médecin régulateur du SAMU ne peut plus accéder à vos documents.",
  );
  const breakGlass = setting(
    'break-glass-allowed',
    'breakGlassAllowed',
    'Autoriser le bris de glace (urgence vitale)',
    'Si votre vie est en danger, un professionnel de santé qui vous soigne en urgence pourra lire vos documents, même masqués ; il devra écrire pourquoi, et cet accès sera inscrit dans votre historique.',
    "C'est enregistré : le bris de glace est autorisé.",
    "C'est enregistré : le bris de glace n'est plus autorisé.",
  );
  const switches = el('fieldset', { class: 'card settings' }, el('legend', { text: 'Mes réglages de confidentialité' }), allMasked, samu, breakGlass);

  // --- choosing a professional: the known ones, or an RPPS ---------------------------------------------------
  /**
   * Radio buttons for the professionals in `candidates()` and a last « other » choice tied to the RPPS field.
   * `value()` gives {rpps} or {error, focus}. Redrawn (`draw()`) when the candidates change.
   */
  function professionalPicker(prefix, { legend, other, fieldLabel, help, candidates }) {
    const input = el('input', {
      id: `${prefix}-rpps`,
      name: 'rpps',
      inputmode: 'numeric',
      autocomplete: 'off',
      maxlength: '14',
      required: true,
      'aria-describedby': `${prefix}-rpps-help`,
    });
    const otherRadio = el('input', { type: 'radio', name: `${prefix}-choice`, id: `${prefix}-other`, value: '' });
    const list = el('div', { class: 'doc-picker-list' });
    const fieldset = el('fieldset', { class: 'doc-picker', id: `${prefix}-pick` }, el('legend', { text: legend }), list);
    const wrap = el('div', {});
    input.addEventListener('input', () => {
      if (input.value) otherRadio.checked = true;
    });
    function draw() {
      const people = candidates();
      otherRadio.checked = false;
      if (!people.length)
        return wrap.replaceChildren(el('label', { for: input.id, text: fieldLabel }), input, el('p', { id: `${prefix}-rpps-help`, class: 'help', text: help }));
      list.replaceChildren(
        ...people.map((p) => {
          const radio = el('input', { type: 'radio', name: `${prefix}-choice`, value: p.rpps });
          radio.addEventListener('change', () => {
            input.value = '';
            input.removeAttribute('aria-invalid');
          });
          const seen = p.source === 'history' ? 'a consulté votre profil' : 'vous a écrit';
          return el('label', { class: 'check' }, radio, `${who(p.rpps)}${p.organisation ? ` — ${p.organisation}` : ''} (${seen})`);
        }),
        el('label', { class: 'check', for: otherRadio.id }, otherRadio, other),
      );
      wrap.replaceChildren(
        fieldset,
        el('label', { for: input.id, text: fieldLabel }),
        input,
        el('p', { id: `${prefix}-rpps-help`, class: 'help', text: help }),
      );
    }
    function value() {
      const picked = fieldset.isConnected ? fieldset.querySelector(`input[name="${prefix}-choice"]:checked`) : null;
      if (picked && picked.value) return { rpps: picked.value };
      const rpps = cleanRpps(input.value);
      if (!rpps && !picked && fieldset.isConnected) return { error: NONE_CHOSEN, focus: fieldset.querySelector('input') };
      if (!RPPS.test(rpps)) {
        input.setAttribute('aria-invalid', 'true');
        return { error: RPPS_INVALID, focus: input };
      }
      input.removeAttribute('aria-invalid');
      return { rpps };
    }
    return { element: wrap, input, draw, value, clear: () => (input.value = '') };
  }

  // --- the administrator doctor -----------------------------------------------------------------------------
  const adminCurrent = el('div', { id: 'admin-current' });
  const adminAlert = alertBox();
  const adminSubmit = el('button', { type: 'submit' });
  const adminPicker = professionalPicker('admin', {
    legend: 'Parmi les professionnels qui ont déjà consulté votre profil',
    other: 'Un autre médecin : je saisis son numéro RPPS',
    fieldLabel: 'Numéro RPPS du médecin (11 chiffres)',
    help: `${RPPS_HELP} Ce médecin doit déjà avoir consulté votre profil.`,
    // a blocked professional sees nothing, administrator or not: not offered
    candidates: () => known.filter((p) => p.source === 'history' && p.rpps !== settings.administratorRpps && !settings.blocked.includes(p.rpps)),
  });
  const adminForm = el(
    'form',
    { id: 'admin-form', 'aria-labelledby': 'admin-form-title', novalidate: true },
    el('h4', { id: 'admin-form-title', text: 'Choisir mon médecin administrateur' }),
    adminPicker.element,
    adminAlert,
    adminSubmit,
  );
  function drawAdmin() {
    const rpps = settings.administratorRpps;
    adminPicker.draw();
    adminSubmit.textContent = rpps ? 'Changer de médecin administrateur' : 'Choisir ce médecin';
    if (!rpps) {
      adminCurrent.replaceChildren(el('p', { id: 'admin-state', text: "Vous n'avez pas choisi de médecin administrateur." }));
      return;
    }
    const remove = el('button', {
      type: 'button',
      id: 'admin-remove',
      'aria-label': `Retirer ${who(rpps)} comme médecin administrateur`,
      text: 'Retirer ce médecin administrateur',
    });
    remove.addEventListener(
      'click',
      handler(alert, async () => {
        alert.textContent = '';
        const release = busy(remove);
        const ok = await patch(
          { administratorRpps: null },
          `${who(rpps)} n'est plus votre médecin administrateur.`,
          "Le changement n'a pas pu être enregistré.",
        );
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
      const chosen = adminPicker.value();
      if (chosen.error) {
        chosen.focus.focus();
        return say(adminAlert, chosen.error);
      }
      const release = busy(adminSubmit);
      const res = await api('PATCH', '/v1/me/access', { administratorRpps: chosen.rpps }).finally(() => {
        release();
      });
      if (res.status !== 204) return say(adminAlert, problemText(res, "Ce médecin n'a pas pu être choisi."));
      await reload();
      adminPicker.clear();
      drawAdmin();
      say(status, `C'est enregistré : ${who(chosen.rpps)} est votre médecin administrateur.`);
      adminPicker.input.focus();
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
  const blockAlert = alertBox();
  const blockPicker = professionalPicker('block', {
    legend: 'Parmi les professionnels que vous connaissez',
    other: 'Un autre professionnel : je saisis son numéro RPPS',
    fieldLabel: 'Numéro RPPS du professionnel à bloquer (11 chiffres)',
    help: RPPS_HELP,
    candidates: () => known.filter((p) => !settings.blocked.includes(p.rpps)),
  });
  function drawBlocked() {
    blockPicker.draw();
    adminPicker.draw();
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
  const blockSubmit = el('button', { type: 'submit', text: 'Bloquer ce professionnel' });
  const blockForm = el(
    'form',
    { id: 'block-form', 'aria-labelledby': 'block-form-title', novalidate: true },
    el('h4', { id: 'block-form-title', text: 'Bloquer un professionnel' }),
    blockPicker.element,
    blockAlert,
    blockSubmit,
  );
  blockForm.addEventListener(
    'submit',
    handler(blockAlert, async (ev) => {
      ev.preventDefault();
      blockAlert.textContent = '';
      const chosen = blockPicker.value();
      if (chosen.error) {
        chosen.focus.focus();
        return say(blockAlert, chosen.error);
      }
      const res = await api('POST', '/v1/me/access/blocked', { rpps: chosen.rpps });
      if (res.status !== 204) return say(blockAlert, problemText(res, "Ce professionnel n'a pas pu être bloqué."));
      await reload();
      blockPicker.clear();
      drawBlocked();
      say(status, `${who(chosen.rpps)} est bloqué : il ne peut plus voir aucun de vos documents.`);
      blockPicker.input.focus();
    }),
  );
  drawBlocked();
  const blockedSection = el(
    'section',
    { class: 'card', 'aria-labelledby': 'blocked-title' },
    el('h3', { id: 'blocked-title', text: 'Professionnels bloqués' }),
    el('p', { text: "Un professionnel bloqué ne voit aucun de vos documents, même en cas d'urgence." }),
    blockedList,
    blockForm,
  );

  // --- blocked establishments -------------------------------------------------------------------------------
  const establishmentList = el('div', { id: 'blocked-establishments-list' });
  const establishmentLabel = (finess) => `l'établissement FINESS ${finess}`;
  function drawEstablishments() {
    const list = [...settings.blockedEstablishments].sort();
    if (!list.length) {
      establishmentList.replaceChildren(el('p', { id: 'blocked-establishments-empty', class: 'empty', text: "Vous n'avez bloqué aucun établissement." }));
      return;
    }
    establishmentList.replaceChildren(
      el(
        'ul',
        { class: 'blocked', 'aria-labelledby': 'establishments-title' },
        ...list.map((finess, i) => {
          const unblock = el('button', { type: 'button', 'aria-label': `Débloquer ${establishmentLabel(finess)}`, text: 'Débloquer' });
          unblock.addEventListener(
            'click',
            handler(alert, async () => {
              alert.textContent = '';
              const release = busy(unblock);
              const res = await api('DELETE', `/v1/me/access/blocked-establishments/${encodeURIComponent(finess)}`);
              if (res.status !== 204 && res.status !== 404) {
                release();
                return say(alert, problemText(res, "Cet établissement n'a pas pu être débloqué."));
              }
              await reload();
              drawEstablishments();
              const buttons = establishmentList.querySelectorAll('button');
              if (buttons.length) buttons[Math.min(i, buttons.length - 1)].focus();
              else focusOn('#establishments-title');
              say(status, `L'établissement FINESS ${finess} est débloqué : ses professionnels peuvent de nouveau voir les documents autorisés.`);
            }),
          );
          return el('li', { id: `blocked-establishment-${finess}` }, el('span', { text: `Établissement FINESS ${finess}` }), unblock);
        }),
      ),
    );
  }
  drawEstablishments();
  const finessAlert = alertBox();
  const finessInput = el('input', {
    id: 'block-finess',
    name: 'finess',
    autocomplete: 'off',
    maxlength: '14',
    required: true,
    'aria-describedby': 'block-finess-help',
  });
  const finessForm = el(
    'form',
    { id: 'block-establishment-form', 'aria-labelledby': 'block-establishment-title', novalidate: true },
    el('h4', { id: 'block-establishment-title', text: 'Bloquer un établissement' }),
    el('label', { for: 'block-finess', text: "Numéro FINESS de l'établissement à bloquer (9 caractères)" }),
    finessInput,
    el('p', { id: 'block-finess-help', class: 'help', text: FINESS_HELP }),
    finessAlert,
    el('button', { type: 'submit', text: 'Bloquer cet établissement' }),
  );
  finessForm.addEventListener(
    'submit',
    handler(finessAlert, async (ev) => {
      ev.preventDefault();
      finessAlert.textContent = '';
      const finess = cleanFiness(finessInput.value);
      if (!FINESS.test(finess)) {
        finessInput.setAttribute('aria-invalid', 'true');
        finessInput.focus();
        return say(finessAlert, FINESS_INVALID);
      }
      finessInput.removeAttribute('aria-invalid');
      const res = await api('POST', '/v1/me/access/blocked-establishments', { finess });
      if (res.status !== 204) return say(finessAlert, problemText(res, "Cet établissement n'a pas pu être bloqué."));
      await reload();
      finessInput.value = '';
      drawEstablishments();
      say(status, `L'établissement FINESS ${finess} est bloqué : aucun de ses professionnels ne peut plus voir vos documents.`);
      finessInput.focus();
    }),
  );
  const establishmentsSection = el(
    'section',
    { class: 'card', 'aria-labelledby': 'establishments-title' },
    el('h3', { id: 'establishments-title', text: 'Établissements bloqués' }),
    el('p', {
      text: "Bloquer un établissement (hôpital, clinique, laboratoire…) empêche tous les professionnels qui y travaillent de voir vos documents, même en cas d'urgence.",
    }),
    establishmentList,
    finessForm,
  );

  show(
    el('h2', { text: 'Qui voit quoi' }),
    el('p', { text: 'Ici, vous choisissez quels professionnels de santé peuvent consulter vos documents.' }),
    status,
    alert,
    switches,
    adminSection,
    blockedSection,
    establishmentsSection,
  );
}
