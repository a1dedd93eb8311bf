/**
 * A patient's own note (POST /v1/me/notes): a few paragraphs kept as a plain-text document of theirs (a symptom
 * diary entry, a question for the next visit).
 *
 * Guarantees: a note with a blank title or text, or holding markup (the same rule as uploads: markup in a text
 * document is active content, vault/sniff.ts), is refused with its reason and nothing is written; otherwise its
 * bytes are stored encrypted and the document filed in one statement (fileDocument), authored by the patient.
 * Its file name is derived from the title with no path separators nor control characters.
 */
import type { Db } from '../db/index.js';
import type { BlobStore } from './blob-store.js';
import { fileDocument } from './documents.js';
import { storeBuffer } from './intake.js';
import type { Keyring } from './keyring.js';
import type { RubricId } from './rubrics.js';
import { markupIn } from './sniff.js';

/** A note is a few paragraphs. */
export const MAX_NOTE_CHARS = 10_000;

export type NoteRefusal = 'empty' | 'markup';

/** A file name for a note's title: no path separators nor control characters, bounded. */
export function noteFileName(title: string): string {
  return `${
    title
      // eslint-disable-next-line no-control-regex -- control characters are exactly what must not reach a file name
      .replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, '_')
      .trim()
      .slice(0, 100) || 'note'
  }.txt`;
}

/** Files the note, or says why not; `text` may have any line endings (kept as LF). */
export async function fileNote(
  deps: { db: Db; keyring: Keyring; blobs: BlobStore },
  note: { patientId: string; title: string; text: string; rubric: RubricId },
): Promise<{ ok: true; id: string } | { ok: false; refusal: NoteRefusal }> {
  const title = note.title.trim();
  const text = note.text.replace(/\r\n?/g, '\n');
  if (!title || !text.trim()) return { ok: false, refusal: 'empty' };
  const bytes = Buffer.from(text, 'utf8');
  if (markupIn(bytes)) return { ok: false, refusal: 'markup' };
  const stored = await storeBuffer(deps.blobs, bytes);
  const id = await fileDocument(deps.db, deps.keyring, {
    patientId: note.patientId,
    rubric: note.rubric,
    meta: { filename: noteFileName(title), title, declaredType: 'text/plain' },
    mediaType: 'text/plain',
    stored,
    authorKind: 'patient',
    authorRpps: null,
    originKind: 'upload',
  });
  return { ok: true, id };
}
