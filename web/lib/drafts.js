// Drafts of replies and new messages. Kept in sessionStorage (this tab only) so that an ended session or a
// reload loses nothing, and keyed by patient: the login records whose drafts this tab holds (a digest of the
// INS, never the INS itself), a different patient signing in on the same tab starts with no drafts (the
// previous patient's are removed, not merely hidden), and logging out removes every draft.

const PREFIX = 'mes-draft:';
const OWNER = 'mes-draft-owner';

/** A stable digest of the INS: SHA-256 where the page is a secure context, else FNV-1a (only a storage key). */
async function ownerKey(ins) {
  const data = new TextEncoder().encode(`mes-draft-owner:${ins}`);
  if (globalThis.crypto && crypto.subtle) {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
    return [...digest.slice(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join('');
  }
  let h = 0x811c9dc5;
  for (const b of data) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16);
}

/** Removes every draft of this tab, and who they belonged to. */
export function clearDrafts() {
  const keys = [];
  for (let i = 0; i < sessionStorage.length; i++) {
    const k = sessionStorage.key(i);
    if (k && (k.startsWith(PREFIX) || k === OWNER)) keys.push(k);
  }
  for (const k of keys) sessionStorage.removeItem(k);
}

/** Called at login with the patient's INS: another patient's drafts go, this patient's stay. */
export async function setDraftOwner(ins) {
  const key = await ownerKey(ins);
  if (sessionStorage.getItem(OWNER) !== key) clearDrafts();
  sessionStorage.setItem(OWNER, key);
}

/**
 * Keeps the text typed in `field` as the current patient's draft `what` (e.g. `reply:<id>`, `new`), restoring it
 * when the field is empty. Returns the function that forgets it (after sending). Without a known patient (a tab
 * opened on a session started elsewhere) nothing is stored.
 */
export function keepDraft(field, what) {
  const owner = sessionStorage.getItem(OWNER);
  if (!owner) return () => {};
  const key = `${PREFIX}${owner}:${what}`;
  const saved = sessionStorage.getItem(key);
  if (saved && !field.value) field.value = saved;
  field.addEventListener('input', () => {
    // The patient may have changed since this form was shown (logout, another login): store only for its owner.
    if (sessionStorage.getItem(OWNER) === owner) sessionStorage.setItem(key, field.value);
  });
  return () => sessionStorage.removeItem(key);
}
