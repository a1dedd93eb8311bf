// A delivery processed again (job retried after a crash, duplicate job) never produces a second mailbox
// message or document.
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { schema } from '../../db/index.js';
import { deliverInbound } from '../../mailbox/index.js';
import { VirusScanner } from '../../vault/scan/clamd.js';
import { importPatientsCsv, sendToPatient, startTestGateway, waitFor, type TestGateway } from '../support/harness.js';

let t: TestGateway;
const ins = makeTestIns(31337);

beforeAll(async () => {
  t = await startTestGateway();
  await importPatientsCsv(
    t,
    `ins,family_name,given_names,birth_date,email,state,provisional_code\n${ins},TEST-IDEM,Jules,1970-01-01,jules@example.org,created,\n`,
  );
});
afterAll(async () => {
  await t?.close();
});

describe('inbound delivery idempotency', () => {
  it('processes a delivery once, whatever the number of attempts', async () => {
    const r = await sendToPatient(t, ins, {
      attachments: [{ filename: 'bilan.pdf', content: Buffer.from('%PDF-1.4 test') }],
    });
    expect(r.ok).toBe(true);
    const db = t.gw.database.db;
    const [delivery] = await waitFor(
      async () => {
        const rows = await db.select().from(schema.deliveries).where(eq(schema.deliveries.status, 'delivered'));
        return rows.length ? rows : null;
      },
      30_000,
      'the delivery',
    );
    const deps = { db, blobs: t.gw.blobs, keyring: t.gw.keyring, limits: t.gw.config.limits, isMssanteDomain: () => true, scanner: new VirusScanner(null) };
    expect(await deliverInbound(deps, delivery!.id)).toBe('already-delivered');
    // Even if its status were lost (reset to queued), the unique delivery id keeps one copy.
    await db.update(schema.deliveries).set({ status: 'queued' }).where(eq(schema.deliveries.id, delivery!.id));
    expect(await deliverInbound(deps, delivery!.id)).toBe('already-delivered');
    const [m] = await db.select({ n: count() }).from(schema.mailboxMessages).where(eq(schema.mailboxMessages.deliveryId, delivery!.id));
    const [d] = await db.select({ n: count() }).from(schema.documents);
    expect(m!.n).toBe(1);
    expect(d!.n).toBe(1);
    const [after] = await db.select().from(schema.deliveries).where(eq(schema.deliveries.id, delivery!.id));
    expect(after!.status).toBe('delivered');
  });
});
