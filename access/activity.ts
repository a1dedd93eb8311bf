/**
 * The activity history (SPEC §6.5): every action in a patient's space by anyone other than the patient,
 * append-only and hash-chained per patient.
 *
 * Writing and sealing are separate so that the chain stays linear under concurrency: `activityInsert` is an
 * SQL fragment that a caller puts in its own single-statement write (the event is recorded atomically with
 * what it describes), unsealed; the chainer (`sealActivity`, one at a time across processes thanks to a
 * transaction-level advisory lock) then gives each unsealed event, in id order, its position in the patient's
 * chain and hash = SHA-256(previous hash | patient | kind | actor | time | SHA-256(sealed detail)). Concurrent
 * writers therefore never fork the chain; an event is sealed within a second or so. With each seal the chainer
 * signs the patient's chain head (position and hash) with an HMAC key derived from the master key, which is not
 * in the database (`activity_heads`). `verifyActivityChain` recomputes a patient's chain, reports the first
 * broken link, and checks the signed head: a chain cut at its end, or rewritten and re-hashed whole by someone
 * with write access to the database, no longer matches it. The table itself refuses UPDATE (but sealing and a
 * key rotation's re-wrap), DELETE and TRUNCATE (migration 0009).
 */
import crypto from 'node:crypto';
import { and, asc, eq, isNotNull, isNull, sql, type SQL } from 'drizzle-orm';
import { type Db, schema, rowsOf } from '../db/index.js';
import { type Keyring, openValue, sealedBody, sealValue } from '../vault/index.js';

import { ACTIVITY_KINDS, type ActivityActorKind, type ActivityKind } from './rules/activity-kinds.js';

export { ACTIVITY_KINDS, type ActivityKind };

export interface ActivityEvent {
  patientId: string;
  kind: ActivityKind;
  /** A professional's address or RPPS, or 'system'. */
  actor: string;
  actorKind?: ActivityActorKind;
  actorRpps?: string | null;
  documentId?: string | null;
  /** Sealed: display name, profession, justification of an emergency access... */
  detail?: Record<string, unknown>;
}

export const activityContext = (patientId: string) => `activity:${patientId}`;
const CHAINER_LOCK = 7_264_201_777; // arbitrary constant: one chainer at a time across processes

/**
 * An INSERT of one unsealed event, for use as a CTE body. `guard`: an SQL condition; the event is written only
 * when it holds (e.g. "the message was inserted"). `documentIdExpr`: the document id as an SQL expression, for a
 * document inserted by the same statement (e.g. `(SELECT id FROM doc)`).
 */
export function activityInsert(keyring: Keyring, e: ActivityEvent, at: Date = new Date(), guard?: SQL, documentIdExpr?: SQL): SQL {
  const detail = e.detail ? sealValue(keyring, e.detail, activityContext(e.patientId)) : null;
  return sql`INSERT INTO activity_events (patient_id, kind, actor, actor_kind, actor_rpps, document_id, detail, created_at)
    SELECT ${e.patientId}::uuid, ${e.kind}::text, ${e.actor}::text, ${e.actorKind ?? 'professional'}::text, ${e.actorRpps ?? null}::text,
           ${documentIdExpr ?? sql`${e.documentId ?? null}::uuid`}, ${detail}::bytea, ${at.toISOString()}::timestamptz
    ${guard ? sql`WHERE ${guard}` : sql``}`;
}

export async function recordActivity(db: Db, keyring: Keyring, e: ActivityEvent): Promise<void> {
  await db.execute(activityInsert(keyring, e));
}

export function activityHash(
  prev: string | null,
  e: {
    patientId: string;
    kind: string;
    actor: string;
    actorKind: string;
    actorRpps: string | null;
    documentId: string | null;
    createdAt: Date;
    detail: Buffer | null;
  },
): string {
  // Over the encrypted body only: a master-key rotation re-wraps the data key (the header) and must not break
  // the chain, while any change to the content still does.
  const detailDigest = e.detail ? crypto.createHash('sha256').update(sealedBody(e.detail)).digest('hex') : '';
  // actor kind, RPPS and document are bound too, so that none of them can be rewritten unnoticed
  return crypto
    .createHash('sha256')
    .update(
      `${prev ?? ''}|${e.patientId}|${e.kind}|${e.actor}|${e.actorKind}|${e.actorRpps ?? ''}|${e.documentId ?? ''}|${e.createdAt.toISOString()}|${detailDigest}`,
    )
    .digest('hex');
}

const HEAD_MAC_LABEL = 'activity head';

/** The signature of a patient's chain head (HMAC-SHA256 with a key derived from a master key). */
export function headMac(keyring: Keyring, head: { patientId: string; chainSeq: number; hash: string }, keyId?: string): { keyId: string; mac: string } {
  const k = keyring.derive(HEAD_MAC_LABEL, keyId);
  return { keyId: k.id, mac: crypto.createHmac('sha256', k.key).update(`${head.patientId}|${head.chainSeq}|${head.hash}`).digest('hex') };
}

/** Signs `heads` (upserted into activity_heads), in the caller's transaction. */
async function signHeads(tx: Pick<Db, 'execute'>, keyring: Keyring, heads: { patientId: string; chainSeq: number; hash: string }[]): Promise<void> {
  if (heads.length === 0) return;
  const macs = heads.map((h) => headMac(keyring, h));
  await tx.execute(sql`INSERT INTO activity_heads (patient_id, chain_seq, hash, mac, key_id)
                       SELECT * FROM unnest(${sql.param(heads.map((h) => h.patientId))}::uuid[], ${sql.param(heads.map((h) => h.chainSeq))}::int[],
                                            ${sql.param(heads.map((h) => h.hash))}::text[], ${sql.param(macs.map((m) => m.mac))}::text[],
                                            ${sql.param(macs.map((m) => m.keyId))}::text[])
                       ON CONFLICT (patient_id) DO UPDATE SET chain_seq = excluded.chain_seq, hash = excluded.hash, mac = excluded.mac, key_id = excluded.key_id`);
}

/**
 * Seals unsealed events (oldest id first) and signs the new heads; returns how many events. Safe to run from
 * several processes. A batch costs a fixed number of statements whatever its size: the pending events, the
 * chain heads of their patients, one UPDATE of every sealed event (the hashes are computed here, in id order)
 * and one upsert of the signed heads. Chains sealed before heads were signed get their head signed here too,
 * a few hundred patients per call (trusted as they stand at that moment).
 */
export async function sealActivity(db: Db, keyring: Keyring, batch = 500): Promise<number> {
  const ev = schema.activityEvents;
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${CHAINER_LOCK})`);
    const pending = await tx.select().from(ev).where(isNull(ev.hash)).orderBy(asc(ev.id)).limit(batch);
    if (pending.length === 0) {
      const unsigned = rowsOf<{ patient_id: string; hash: string; chain_seq: number }>(
        await tx.execute(sql`SELECT DISTINCT ON (a.patient_id) a.patient_id, a.hash, a.chain_seq FROM activity_events a
                             WHERE a.hash IS NOT NULL AND NOT EXISTS (SELECT 1 FROM activity_heads h WHERE h.patient_id = a.patient_id)
                             ORDER BY a.patient_id, a.chain_seq DESC LIMIT ${batch}`),
      );
      await signHeads(
        tx,
        keyring,
        unsigned.map((r) => ({ patientId: r.patient_id, chainSeq: Number(r.chain_seq), hash: r.hash })),
      );
      return 0;
    }
    const patients = [...new Set(pending.map((e) => e.patientId))];
    const headRows = rowsOf<{ patient_id: string; hash: string; chain_seq: number }>(
      await tx.execute(sql`SELECT DISTINCT ON (patient_id) patient_id, hash, chain_seq FROM activity_events
                           WHERE patient_id = ANY(${sql.param(patients)}::uuid[]) AND hash IS NOT NULL ORDER BY patient_id, chain_seq DESC`),
    );
    const heads = new Map<string, { hash: string | null; seq: number }>(headRows.map((r) => [r.patient_id, { hash: r.hash, seq: Number(r.chain_seq) }]));
    const ids: number[] = [];
    const seqs: number[] = [];
    const prevs: (string | null)[] = [];
    const hashes: string[] = [];
    for (const e of pending) {
      const head = heads.get(e.patientId) ?? { hash: null, seq: 0 };
      const hash = activityHash(head.hash, e);
      ids.push(e.id);
      seqs.push(head.seq + 1);
      prevs.push(head.hash);
      hashes.push(hash);
      heads.set(e.patientId, { hash, seq: head.seq + 1 });
    }
    await tx.execute(sql`UPDATE activity_events AS a SET chain_seq = v.seq, prev_hash = v.prev, hash = v.hash
                         FROM unnest(${sql.param(ids)}::bigint[], ${sql.param(seqs)}::int[], ${sql.param(prevs)}::text[], ${sql.param(hashes)}::text[]) AS v(id, seq, prev, hash)
                         WHERE a.id = v.id`);
    await signHeads(
      tx,
      keyring,
      patients.map((patientId) => ({ patientId, chainSeq: heads.get(patientId)!.seq, hash: heads.get(patientId)!.hash! })),
    );
    return pending.length;
  });
}

/**
 * After a master-key rotation: re-signs with the current key every chain head signed with an older one, once its
 * old signature has been checked (a head that does not verify stays unverifiable: a rotation never launders a
 * forged head). Returns how many were re-signed, and how many did not verify.
 */
export async function resignActivityHeads(db: Db, keyring: Keyring): Promise<{ resigned: number; unverified: number }> {
  const h = schema.activityHeads;
  const rows = await db
    .select()
    .from(h)
    .where(sql`${h.keyId} <> ${keyring.current.id}`);
  const good: { patientId: string; chainSeq: number; hash: string }[] = [];
  let unverified = 0;
  for (const r of rows) {
    let ok = false;
    try {
      ok = headMac(keyring, r, r.keyId).mac === r.mac;
    } catch {
      ok = false;
    }
    if (ok) good.push(r);
    else unverified++;
  }
  await db.transaction((tx) => signHeads(tx, keyring, good));
  return { resigned: good.length, unverified };
}

/**
 * Recomputes a patient's sealed chain; returns null when intact, else the chain position that breaks. A chain
 * whose links hold but whose end does not match its signed head (cut, or rewritten whole) breaks at the position
 * after the last event that agrees with the head (its length + 1 when events were cut off).
 */
export async function verifyActivityChain(db: Db, keyring: Keyring, patientId: string): Promise<number | null> {
  const ev = schema.activityEvents;
  const rows = await db
    .select()
    .from(ev)
    .where(and(eq(ev.patientId, patientId), isNotNull(ev.hash)))
    .orderBy(asc(ev.chainSeq));
  let prev: string | null = null;
  for (const [i, r] of rows.entries()) {
    if (r.chainSeq !== i + 1 || r.prevHash !== prev || r.hash !== activityHash(prev, r)) return i + 1;
    prev = r.hash;
  }
  const [head] = await db.select().from(schema.activityHeads).where(eq(schema.activityHeads.patientId, patientId));
  if (!head) return rows.length === 0 ? null : 1; // events without a signed head: nothing vouches for them
  let expected: string;
  try {
    expected = headMac(keyring, head, head.keyId).mac;
  } catch {
    return 1; // signed with a key this keyring does not hold
  }
  const macOk = head.mac.length === expected.length && crypto.timingSafeEqual(Buffer.from(head.mac), Buffer.from(expected));
  if (!macOk) return 1;
  if (head.chainSeq !== rows.length) return Math.min(head.chainSeq, rows.length) + 1;
  if (head.hash !== prev) return rows.length;
  return null;
}

/**
 * A pending notification for the patient, as a CTE body (grouped by the dispatcher's window), for whatever the
 * patient is told about: a delivered message, a professional's document or action. It records no kind: the
 * dispatcher reads what happened since the last notice from the tables themselves. A notification already
 * pending is left untouched, not even locked: the messages of a batch for one patient neither rewrite its row
 * nor wait for each other on it. (An event committed while the dispatcher claims the pending notice is left out
 * of that notice's sentences; it stays in the history.)
 */
export function notifyPatientCte(patientId: string, guard?: SQL): SQL {
  return sql`INSERT INTO notification_state (patient_id, pending_since) SELECT ${patientId}::uuid, now()
    WHERE ${guard ?? sql`true`} AND NOT EXISTS (SELECT 1 FROM notification_state WHERE patient_id = ${patientId}::uuid AND pending_since IS NOT NULL)
    ON CONFLICT (patient_id) DO UPDATE SET pending_since = now() WHERE notification_state.pending_since IS NULL`;
}

export interface ActivityItem {
  at: string;
  actor: { kind: string; rpps: string | null; displayName: string; profession: string | null; organisation: string | null };
  action: string;
  documentId: string | null;
  reason: string | null;
  /** The professional's written justification of an emergency access. */
  justification: string | null;
}

/** The patient's activity history, newest first (what professionals and the system did). */
export async function listActivity(
  db: Db,
  keyring: Keyring,
  patientId: string,
  opts: { cursor?: string; limit: number },
): Promise<{ items: ActivityItem[]; next: string | null }> {
  const ev = schema.activityEvents;
  const before = opts.cursor && /^\d+$/.test(opts.cursor) ? Number(opts.cursor) : null;
  // Events about a document still hidden from the patient (before its announcement) are not shown yet.
  const notHidden = sql`(${ev.documentId} IS NULL OR NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = ${ev.documentId} AND d.hidden_from_patient))`;
  const rows = await db
    .select()
    .from(ev)
    .where(before ? and(eq(ev.patientId, patientId), sql`${ev.id} < ${before}`, notHidden) : and(eq(ev.patientId, patientId), notHidden))
    .orderBy(sql`${ev.id} DESC`)
    .limit(opts.limit + 1);
  const page = rows.slice(0, opts.limit);
  const items = page.map((r) => {
    const d = r.detail ? openValue<Record<string, unknown>>(keyring, r.detail, activityContext(patientId)) : {};
    return {
      at: r.createdAt.toISOString(),
      actor: {
        kind: r.actorKind,
        rpps: r.actorRpps,
        displayName: typeof d.displayName === 'string' ? d.displayName : r.actorKind === 'system' ? 'Mon espace santé' : 'Professionnel de santé',
        profession: typeof d.profession === 'string' ? d.profession : null,
        organisation: typeof d.organisation === 'string' ? d.organisation : null,
      },
      action: r.kind,
      documentId: r.documentId,
      reason: typeof d.reason === 'string' ? d.reason : null,
      justification: typeof d.justification === 'string' && d.justification ? d.justification : null,
    };
  });
  const last = page[page.length - 1];
  return { items, next: rows.length > opts.limit && last ? String(last.id) : null };
}
