// `keys rotate` killed (SIGKILL) right after each of its steps (vault/key-rotation.ts ROTATION_STEPS), on a real
// database holding a message, its multi-chunk attachment and a sealed activity history: after every kill, what the
// next start loads (loadKeyring) decrypts every blob and sealed value and verifies the chain, and the next rotation
// finishes (resuming the interrupted one when its key was installed) and confirms, leaving everything under one
// key. At the end the older keys are dropped from the file and a gateway serves the message and its attachment.
//
// A rotation with a gateway left running (rows still coming under the older key) is not confirmed and keeps the
// previous copy; the next run finishes it. The key generation of a first start is killed the same way, and the key
// file's other guards are checked.
//
// What a kill cannot show is a power cut before the fsyncs reach the disk; the fsyncs themselves are in the code
// (keyring.ts writeKeyFileDurably), and the order of the steps is what this test holds to.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityContext } from '../../access/activity.js';
import { readIdentity, sealActivity, verifyActivityChain, rotateMasterKey } from '../../access/index.js';
import { makeTestIns } from '../../access/rules/ins.js';
import { openDatabase, schema, type Database } from '../../db/index.js';
import { contentContext } from '../../mailbox/deliver-inbound.js';
import { documentContext } from '../../vault/documents.js';
import { BlobStore, loadKeyring, newDataKey, openValue, parseKeyFile, wrapDataKey, type Keyring } from '../../vault/index.js';
import { countNotUnder, describeRotation, ROTATION_STEPS, type RotationResult } from '../../vault/key-rotation.js';
import { previousKeyFile } from '../../vault/keyring.js';
import { apiClient, importPatientsCsv, loginPatient, sendMail, startTestGateway, waitFor, type TestGateway } from '../support/harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);
const P = { ins: makeTestIns(9351), email: 'kc9351@example.org', birthDate: '1972-02-02', provisionalCode: 'PROV-KC-9351', password: 'Mot-de-passe-KC-9351' };
const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(600_000)]); // several 256 KiB chunks

let t: TestGateway;
let database: Database;
let keyFile: string;

beforeAll(async () => {
  t = await startTestGateway();
  try {
    await importPatientsCsv(
      t,
      `ins,family_name,given_names,birth_date,email,state,provisional_code\n${P.ins},TEST-KC,Hélène,${P.birthDate},${P.email},created,${P.provisionalCode}\n`,
    );
    const sent = await sendMail({
      port: t.gw.smtpPort!,
      pki: t.pki,
      cert: 'hopital-a.mssante.fr',
      from: 'dr@hopital-a.mssante.fr',
      to: [`${P.ins}@patient.mssante.fr`],
      subject: 'Avant rotations',
      attachments: [{ filename: 'cr.pdf', content: pdf }],
    });
    expect(sent.ok).toBe(true);
    await waitFor(async () => (await t.gw.database.db.select().from(schema.documents)).length === 1, 30_000, 'the document');
    await sealActivity(t.gw.database.db, t.gw.keyring);
  } finally {
    await t.close();
  }
  keyFile = path.join(t.dataDir, 'keys', 'master.key');
  database = await openDatabase({ databaseUrl: t.databaseUrl, dataDir: t.dataDir, poolSize: 2 });
}, 120_000);

afterAll(async () => {
  await database?.close();
  if (t) await fs.rm(t.dataDir, { recursive: true, force: true });
});

const rows = async <T>(q: ReturnType<typeof sql>): Promise<T[]> => {
  const r = (await database.db.execute(q)) as unknown;
  return (Array.isArray(r) ? r : (r as { rows: T[] }).rows) as T[];
};

/** Opens every blob and sealed value with `keyring` and verifies the activity chain; returns what it opened. */
async function decryptEverything(keyring: Keyring): Promise<{ blobs: number; values: number }> {
  const store = new BlobStore(database.db, keyring, 256 * 1024);
  const blobIds = await rows<{ id: string }>(sql`SELECT id FROM blobs WHERE complete`);
  let attachment = false;
  for (const b of blobIds) attachment ||= (await store.readAll(b.id)).equals(pdf);
  expect(attachment, 'the attachment, byte for byte').toBe(true);
  let values = 0;
  for (const p of await rows<{ ins: string; identity: Buffer }>(sql`SELECT ins, identity FROM patients`)) {
    expect(readIdentity(keyring, p.ins, p.identity).givenNames).toBe('Hélène');
    values++;
  }
  for (const m of await rows<{ id: string; content: Buffer }>(sql`SELECT id, content FROM mailbox_messages`)) {
    openValue(keyring, m.content, contentContext(m.id));
    values++;
  }
  for (const d of await rows<{ id: string; meta: Buffer }>(sql`SELECT id, meta FROM documents`)) {
    openValue(keyring, d.meta, documentContext(d.id));
    values++;
  }
  for (const c of await rows<{ patient_id: string; address: string; meta: Buffer }>(sql`SELECT patient_id, address, meta FROM contacts`)) {
    openValue(keyring, c.meta, `contact:${c.patient_id}:${c.address}`);
    values++;
  }
  for (const e of await rows<{ patient_id: string; detail: Buffer }>(sql`SELECT patient_id, detail FROM activity_events WHERE detail IS NOT NULL`)) {
    openValue(keyring, e.detail, activityContext(e.patient_id));
    values++;
  }
  const [patient] = await rows<{ id: string }>(sql`SELECT id FROM patients`);
  expect(await verifyActivityChain(database.db, keyring, patient!.id), 'the activity chain verifies').toBeNull();
  return { blobs: blobIds.length, values };
}

const keysDir = () => fs.readdir(path.dirname(keyFile));
const currentKeyId = async () => parseKeyFile(await fs.readFile(keyFile, 'utf8')).current.id;

/** The child rotation, killed after `step`: resolves once it died of SIGKILL (and fails if it finished instead). */
async function rotateAndKill(step: string): Promise<void> {
  const child = run(process.execPath, ['--import', 'tsx', 'tests/vault/key-rotation-child.ts'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: t.databaseUrl!, MASTER_KEY_FILE: keyFile, KEY_ROTATION_KILL_AFTER: step },
  });
  const outcome = await child.then(
    (r) => ({ signal: null, stdout: r.stdout, stderr: r.stderr }),
    (e: { signal?: string; stdout: string; stderr: string }) => ({ signal: e.signal ?? null, stdout: e.stdout, stderr: e.stderr }),
  );
  expect(outcome, `the rotation killed after ${step}`).toMatchObject({ signal: 'SIGKILL', stdout: '' });
}

describe('keys rotate killed between its steps', () => {
  it('every kill leaves a key file that decrypts everything, and the next rotation finishes and confirms', async () => {
    const baseline = await decryptEverything(await loadKeyring(keyFile, false));
    expect(baseline.blobs).toBeGreaterThanOrEqual(2); // the raw message and the attachment
    expect(baseline.values).toBeGreaterThanOrEqual(5);
    for (const step of ROTATION_STEPS) {
      const before = await currentKeyId();
      await rotateAndKill(step);
      const installed = (await currentKeyId()) !== before;
      // what the kill left, step by step
      expect(installed, `${step}: the new key is in the file`).toBe(!['previous-kept', 'temp-written'].includes(step));
      if (step === 'temp-written')
        expect(
          (await keysDir()).some((f) => f.includes('.tmp-')),
          'a temporary key file left',
        ).toBe(true);
      if (step === 'blobs-rewrapped') {
        const now = await currentKeyId();
        expect((await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM blobs WHERE key_id <> ${now}`))[0]!.n).toBe(0);
        expect(await countNotUnder(database.db, now), 'sealed values still under the older key').toBeGreaterThan(0);
      }
      const prevKept = (await keysDir()).includes(path.basename(previousKeyFile(keyFile)));
      expect(prevKept, `${step}: the previous key file kept until confirmed`).toBe(step !== 'confirmed');

      // The next start: what a gateway loads decrypts everything, and no stray copy of the keys is left.
      const atStart = await loadKeyring(keyFile, false);
      expect(await decryptEverything(atStart)).toEqual(baseline);
      expect((await keysDir()).filter((f) => f.includes('.tmp-'))).toEqual([]);
      expect((await fs.stat(keyFile)).mode & 0o777).toBe(0o600);

      // The next rotation: finishes an installed-but-unfinished one with its key, else makes a new one; confirms.
      const r: RotationResult = await rotateMasterKey(database.db, keyFile);
      const resumes = installed && step !== 'confirmed';
      expect(r, step).toMatchObject({ resumed: resumes, confirmed: true, remaining: 0 });
      if (resumes) expect(r.keyId).toBe(atStart.current.id);
      expect(
        (await keysDir()).filter((f) => f !== 'master.key'),
        `${step}: only the key file is left`,
      ).toEqual([]);
      // everything is now under the current key alone
      expect(await decryptEverything(parseKeyFile(`${(await loadKeyring(keyFile, false)).current.key.toString('base64')}\n`))).toEqual(baseline);
    }
  }, 240_000);

  it('the CLI rotates and confirms, and a gateway with only the newest key serves the message and its attachment', async () => {
    const env = { ...process.env, DATA_DIR: t.dataDir, DATABASE_URL: t.databaseUrl!, REDIS_URL: '', MASTER_KEY_FILE: keyFile };
    const out = await run(process.execPath, ['--import', 'tsx', 'app/cli.ts', 'keys', 'rotate'], { cwd: ROOT, env });
    expect(out.stdout).toMatch(
      /new master key [0-9a-f]{16}: \d+ blob keys and \d+ sealed values re-wrapped, 0 left; \d+ activity heads re-signed; key file confirmed/,
    );
    const newest = (await loadKeyring(keyFile, false)).current.key.toString('base64');
    await fs.writeFile(keyFile, `${newest}\n`, { mode: 0o600 }); // the older keys dropped, as the README allows once confirmed
    const t2 = await startTestGateway({ dataDir: t.dataDir, databaseUrl: t.databaseUrl, redisPrefix: t.redisPrefix });
    try {
      const api = apiClient(t2.gw.apiPort!, await loginPatient(t2, P));
      const m = (await api.json<{ items: { id: string; subject: string; attachments: { id: string }[] }[] }>('GET', '/v1/me/messages')).body.items[0]!;
      expect(m.subject).toBe('Avant rotations');
      const dl = await api.call('GET', `/v1/me/messages/${m.id}/attachments/${m.attachments[0]!.id}`);
      expect(Buffer.from(await dl.arrayBuffer()).equals(pdf)).toBe(true);
    } finally {
      await t2.close();
    }
  }, 120_000);
});

describe('keys rotate with a gateway left running', () => {
  it('does not confirm while rows keep coming under the older key, keeps the previous copy, and the next run finishes', async () => {
    const old = await loadKeyring(keyFile, false);
    // What a gateway started before the rotation does: wraps new data with the key it loaded.
    const first = await rotateMasterKey(database.db, keyFile, {
      afterStep: async (step) => {
        if (step !== 'heads-resigned') return;
        const w = wrapDataKey(old, newDataKey());
        await database.pool.query(`INSERT INTO blobs (id, purpose, wrapped_key, key_id, complete) VALUES ($1, 'document', $2, $3, true)`, [
          crypto.randomUUID(),
          w.wrapped,
          w.keyId,
        ]);
      },
    });
    expect(first).toMatchObject({ confirmed: false, remaining: 1, resumed: false });
    expect(describeRotation(first)).toMatch(/not confirmed: 1 still under older keys .*run keys rotate again/);
    expect(await fs.readdir(path.dirname(keyFile))).toContain(path.basename(previousKeyFile(keyFile)));
    const second = await rotateMasterKey(database.db, keyFile);
    expect(second).toMatchObject({ confirmed: true, remaining: 0, resumed: true, keyId: first.keyId, blobs: 1 });
    expect(await fs.readdir(path.dirname(keyFile))).toEqual(['master.key']);
  });
});

describe('the key file at start', () => {
  const freshDir = () => fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-keys-'));

  it('a generation killed once its key is durable leaves no key file; the next start generates one and removes the copy', async () => {
    const dir = await freshDir();
    const file = path.join(dir, 'keys', 'master.key');
    try {
      const child = await run(process.execPath, ['--import', 'tsx', 'tests/vault/key-rotation-child.ts'], {
        cwd: ROOT,
        env: { ...process.env, MASTER_KEY_FILE: file, KEY_GENERATION_KILL: '1' },
      }).then(
        () => null,
        (e: { signal?: string }) => e.signal ?? 'no signal',
      );
      expect(child).toBe('SIGKILL');
      const left = await fs.readdir(path.dirname(file));
      expect(left).toHaveLength(1); // the temporary file alone: never a half-written master.key
      expect(left[0]).toMatch(/^\.master\.key\.tmp-\d+-/);
      const keyring = await loadKeyring(file, true);
      expect(await fs.readdir(path.dirname(file))).toEqual(['master.key']);
      expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
      expect((await loadKeyring(file, true)).current.id).toBe(keyring.current.id);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("concurrent first starts agree on one generated key; a live writer's temporary file is left alone", async () => {
    const dir = await freshDir();
    const file = path.join(dir, 'master.key');
    try {
      const live = path.join(dir, `.master.key.tmp-${process.ppid}-abcdef`); // its writer (our parent) is running
      await fs.writeFile(live, 'x', { mode: 0o600 });
      const ids = new Set((await Promise.all(Array.from({ length: 6 }, () => loadKeyring(file, true)))).map((k) => k.current.id));
      expect(ids.size).toBe(1);
      expect((await fs.readdir(dir)).sort()).toEqual([path.basename(live), 'master.key'].sort());
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('never generates a key over a missing file whose previous copy is there', async () => {
    const dir = await freshDir();
    const file = path.join(dir, 'master.key');
    try {
      await fs.writeFile(previousKeyFile(file), `${crypto.randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
      await expect(loadKeyring(file, true)).rejects.toThrow(/master\.key\.prev exists: restore it/);
      await expect(fs.access(file)).rejects.toThrow();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
