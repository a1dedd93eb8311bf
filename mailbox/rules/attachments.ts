/**
 * Which of the patient's documents a message of theirs may carry (`documentIds` of a reply or a new message).
 *
 * `attachableDocuments` decides from the ids asked for and the rows found among the patient's own documents
 * (looked up by id and patient, deleted ones included, so the answer can say why): every id must be a UUID,
 * name a document of this patient that the patient can see (not hidden until an announcement consultation),
 * and not be deleted. The first refusal wins, ids in the order given; duplicates count once. Another
 * patient's document is "not found", exactly like one that does not exist.
 */

import { SENTENCES } from './sentences.js';

export const DOCUMENT_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface CandidateDocument {
  id: string;
  deletedAt: Date | null;
  hiddenFromPatient: boolean;
}

export type AttachableVerdict = { ok: true; ids: string[] } | { ok: false; refusal: AttachmentRefusal; id: string; message: string };

export type AttachmentRefusal = 'invalid-id' | 'not-found' | 'deleted';

export const ATTACHMENT_REFUSALS: Readonly<Record<AttachmentRefusal, string>> = {
  'invalid-id': SENTENCES.documentIdInvalid.text,
  'not-found': SENTENCES.documentNotFound.text,
  deleted: SENTENCES.documentDeleted.text,
};

/** The ids to look up: the well-formed ones, lower-cased, once each. */
export function documentIdsToLookUp(requested: readonly string[]): string[] {
  return [...new Set(requested.filter((id) => DOCUMENT_ID_PATTERN.test(id)).map((id) => id.toLowerCase()))];
}

export function attachableDocuments(requested: readonly string[], found: readonly CandidateDocument[]): AttachableVerdict {
  const byId = new Map(found.map((d) => [d.id.toLowerCase(), d]));
  const ids: string[] = [];
  const refuse = (refusal: AttachmentRefusal, id: string): AttachableVerdict => ({ ok: false, refusal, id, message: ATTACHMENT_REFUSALS[refusal] });
  for (const raw of requested) {
    if (!DOCUMENT_ID_PATTERN.test(raw)) return refuse('invalid-id', raw);
    const id = raw.toLowerCase();
    if (ids.includes(id)) continue;
    const d = byId.get(id);
    if (!d || d.hiddenFromPatient) return refuse('not-found', raw);
    if (d.deletedAt !== null) return refuse('deleted', raw);
    ids.push(id);
  }
  return { ok: true, ids };
}
