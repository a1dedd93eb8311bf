// kill -9 of the whole gateway (its process group) in the middle of a 200-message batch, then a restart on the
// same data: every message that got 250 must be in its mailbox exactly once; any other at most once. Run on an
// external PostgreSQL with the job queues in PostgreSQL and on Redis, and on the embedded defaults, where the
// private PostgreSQL server is killed -9 too (a power cut: its postmaster.pid is stale, its WAL replayed).
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { livePostmaster, openDatabase, schema } from '../../db/index.js';
import { contentContext, type MessageContent } from '../../mailbox/index.js';
import { loadKeyring, openValue } from '../../vault/index.js';
import { apiClient, createTestDatabase, sendMail, waitFor } from '../support/harness.js';
import { freePort } from '../support/ports.js';
import { killGroup, startChildGateway, stopGracefully, waitHealthy } from '../support/child-gateway.js';

async function scenario(embedded: boolean, queues: 'postgres' | 'redis'): Promise<void> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-crash-'));
  const smtpPort = await freePort();
  const apiPort = await freePort();
  const databaseUrl = embedded ? undefined : await createTestDatabase();
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    SMTP_PORT: String(smtpPort),
    API_PORT: String(apiPort),
    LOG_LEVEL: 'warn',
    REDIS_PREFIX: `crash${crypto.randomBytes(3).toString('hex')}`,
    DATABASE_URL: databaseUrl ?? '',
    REDIS_URL: queues === 'redis' ? process.env.TEST_REDIS_URL! : '',
  };
  let child = startChildGateway(env);
  try {
    await waitHealthy(apiPort, child);
    const token = (await fs.readFile(path.join(dataDir, 'admin.token'), 'utf8')).trim();
    const patients = [0, 1, 2].map((i) => makeTestIns(700_000 + i));
    const csv = ['ins,family_name,given_names,birth_date,email,state,provisional_code']
      .concat(patients.map((ins, i) => `${ins},TEST-CRASH,P${i},1970-01-0${i + 1},p${i}@example.org,created,`))
      .join('\n');
    const imp = await apiClient(apiPort, token).call('POST', '/v1/admin/patients/import', csv, { 'content-type': 'text/csv' });
    expect(imp.status).toBe(200);

    const pki = path.join(dataDir, 'pki');
    const total = 200;
    const killAfter = 60;
    const accepted = new Set<string>();
    let next = 0;
    let killed = false;
    let killing: Promise<void> | null = null;
    const sender = async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const subject = `crash-${i}`;
        const r = await sendMail({
          port: smtpPort,
          pki,
          cert: 'hopital-a.mssante.fr',
          from: 'dr.batch@hopital-a.mssante.fr',
          to: [`${patients[i % 3]}@patient.mssante.fr`],
          subject,
          text: `message ${i}`,
          attachments: [
            { filename: `doc-${i}.pdf`, content: Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(20_000)]), contentType: 'application/pdf' },
          ],
        });
        if (r.ok) accepted.add(subject);
        if (accepted.size >= killAfter && !killed) {
          killed = true;
          killing = killGroup(child);
        }
        if (killed && !r.ok) return; // the gateway is gone: a real MTA would queue the rest
      }
    };
    await Promise.all(Array.from({ length: 8 }, sender));
    if (!killed) {
      killed = true;
      killing = killGroup(child);
    }
    await killing;
    expect(accepted.size).toBeGreaterThanOrEqual(killAfter);
    if (embedded) {
      const server = livePostmaster(path.join(dataDir, 'pg'));
      expect(server, 'the private PostgreSQL server outlives its gateway (own session)').not.toBeNull();
      process.kill(server!.pid, 'SIGKILL');
      await waitFor(async () => livePostmaster(path.join(dataDir, 'pg')) === null, 10_000, 'the postmaster to die');
    }

    // Restart on the same data; wait until nothing is left queued.
    child = startChildGateway(env);
    await waitHealthy(apiPort, child);
    await waitFor(
      async () => {
        const s = await apiClient(apiPort, token).json<{ queued: number }>('GET', '/v1/admin/deliveries/stats');
        return s.status === 200 && s.body.queued === 0;
      },
      90_000,
      'every committed delivery to be processed',
    );
    await stopGracefully(child);

    // Read the mailbox directly (the gateway is stopped; on the embedded defaults this starts its server again).
    const keyring = await loadKeyring(path.join(dataDir, 'keys', 'master.key'), false);
    const database = await openDatabase({ databaseUrl, dataDir, poolSize: 2 });
    try {
      const rows = await database.db.select({ id: schema.mailboxMessages.id, content: schema.mailboxMessages.content }).from(schema.mailboxMessages);
      const counts = new Map<string, number>();
      for (const r of rows) {
        const c = openValue<MessageContent>(keyring, r.content, contentContext(r.id));
        counts.set(c.subject, (counts.get(c.subject) ?? 0) + 1);
      }
      for (const s of accepted) expect(counts.get(s), `${s} (got 250)`).toBe(1);
      for (const [s, n] of counts) expect(n, `${s} stored at most once`).toBe(1);
      const failed = await database.db.select().from(schema.deliveries).where(eq(schema.deliveries.status, 'failed'));
      expect(failed).toHaveLength(0);
      const inbound = await database.db.select({ id: schema.inboundMessages.id }).from(schema.inboundMessages);
      // every committed message was delivered (no half-processed leftovers)
      expect(rows.length).toBe(inbound.length);
    } finally {
      await database.close();
    }
  } finally {
    await killGroup(child);
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

describe('crash recovery (kill -9 during a batch)', () => {
  it('loses nothing that got 250 and duplicates nothing, on PostgreSQL with the queues in PostgreSQL', async () => {
    await scenario(false, 'postgres');
  }, 240_000);

  it('loses nothing that got 250 and duplicates nothing, on PostgreSQL with the queues on Redis', async () => {
    await scenario(false, 'redis');
  }, 240_000);

  it('loses nothing that got 250 and duplicates nothing, on the embedded defaults (their server killed too)', async () => {
    await scenario(true, 'postgres');
  }, 240_000);
});
