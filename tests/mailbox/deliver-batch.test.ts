// A job of several deliveries (mailbox/deliver-batch.ts): committed together, in waves of distinct patients;
// a permanent failure in the middle holds nobody back; a temporary one leaves only itself queued; a retry
// duplicates nothing. Real SMTP in, real PostgreSQL; no worker runs (ROLES=smtp,api), the test is the worker.
import { count, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { schema } from '../../db/index.js';
import { deliverBatch, PermanentDeliveryError, type DeliverDeps } from '../../mailbox/index.js';
import { VirusScanner } from '../../vault/scan/clamd.js';
import { importPatientsCsv, sendToPatient, startTestGateway, type TestGateway } from '../support/harness.js';

let t: TestGateway;
let deps: DeliverDeps;
const a = makeTestIns(41_001);
const b = makeTestIns(41_002);

beforeAll(async () => {
  t = await startTestGateway({ env: { ROLES: 'smtp,api', LIMIT_MAX_ATTACHMENTS: '4' } });
  await importPatientsCsv(
    t,
    `ins,family_name,given_names,birth_date,email,state,provisional_code\n${a},TEST-BATCH,A,1970-01-01,a@example.org,created,\n${b},TEST-BATCH,B,1970-01-02,b@example.org,created,\n`,
  );
  deps = {
    db: t.gw.database.db,
    blobs: t.gw.blobs,
    keyring: t.gw.keyring,
    limits: t.gw.config.limits,
    isMssanteDomain: () => true,
    scanner: new VirusScanner(null),
  };
});
afterAll(async () => {
  await t?.close();
});

async function accept(ins: string, subject: string, attachments = 1): Promise<string> {
  const r = await sendToPatient(t, ins, {
    subject,
    attachments: Array.from({ length: attachments }, (_, i) => ({ filename: `r${i}.pdf`, content: Buffer.from(`%PDF-1.4 ${subject} ${i}`) })),
  });
  expect(r.ok, r.response).toBe(true);
  const [m] = await t.gw.database.db.select().from(schema.inboundMessages).where(eq(schema.inboundMessages.queueId, r.queueId!));
  const [d] = await t.gw.database.db.select().from(schema.deliveries).where(eq(schema.deliveries.messageId, m!.id));
  return d!.id;
}

describe('deliverBatch', () => {
  it('files several deliveries of the same patients in one job, and a permanent failure holds nobody back', async () => {
    const ids = [
      await accept(a, 'a-1'),
      await accept(a, 'a-2'), // same patient: a second wave
      await accept(b, 'b-1'),
      await accept(a, 'a-too-many-parts', 6), // more attachments than the limit of 4 (found after 250): permanent
      await accept(b, 'b-2'),
    ];
    const r = await deliverBatch(deps, ids);
    expect(ids.slice(0, 3).map((id) => r.get(id))).toEqual(['delivered', 'delivered', 'delivered']);
    expect(r.get(ids[3]!)).toBeInstanceOf(PermanentDeliveryError);
    expect(r.get(ids[4]!)).toBe('delivered');
    const db = t.gw.database.db;
    const [mm] = await db.select({ n: count() }).from(schema.mailboxMessages).where(inArray(schema.mailboxMessages.deliveryId, ids));
    expect(mm!.n).toBe(4);
    // The failed one is still queued for the worker to mark (and DSN); a retry of the batch duplicates nothing.
    const again = await deliverBatch(deps, ids);
    expect(ids.map((id) => again.get(id)).filter((x) => x === 'already-delivered')).toHaveLength(4);
    const [mm2] = await db.select({ n: count() }).from(schema.mailboxMessages).where(inArray(schema.mailboxMessages.deliveryId, ids));
    expect(mm2!.n).toBe(4);
    const [docs] = await db
      .select({ n: count() })
      .from(schema.documents)
      .where(eq(schema.documents.patientId, (await db.select().from(schema.patients).where(eq(schema.patients.ins, b)))[0]!.id));
    expect(docs!.n).toBe(2);
  });

  it('leaves only the delivery that failed temporarily queued (the scanner is down), the others filed', async () => {
    const ids = [await accept(a, 't-1'), await accept(b, 't-2')];
    const down: DeliverDeps = { ...deps, scanner: new VirusScanner({ host: '127.0.0.1', port: 1, timeoutMs: 500, maxBytes: 1 << 20 }) };
    const r = await deliverBatch(down, ids);
    expect([...r.values()].every((x) => x instanceof Error && !(x instanceof PermanentDeliveryError))).toBe(true);
    const rows = await t.gw.database.db.select().from(schema.deliveries).where(inArray(schema.deliveries.id, ids));
    expect(rows.map((x) => x.status)).toEqual(['queued', 'queued']);
    const ok = await deliverBatch(deps, ids);
    expect(ids.map((id) => ok.get(id))).toEqual(['delivered', 'delivered']);
  });
});
