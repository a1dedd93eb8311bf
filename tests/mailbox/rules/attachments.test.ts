// attachableDocuments: which documentIds a patient's message may carry, decided from the rows found among the
// patient's own documents (deleted ones included).
import { describe, expect, it } from 'vitest';
import { attachableDocuments, documentIdsToLookUp } from '../../../mailbox/rules/index.js';

const ID1 = '0b0c5f6e-1d2a-4c3b-9e8f-7a6b5c4d3e2f';
const ID2 = '1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b';
const live = (id: string) => ({ id, deletedAt: null, hiddenFromPatient: false });

describe('attachableDocuments', () => {
  it('accepts visible, undeleted documents of the patient, once each whatever the case', () => {
    expect(attachableDocuments([ID1, ID2, ID1.toUpperCase()], [live(ID1), live(ID2)])).toEqual({ ok: true, ids: [ID1, ID2] });
    expect(attachableDocuments([], [])).toEqual({ ok: true, ids: [] });
  });

  it('refuses a malformed id before looking anything up', () => {
    for (const bad of ['', 'abc', `${ID1}x`, ID1.replace(/-/g, ''), "' OR 1=1 --"]) {
      expect(attachableDocuments([bad], [live(ID1)])).toMatchObject({
        ok: false,
        refusal: 'invalid-id',
        id: bad,
        message: 'Identifiant de document invalide.',
      });
    }
    expect(documentIdsToLookUp(['abc', ID1, ID1.toUpperCase()])).toEqual([ID1]);
  });

  it("refuses a document not found among the patient's (another patient's) and a hidden one alike", () => {
    expect(attachableDocuments([ID1, ID2], [live(ID1)])).toMatchObject({ ok: false, refusal: 'not-found', id: ID2, message: 'Document introuvable.' });
    expect(attachableDocuments([ID1], [{ ...live(ID1), hiddenFromPatient: true }])).toMatchObject({ ok: false, refusal: 'not-found' });
  });

  it('refuses a deleted document with its own reason, the first refusal in the order given winning', () => {
    const deleted = { ...live(ID2), deletedAt: new Date('2026-01-01T00:00:00Z') };
    expect(attachableDocuments([ID1, ID2], [live(ID1), deleted])).toMatchObject({
      ok: false,
      refusal: 'deleted',
      id: ID2,
      message: expect.stringMatching(/supprimé/),
    });
    expect(attachableDocuments(['bad', ID2], [deleted])).toMatchObject({ refusal: 'invalid-id' });
  });
});
