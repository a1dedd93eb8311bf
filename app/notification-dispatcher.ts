/**
 * New-message notification e-mails (SPEC §6.6): at most one per patient per NOTIFY_WINDOW_SECONDS, whatever a
 * bulk sender does. Deliveries mark the patient pending (in their own statement); this loop claims the patients
 * whose window has passed (one UPDATE ... RETURNING, so two processes never claim the same one) and sends one
 * neutral e-mail each (no subject, sender or document name). A crash between the claim and the send loses that
 * one e-mail rather than ever sending two.
 */
import { eq, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { readIdentity } from '../access/index.js';
import type { Db } from '../db/index.js';
import { schema } from '../db/index.js';
import type { Notifier } from '../gateway/notify/index.js';
import { newMessageNotice } from '../mailbox/rules/index.js';
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
    const claimed = (await this.db.execute(sql`
      UPDATE notification_state SET last_sent_at = now(), pending_since = NULL
      WHERE patient_id IN (
        SELECT patient_id FROM notification_state
        WHERE pending_since IS NOT NULL
          AND (last_sent_at IS NULL OR last_sent_at <= now() - (${this.opts.windowSeconds}::double precision * interval '1 second'))
        LIMIT 200 FOR UPDATE SKIP LOCKED)
      RETURNING patient_id`)) as unknown;
    const rows = (Array.isArray(claimed) ? claimed : (claimed as { rows: { patient_id: string }[] }).rows) as { patient_id: string }[];
    let sent = 0;
    for (const r of rows) {
      const [p] = await this.db
        .select({ ins: schema.patients.ins, identity: schema.patients.identity })
        .from(schema.patients)
        .where(eq(schema.patients.id, r.patient_id));
      if (!p) continue;
      const email = readIdentity(this.keyring, p.ins, p.identity).email;
      try {
        await this.notifier.send(newMessageNotice(email));
        sent++;
      } catch (err) {
        this.opts.logger.warn({ err: (err as Error).message }, 'notification e-mail failed');
      }
    }
    return sent;
  }
}
