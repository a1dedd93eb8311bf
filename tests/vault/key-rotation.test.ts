// Master-key rotation on a real database: after `rewrapAll`, everything reads with the NEW key alone (the old one
// removed from the key file), blobs were not re-encrypted, and the activity chain still verifies.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resignActivityHeads, sealActivity, verifyActivityChain } from '../../access/index.js';
import { makeTestIns } from '../../access/rules/ins.js';
import { schema } from '../../db/index.js';
import { addCurrentKey, rewrapAll } from '../../vault/key-rotation.js';
import { parseKeyFile } from '../../vault/index.js';
import { apiClient, importPatientsCsv, loginPatient, sendMail, startTestGateway, waitFor } from '../support/harness.js';

describe('master key rotation', () => {
  it('re-wraps every data key without re-encrypting, and the old key can then be dropped', async () => {
    const P = { ins: makeTestIns(9301), email: 'k9301@example.org', birthDate: '1971-07-07', provisionalCode: 'PROV-K-9301', password: 'Mot-de-passe-K-9301' };
    const t1 = await startTestGateway();
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(400_000)]); // several chunks
    let chunkBefore: Buffer;
    try {
      await importPatientsCsv(
        t1,
        `ins,family_name,given_names,birth_date,email,state,provisional_code\n${P.ins},TEST-K,K,${P.birthDate},${P.email},created,${P.provisionalCode}\n`,
      );
      expect(
        (
          await sendMail({
            port: t1.gw.smtpPort!,
            pki: t1.pki,
            cert: 'hopital-a.mssante.fr',
            from: 'dr@hopital-a.mssante.fr',
            to: [`${P.ins}@patient.mssante.fr`],
            subject: 'Avant rotation',
            attachments: [{ filename: 'cr.pdf', content: pdf }],
          })
        ).ok,
      ).toBe(true);
      await waitFor(async () => (await t1.gw.database.db.select().from(schema.documents)).length === 1, 30_000, 'the document');
      chunkBefore = (await t1.gw.database.db.select().from(schema.blobChunks))[0]!.data;
    } finally {
      await t1.close();
    }
    const keyFile = path.join(t1.dataDir, 'keys', 'master.key');
    const oldText = await fs.readFile(keyFile, 'utf8');
    const keyring = await addCurrentKey(keyFile);
    const { openDatabase } = await import('../../db/index.js');
    const database = await openDatabase({ databaseUrl: t1.databaseUrl, dataDir: t1.dataDir });
    try {
      await sealActivity(database.db, parseKeyFile(oldText)); // the history, sealed and its head signed with the old key
      const r = await rewrapAll(database.db, keyring);
      expect(r.blobs).toBeGreaterThanOrEqual(2);
      expect(r.values).toBeGreaterThanOrEqual(3);
      expect(r.remaining).toBe(0);
      expect((await rewrapAll(database.db, keyring)).values).toBe(0); // idempotent
      const chunkAfter = (await database.db.select().from(schema.blobChunks)).find((c) => c.data.equals(chunkBefore!));
      expect(chunkAfter).toBeDefined(); // blob bodies untouched
      const [p] = await database.db.select().from(schema.patients);
      expect(await verifyActivityChain(database.db, keyring, p!.id)).toBeNull();
      // Heads signed with the old key are re-signed with the new one, so the old key can go.
      expect((await resignActivityHeads(database.db, keyring)).resigned).toBeGreaterThanOrEqual(1);
      expect(await verifyActivityChain(database.db, parseKeyFile(`${keyring.current.key.toString('base64')}\n`), p!.id)).toBeNull();
    } finally {
      await database.close();
    }
    // keep only the new key: everything must still read
    const newOnly = (await fs.readFile(keyFile, 'utf8')).split('\n').filter((l) => l.trim() && !l.startsWith('#'))[0]!;
    expect(oldText).not.toContain(newOnly);
    await fs.writeFile(keyFile, `${newOnly}\n`, { mode: 0o600 });
    const t2 = await startTestGateway({ dataDir: t1.dataDir, databaseUrl: t1.databaseUrl, redisPrefix: t1.redisPrefix });
    try {
      const api = apiClient(t2.gw.apiPort!, await loginPatient(t2, P));
      const m = (await api.json<{ items: { id: string; subject: string; attachments: { id: string }[] }[] }>('GET', '/v1/me/messages')).body.items[0]!;
      expect(m.subject).toBe('Avant rotation');
      const dl = await api.call('GET', `/v1/me/messages/${m.id}/attachments/${m.attachments[0]!.id}`);
      expect(Buffer.from(await dl.arrayBuffer()).equals(pdf)).toBe(true);
    } finally {
      await t2.close();
    }
  });
});
