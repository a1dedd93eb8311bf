// Scale-out as an operator runs it: two SMTP-only, two worker-only and one API-only process (ROLES) on one
// PostgreSQL (data and job queues), every role answering /health and /metrics. A batch goes through both SMTP
// processes while one worker is killed with kill -9: every accepted message is filed exactly once. And the
// limits that must hold across processes do: sessions per certificate, messages per minute per domain.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { openDatabase, schema } from '../../db/index.js';
import { contentContext, type MessageContent } from '../../mailbox/index.js';
import { loadKeyring, openValue } from '../../vault/index.js';
import { apiClient, createTestDatabase, sendMail, waitFor } from '../support/harness.js';
import { freePort } from '../support/ports.js';
import { killGroup, startChildGateway, stopGracefully, waitHealthy } from '../support/child-gateway.js';
import { RawSmtp } from '../support/raw-smtp.js';

interface Proc {
  role: string;
  child: ChildProcess;
  statusPort: number;
  smtpPort?: number;
}

const running: Proc[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => killGroup(p.child)));
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

async function cluster(roles: string[], extraEnv: Record<string, string> = {}) {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-scale-'));
  dirs.push(dataDir);
  const databaseUrl = await createTestDatabase();
  // API_EXPOSE: the api process serves /metrics on its (patient) listener too, watched like the others.
  const base = { DATA_DIR: dataDir, DATABASE_URL: databaseUrl, REDIS_URL: '', LOG_LEVEL: 'warn', API_EXPOSE: 'metrics', ...extraEnv };
  const start = async (role: string): Promise<Proc> => {
    const statusPort = await freePort();
    const smtpPort = role === 'smtp' ? await freePort() : undefined;
    const child = startChildGateway({ ...base, ROLES: role, API_PORT: String(statusPort), SMTP_PORT: String(smtpPort ?? 0) });
    const p = { role, child, statusPort, smtpPort };
    running.push(p);
    await waitHealthy(statusPort, child);
    return p;
  };
  // The API process first: it generates the development PKI, master key and operator token the others share.
  const api = await start('api');
  const others = await Promise.all(roles.map(start));
  const token = (await fs.readFile(path.join(dataDir, 'admin.token'), 'utf8')).trim();
  return { dataDir, databaseUrl, api, others, token, pki: path.join(dataDir, 'pki') };
}

describe('scale-out (ROLES) on one PostgreSQL', () => {
  it('files every accepted message exactly once while a worker is killed -9 mid-batch', async () => {
    const c = await cluster(['smtp', 'smtp', 'worker', 'worker']);
    const smtp = c.others.filter((p) => p.role === 'smtp');
    const workers = c.others.filter((p) => p.role === 'worker');

    for (const p of [c.api, ...c.others]) {
      expect((await fetch(`http://127.0.0.1:${p.statusPort}/health`)).status, `${p.role} /health`).toBe(200);
      expect((await fetch(`http://127.0.0.1:${p.statusPort}/ready`)).status, `${p.role} /ready`).toBe(200);
      const m = await fetch(`http://127.0.0.1:${p.statusPort}/metrics`);
      expect(m.status, `${p.role} /metrics`).toBe(200);
      expect(await m.text()).toMatch(/^process_cpu_seconds_total /m); // Node's default metrics, standard names
    }

    const patients = [0, 1, 2, 3].map((i) => makeTestIns(760_000 + i));
    const csv = ['ins,family_name,given_names,birth_date,email,state,provisional_code']
      .concat(patients.map((ins, i) => `${ins},TEST-SCALE,P${i},1970-01-0${i + 1},s${i}@example.org,created,`))
      .join('\n');
    expect((await apiClient(c.api.statusPort, c.token).call('POST', '/v1/admin/patients/import', csv, { 'content-type': 'text/csv' })).status).toBe(200);

    const total = 240;
    const killAfter = 80;
    const accepted = new Set<string>();
    let next = 0;
    let killed: Promise<void> | null = null;
    let processedByKilled = 0;
    const sender = async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const subject = `scale-${i}`;
        const r = await sendMail({
          port: smtp[i % 2]!.smtpPort!,
          pki: c.pki,
          cert: 'hopital-a.mssante.fr',
          from: 'dr.batch@hopital-a.mssante.fr',
          to: [`${patients[i % patients.length]}@patient.mssante.fr`],
          subject,
          text: `message ${i}`,
          attachments: [
            { filename: `doc-${i}.pdf`, content: Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(30_000)]), contentType: 'application/pdf' },
          ],
        });
        expect(r.ok, r.response).toBe(true); // the SMTP processes are never killed
        accepted.add(subject);
        if (accepted.size >= killAfter && !killed) {
          killed = (async () => {
            // It was working: its own /metrics counts deliveries it processed.
            const m = await (await fetch(`http://127.0.0.1:${workers[0]!.statusPort}/metrics`)).text();
            processedByKilled = [...m.matchAll(/^mesgw_delivery_seconds_count\{[^}]*\} (\d+)/gm)].reduce((n, x) => n + Number(x[1]), 0);
            await killGroup(workers[0]!.child);
          })();
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, sender));
    await killed;
    expect(workers[0]!.child.signalCode).toBe('SIGKILL');
    expect(processedByKilled, 'the killed worker had been filing').toBeGreaterThan(0);
    expect(accepted.size).toBe(total);

    // The surviving worker takes over the killed one's jobs once their locks expire.
    const admin = apiClient(c.api.statusPort, c.token);
    await waitFor(
      async () => {
        const s = await admin.json<{ queued: number; delivered: number }>('GET', '/v1/admin/deliveries/stats');
        return s.status === 200 && s.body.queued === 0 && s.body.delivered === total;
      },
      120_000,
      'every delivery to be filed by the surviving worker',
    );
    await Promise.all(running.map((p) => stopGracefully(p.child)));

    const keyring = await loadKeyring(path.join(c.dataDir, 'keys', 'master.key'), false);
    const database = await openDatabase({ databaseUrl: c.databaseUrl, dataDir: c.dataDir, poolSize: 2 });
    try {
      const rows = await database.db.select({ id: schema.mailboxMessages.id, content: schema.mailboxMessages.content }).from(schema.mailboxMessages);
      const counts = new Map<string, number>();
      for (const r of rows) {
        const subject = openValue<MessageContent>(keyring, r.content, contentContext(r.id)).subject;
        counts.set(subject, (counts.get(subject) ?? 0) + 1);
      }
      for (const s of accepted) expect(counts.get(s), `${s} filed exactly once`).toBe(1);
      expect(rows).toHaveLength(total);
      const docs = await database.db.select({ id: schema.documents.id }).from(schema.documents);
      expect(docs, 'one document per message, none duplicated').toHaveLength(total);
    } finally {
      await database.close();
    }
  }, 300_000);

  it('counts sessions per certificate and messages per domain across SMTP processes', async () => {
    const c = await cluster(['smtp', 'smtp'], { LIMIT_MAX_CONNECTIONS_PER_CERT: '2', LIMIT_MESSAGES_PER_MINUTE_PER_DOMAIN: '4' });
    const [a, b] = c.others;
    const ins = makeTestIns(761_000);
    const csv = `ins,family_name,given_names,birth_date,email,state,provisional_code\n${ins},TEST-LIMIT,L,1970-01-01,l@example.org,created,\n`;
    expect((await apiClient(c.api.statusPort, c.token).call('POST', '/v1/admin/patients/import', csv, { 'content-type': 'text/csv' })).status).toBe(200);

    // Sessions: one open on each process uses the certificate's two; a third, on either, is refused.
    const first = await RawSmtp.connect(a!.smtpPort!, c.pki, 'hopital-a.mssante.fr');
    const second = await RawSmtp.connect(b!.smtpPort!, c.pki, 'hopital-a.mssante.fr');
    expect(first.secureEhlo).toMatch(/^250 /);
    expect(second.secureEhlo).toMatch(/^250 /);
    const third = await RawSmtp.connect(a!.smtpPort!, c.pki, 'hopital-a.mssante.fr');
    expect(third.secureEhlo).toMatch(/^421 4\.7\.0 .*\[GW-CONN-02\]/);
    third.close();
    second.close();
    // A session closed on B frees its slot for A.
    await waitFor(
      async () => {
        const s = await RawSmtp.connect(a!.smtpPort!, c.pki, 'hopital-a.mssante.fr');
        s.close();
        return s.secureEhlo.startsWith('250 ');
      },
      10_000,
      'the slot freed on B to be usable on A',
    );
    first.close();

    // Messages per domain: 4 a minute in all. Two through A, then (once A's counts are shared) two through B,
    // then the fifth is refused by either.
    const send = (port: number) =>
      sendMail({ port, pki: c.pki, cert: 'hopital-a.mssante.fr', from: 'dr.limit@hopital-a.mssante.fr', to: [`${ins}@patient.mssante.fr`] });
    const database = await openDatabase({ databaseUrl: c.databaseUrl, dataDir: c.dataDir, poolSize: 1 });
    try {
      const shared = async () =>
        Number((await database.pool.query(`SELECT coalesce(sum(n), 0)::int AS n FROM rate_counters WHERE key = 'hopital-a.mssante.fr'`)).rows[0].n);
      for (let i = 0; i < 2; i++) expect((await send(a!.smtpPort!)).ok).toBe(true);
      await waitFor(async () => (await shared()) === 2, 10_000, "A's counts in the shared store");
      for (let i = 0; i < 2; i++) expect((await send(b!.smtpPort!)).ok).toBe(true);
      await waitFor(async () => (await shared()) === 4, 10_000, "B's counts in the shared store");
      // B learnt the total (4) when it flushed its own: it refuses at once.
      expect((await send(b!.smtpPort!)).response).toMatch(/^451 4\.7\.1 .*\[GW-MAIL-05\]/);
      // A learns it at its next flush (half a second): from then on it refuses too.
      await waitFor(async () => /^451 4\.7\.1 .*\[GW-MAIL-05\]/.test((await send(a!.smtpPort!)).response), 10_000, 'A to refuse as well');
    } finally {
      await database.close();
    }
  }, 180_000);
});
