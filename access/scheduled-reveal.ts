/**
 * Revealing a document hidden from the patient (SPEC §5, the announcement consultation): by its author at any
 * time, or by itself at the date its author chose (`reveal_at`, checked by `revealDate` in rules/reveal.ts).
 *
 * Guarantees:
 * - One statement per document: it becomes visible, replaces the version it was hiding behind, the patient is
 *   notified ("un nouveau document") and the history records the reveal, all together or not at all.
 * - Idempotent and safe with several workers: the update is guarded by `hidden_from_patient`, and the
 *   notification and history rows are written only when that update touched the row, so a document revealed
 *   twice (its author and the date, or two workers) is announced and recorded once.
 * - `revealDueDocuments` takes at most `batch` due documents per run, oldest date first; what is left waits for
 *   the next run (LIMIT_LIFECYCLE_CHECK_MS). A failing document is logged by the caller and retried next run.
 */
import { sql, type SQL } from 'drizzle-orm';
import { cteStatement, type Cte, type Db, rowsOf } from '../db/index.js';
import type { Keyring } from '../vault/index.js';
import { activityInsert, notifyPatientCte, type ActivityEvent } from './activity.js';

/** The CTEs that reveal one document and record it with `event` (whose kind is 'document-revealed'). */
export function revealCtes(keyring: Keyring, patientId: string, documentId: string, event: ActivityEvent, due?: SQL): Cte[] {
  const done = sql`EXISTS (SELECT 1 FROM up)`;
  return [
    [
      'up',
      sql`UPDATE documents SET hidden_from_patient = false, reveal_at = NULL WHERE id = ${documentId} AND hidden_from_patient AND deleted_at IS NULL ${due ? sql`AND ${due}` : sql``} RETURNING id, previous_version_id`,
    ],
    ['sv', sql`UPDATE documents SET superseded_at = now() WHERE id = (SELECT previous_version_id FROM up) AND superseded_at IS NULL`],
    ['np', notifyPatientCte(patientId, done)],
    ['ae', activityInsert(keyring, event, new Date(), done)],
  ];
}

/** Reveals the hidden documents whose date has come; returns how many were revealed. */
export async function revealDueDocuments(deps: { db: Db; keyring: Keyring }, now: Date = new Date(), batch = 100): Promise<number> {
  const due = rowsOf<{ id: string; patient_id: string }>(
    await deps.db.execute(
      sql`SELECT id, patient_id FROM documents WHERE reveal_at IS NOT NULL AND reveal_at <= ${now.toISOString()}::timestamptz AND hidden_from_patient AND deleted_at IS NULL ORDER BY reveal_at LIMIT ${batch}`,
    ),
  );
  let revealed = 0;
  for (const d of due) {
    const event: ActivityEvent = {
      patientId: d.patient_id,
      kind: 'document-revealed',
      actor: 'system',
      actorKind: 'system',
      actorRpps: null,
      documentId: d.id,
      detail: { displayName: 'Mon espace santé', reason: 'Document rendu visible à la date choisie par son auteur' },
    };
    const r = rowsOf<{ n: number }>(
      await deps.db.execute(
        cteStatement(
          revealCtes(deps.keyring, d.patient_id, d.id, event, sql`reveal_at <= ${now.toISOString()}::timestamptz`),
          sql`SELECT count(*)::int AS n FROM up`,
        ),
      ),
    );
    revealed += r[0]?.n ?? 0;
  }
  return revealed;
}
