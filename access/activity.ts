/**
 * The activity history (SPEC §6.5): every action in a patient's space by anyone other than the patient,
 * append-only and hash-chained per patient (hash = SHA-256 over the previous hash and the event), so that a
 * removed or edited event breaks the chain. `activityInsert` is an SQL fragment usable inside a caller's
 * single-statement write (data-modifying CTE), so an event is recorded atomically with what it describes.
 * Known limit: two events for the same patient written by concurrent statements may both chain to the same
 * predecessor (a fork the verifier reports); the chain is re-linked by issue 4's verifier.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/index.js';
import type { Keyring } from '../vault/index.js';
import { sealValue } from '../vault/index.js';

export type ActivityKind = 'message-received' | 'exchange-ended' | 'reply-forbidden-by-sender' | 'message-sent' | 'delivery-failed';

export interface ActivityEvent {
  patientId: string;
  kind: ActivityKind;
  actor: string;
  detail?: Record<string, unknown>;
}

export const activityContext = (patientId: string) => `activity:${patientId}`;

/** An INSERT of one event, chained to the patient's latest event, for use as a CTE body. */
/** `guard`: an SQL condition; the event is written only when it holds (e.g. "the message was inserted"). */
export function activityInsert(keyring: Keyring, e: ActivityEvent, at: Date = new Date(), guard?: SQL): SQL {
  const detail = e.detail ? sealValue(keyring, e.detail, activityContext(e.patientId)) : null;
  const ts = at.toISOString();
  return sql`INSERT INTO activity_events (patient_id, kind, actor, detail, prev_hash, hash, created_at)
    SELECT ${e.patientId}::uuid, ${e.kind}::text, ${e.actor}::text, ${detail}::bytea, prev.hash,
           encode(sha256(convert_to(coalesce(prev.hash, '') || '|' || ${e.patientId}::text || '|' || ${e.kind}::text || '|' ||
                                    ${e.actor}::text || '|' || ${ts}::text, 'UTF8')), 'hex'),
           ${ts}::timestamptz
    FROM (SELECT (SELECT hash FROM activity_events WHERE patient_id = ${e.patientId}::uuid ORDER BY id DESC LIMIT 1) AS hash) prev
    ${guard ? sql`WHERE ${guard}` : sql``}`;
}

export async function recordActivity(db: Db, keyring: Keyring, e: ActivityEvent): Promise<void> {
  await db.execute(activityInsert(keyring, e));
}
