/**
 * Processing of a batch of deliveries (one job: up to a few of one sender's deliveries, see
 * mailbox/rules/scheduling.ts), with the round trips and commits of one:
 * - one query reads every delivery of the batch, its message, patient, raw blob header and first chunk;
 * - each queued delivery is prepared (deliver-inbound.ts, one at a time: the parse is CPU-bound, and one 25 MB
 *   message in memory at a time per job); recipients of one message share one parse, scan and inflate, and
 *   then one blob per attachment, written before the statements that reference it;
 * - one statement commits them all (their CTEs side by side), in waves of distinct patients (two deliveries
 *   of one patient would upsert the same contact and notification rows twice in one statement).
 *
 * Guarantees, unchanged from one delivery: idempotent by delivery id (a delivery not `queued` is skipped; the
 * mailbox message's delivery_id is unique), all-or-nothing per statement, and a retry after a crash anywhere
 * duplicates nothing. A delivery that fails permanently is reported as such and does not hold the others back;
 * one that fails temporarily is reported too, the others are committed, and the caller retries the batch
 * (only what is still queued is done again). If a combined statement fails, each delivery of it is committed
 * alone, so one bad row cannot block its neighbours.
 */
import { sql } from 'drizzle-orm';
import { cteStatement, executePrepared } from '../db/index.js';
import { MessageParses, prepareDelivery, type DeliverDeps, type DeliverOutcome, type DeliveryRow, type DeliveryWrite } from './deliver-inbound.js';

export type BatchResult = Map<string, DeliverOutcome | Error>;

interface RowOut {
  id: string;
  status: string;
  patient_id: string;
  message_id: string;
  received_at: Date;
  mail_from: string;
  ins: string;
  blob_id: string;
  wrapped_key: Buffer;
  key_id: string;
  chunk_count: number;
  complete: boolean;
  first_chunk: Buffer | null;
}

async function readDeliveries(deps: DeliverDeps, ids: string[]): Promise<DeliveryRow[]> {
  const rows = await deps.blobs.query<RowOut>(
    `SELECT d.id::text, d.status, d.patient_id::text, d.message_id::text, m.received_at, m.mail_from, p.ins,
            b.id::text AS blob_id, b.wrapped_key, b.key_id, b.chunk_count, b.complete, c.data AS first_chunk
       FROM deliveries d
       JOIN inbound_messages m ON m.id = d.message_id
       JOIN patients p ON p.id = d.patient_id
       JOIN blobs b ON b.id = m.raw_blob_id
       LEFT JOIN blob_chunks c ON c.blob_id = b.id AND c.seq = 0 AND d.status = 'queued'
      WHERE d.id = ANY($1::uuid[])`,
    [ids],
  );
  return rows.map((r) => ({
    id: r.id,
    status: r.status,
    patientId: r.patient_id,
    messageId: r.message_id,
    receivedAt: r.received_at,
    mailFrom: r.mail_from,
    ins: r.ins,
    raw: { blobId: r.blob_id, wrappedKey: r.wrapped_key, keyId: r.key_id, chunkCount: r.chunk_count, complete: r.complete },
    firstChunk: r.first_chunk,
  }));
}

/** Commits writes in one statement; returns, per write, whether it was written by this call. */
async function commit(deps: DeliverDeps, writes: DeliveryWrite[]): Promise<boolean[]> {
  const counts = sql.join(
    writes.map((w) => sql`(SELECT count(*)::int FROM ${sql.raw(w.countCte)})`),
    sql`, `,
  );
  const [r] = await executePrepared<{ n: number[] }>(
    deps.db,
    cteStatement(
      writes.flatMap((w) => w.ctes),
      sql`SELECT ARRAY[${counts}] AS n`,
    ),
  );
  return writes.map((_, i) => Number(r?.n[i] ?? 0) > 0);
}

/** Waves of writes in which every patient appears at most once, in order. */
function waves(writes: DeliveryWrite[]): DeliveryWrite[][] {
  const out: { patients: Set<string>; writes: DeliveryWrite[] }[] = [];
  for (const w of writes) {
    let wave = out.find((x) => !x.patients.has(w.patientId));
    if (!wave) out.push((wave = { patients: new Set(), writes: [] }));
    wave.patients.add(w.patientId);
    wave.writes.push(w);
  }
  return out.map((x) => x.writes);
}

export async function deliverBatch(deps: DeliverDeps, deliveryIds: string[]): Promise<BatchResult> {
  const result: BatchResult = new Map();
  const rows = new Map((await readDeliveries(deps, deliveryIds)).map((r) => [r.id, r]));
  const recipients = new Map<string, number>();
  for (const r of rows.values()) if (r.status === 'queued') recipients.set(r.messageId, (recipients.get(r.messageId) ?? 0) + 1);
  const parses = new MessageParses(deps, recipients);
  const writes: DeliveryWrite[] = [];
  for (const [k, id] of deliveryIds.entries()) {
    const row = rows.get(id);
    if (!row)
      result.set(id, 'skipped'); // a job whose delivery does not exist (another deployment's queue?)
    else if (row.status !== 'queued') result.set(id, row.status === 'failed' ? 'skipped' : 'already-delivered');
    else {
      try {
        writes.push(await prepareDelivery(deps, row, `x${k}_`, parses));
      } catch (err) {
        result.set(id, err as Error);
      }
    }
  }
  for (const wave of waves(writes)) {
    let written: boolean[];
    try {
      written = await commit(deps, wave);
    } catch (err) {
      if (wave.length === 1) {
        result.set(wave[0]!.deliveryId, err as Error);
        continue;
      }
      written = [];
      for (const w of wave)
        written.push(
          await commit(deps, [w]).then(
            ([x]) => x!,
            (e: Error) => (result.set(w.deliveryId, e), false),
          ),
        );
    }
    for (const [i, w] of wave.entries()) {
      if (result.get(w.deliveryId) instanceof Error) continue;
      result.set(w.deliveryId, written[i] ? w.written : w.notWritten);
      if (written[i]) await w.afterCommit?.();
    }
  }
  return result;
}

/** One delivery (tests, tools): a batch of one; a failure is thrown. */
export async function deliverInbound(deps: DeliverDeps, deliveryId: string): Promise<DeliverOutcome> {
  const outcome = (await deliverBatch(deps, [deliveryId])).get(deliveryId)!;
  if (outcome instanceof Error) throw outcome;
  return outcome;
}
