/**
 * Notification e-mails (SPEC §6.6): at most one per patient per NOTIFY_WINDOW_SECONDS, whatever a bulk sender or
 * a busy ward does. Whatever should be announced (a delivered message, a professional's document or action)
 * marks the patient pending in its own statement (`notifyPatientCte`). Each tick, in one transaction, this loop
 * locks pending patients (FOR UPDATE SKIP LOCKED, oldest notice first, so two processes never take the same
 * one), asks the pure rules of mailbox/rules/notification-window.ts when a notice is due (`notificationDecision`,
 * with the database's clock) and what it announces (`noticeKinds`, from the distinct mailbox messages, documents
 * and activity events since the last notice, or since the patient was marked pending when that is earlier, as
 * after a clock stepped back: nothing new is stored for that), and records the outcome: sent
 * (last_sent_at = now, pending cleared) or nothing to announce (pending cleared). After the commit it sends one
 * neutral e-mail each, one sentence per kind, no subject, sender, title or name.
 * Crash or error before the commit: nothing is recorded, the next tick decides again. Between the commit and the
 * send: that one e-mail is lost rather than ever sent twice. An event committed while a patient's notice is
 * being claimed (the few milliseconds of that transaction) is not announced under its own kind; it is in the
 * history all the same.
 */
import { eq, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { readIdentity } from '../access/index.js';
import { type Db, schema, rowsOf } from '../db/index.js';
import type { Notifier } from '../gateway/notify/index.js';
import { notificationDecision, noticeKinds, notificationNotice, type NotificationFact } from '../mailbox/index.js';
import type { Keyring } from '../vault/index.js';

export class NotificationDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly keyring: Keyring,
    private readonly notifier: Notifier,
    private readonly opts: { windowSeconds: number; tickMs: number; logger: Logger },
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.opts.tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => {});
  }

  tick(): void {
    if (this.running) return;
    this.running = this.sendDue()
      .catch((err: Error) => this.opts.logger.warn({ err: err.message }, 'notification dispatch failed'))
      .then(() => undefined)
      .finally(() => (this.running = null));
  }

  /** Sends what is due now; returns how many e-mails were sent. */
  async sendDue(): Promise<number> {
    const windowMs = this.opts.windowSeconds * 1000;
    const due = await this.db.transaction(async (tx) => {
      // Milliseconds, rounded so that the rule never sees a notice as older, or now as later, than it is.
      const candidates = rowsOf<{ patient_id: string; last_ms: number | null; now_ms: number }>(
        await tx.execute(sql`SELECT patient_id, ceil(extract(epoch FROM last_sent_at) * 1000)::float8 AS last_ms,
                                    floor(extract(epoch FROM now()) * 1000)::float8 AS now_ms
                             FROM notification_state WHERE pending_since IS NOT NULL
                             ORDER BY last_sent_at ASC NULLS FIRST LIMIT 200 FOR UPDATE SKIP LOCKED`),
      );
      const ids = candidates
        .filter(
          (c) =>
            notificationDecision({ lastSentAt: c.last_ms == null ? null : new Date(Number(c.last_ms)), pending: true }, new Date(Number(c.now_ms)), windowMs)
              .sendNow,
        )
        .map((c) => c.patient_id);
      if (ids.length === 0) return [];
      const facts = new Map<string, NotificationFact[]>(ids.map((id) => [id, []]));
      for (const f of rowsOf<{
        patient_id: string;
        source: 'mailbox' | 'document' | 'activity';
        a: string;
        b: string;
        hidden: boolean | null;
        deleted: boolean | null;
      }>(
        await tx.execute(sql`
          WITH ns AS (SELECT patient_id, least(coalesce(last_sent_at, '-infinity'::timestamptz), pending_since) AS since FROM notification_state
                      WHERE patient_id = ANY(${sql.param(ids)}::uuid[]))
          SELECT ns.patient_id, 'mailbox'::text AS source, m.folder AS a, m.kind AS b, NULL::boolean AS hidden, NULL::boolean AS deleted
            FROM ns JOIN mailbox_messages m ON m.patient_id = ns.patient_id AND m.received_at >= ns.since
          UNION
          SELECT ns.patient_id, 'document'::text, d.author_kind, d.origin_kind, d.hidden_from_patient, d.deleted_at IS NOT NULL
            FROM ns JOIN documents d ON d.patient_id = ns.patient_id AND d.created_at >= ns.since
          UNION
          SELECT ns.patient_id, 'activity'::text, e.kind, e.actor_kind, coalesce(d.hidden_from_patient, false), NULL::boolean
            FROM ns JOIN activity_events e ON e.patient_id = ns.patient_id AND e.created_at >= ns.since
            LEFT JOIN documents d ON d.id = e.document_id`),
      )) {
        facts
          .get(f.patient_id)
          ?.push(
            f.source === 'mailbox'
              ? { source: 'mailbox', folder: f.a, kind: f.b }
              : f.source === 'document'
                ? { source: 'document', authorKind: f.a, originKind: f.b, hiddenFromPatient: f.hidden === true, deleted: f.deleted === true }
                : { source: 'activity', kind: f.a, actorKind: f.b, onHiddenDocument: f.hidden === true },
          );
      }
      const outcomes = ids.map((patientId) => ({ patientId, kinds: noticeKinds(facts.get(patientId) ?? []) }));
      const sending = outcomes.filter((o) => o.kinds.length > 0).map((o) => o.patientId);
      const silent = outcomes.filter((o) => o.kinds.length === 0).map((o) => o.patientId);
      if (sending.length) {
        await tx.execute(sql`UPDATE notification_state SET last_sent_at = now(), pending_since = NULL WHERE patient_id = ANY(${sql.param(sending)}::uuid[])`);
      }
      if (silent.length) await tx.execute(sql`UPDATE notification_state SET pending_since = NULL WHERE patient_id = ANY(${sql.param(silent)}::uuid[])`);
      return outcomes.filter((o) => o.kinds.length > 0);
    });
    let sent = 0;
    for (const r of due) {
      const [p] = await this.db
        .select({ ins: schema.patients.ins, identity: schema.patients.identity })
        .from(schema.patients)
        .where(eq(schema.patients.id, r.patientId));
      if (!p) continue;
      try {
        const email = readIdentity(this.keyring, p.ins, p.identity).email;
        await this.notifier.send(notificationNotice(email, r.kinds));
        sent++;
      } catch (err) {
        this.opts.logger.warn({ err: (err as Error).message }, 'notification e-mail failed');
      }
    }
    return sent;
  }
}
