// Group commit of accepts (gateway/ingress/accept.ts): messages arriving together share one statement, yet each
// is accepted or refused on its own: a recipient closed meanwhile refuses only its message, and a message whose
// write fails (here: a raw blob that was never written) does not make its neighbours fail.
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { count, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { openDatabase, schema, type Database } from '../../db/index.js';
import { AcceptBatcher, RecipientsChangedError, type AcceptedEnvelope } from '../../gateway/ingress/accept.js';
import { BlobStore, parseKeyFile, type StoredBlob } from '../../vault/index.js';
import { createTestDatabase } from '../support/harness.js';

let database: Database;
let blobs: BlobStore;
const patientIds: string[] = [];

beforeAll(async () => {
  database = await openDatabase({ databaseUrl: await createTestDatabase(), dataDir: '/nonexistent' });
  blobs = new BlobStore(database.db, parseKeyFile(crypto.randomBytes(32).toString('base64')), 64 * 1024);
  for (let i = 0; i < 3; i++) {
    const [p] = await database.db
      .insert(schema.patients)
      .values({ ins: makeTestIns(51_000 + i), state: i === 2 ? 'closed' : 'created', identity: Buffer.from('x') })
      .returning({ id: schema.patients.id });
    patientIds.push(p!.id);
  }
});
afterAll(async () => {
  await database?.close();
});

const env = (patientId: string): AcceptedEnvelope => ({
  mailFrom: 'labo@hopital-a.mssante.fr',
  sendingDomain: 'hopital-a.mssante.fr',
  peerDn: 'CN=test',
  peerFingerprint: 'AA:BB',
  clientAddress: '127.0.0.1',
  patientIds: [patientId],
});
const raw = () => blobs.write(Readable.from([crypto.randomBytes(2_000)]), 'raw-message');

describe('AcceptBatcher', () => {
  it('commits concurrent messages together, each accepted or refused on its own', async () => {
    const batcher = new AcceptBatcher(database.db);
    const lost: StoredBlob = { ...(await raw()), inline: null, persist: async () => {} }; // its blob is never written
    const jobs = [
      ...Array.from({ length: 10 }, async () => batcher.commit(await raw(), env(patientIds[0]!))),
      raw().then((r) => batcher.commit(r, env(patientIds[2]!))), // closed profile
      batcher.commit(lost, env(patientIds[1]!)), // foreign key on the raw blob fails
      ...Array.from({ length: 10 }, async () => batcher.commit(await raw(), env(patientIds[1]!))),
    ];
    const results = await Promise.allSettled(jobs);
    expect(batcher.stats.messages).toBe(22);
    expect(batcher.stats.statements, 'messages arriving during a statement wait and share the next one').toBeLessThan(22);
    const accepted = results.filter((r) => r.status === 'fulfilled');
    expect(accepted).toHaveLength(20);
    expect((results[10] as PromiseRejectedResult).reason).toBeInstanceOf(RecipientsChangedError);
    expect(results[11]!.status).toBe('rejected');
    expect((results[11] as PromiseRejectedResult).reason).not.toBeInstanceOf(RecipientsChangedError);
    const ids = accepted.map((r) => (r as PromiseFulfilledResult<{ messageId: string }>).value.messageId);
    const [m] = await database.db.select({ n: count() }).from(schema.inboundMessages).where(inArray(schema.inboundMessages.id, ids));
    const [d] = await database.db.select({ n: count() }).from(schema.deliveries);
    const [o] = await database.db.select({ n: count() }).from(schema.outbox);
    expect([m!.n, d!.n, o!.n]).toEqual([20, 20, 20]);
  });
});
