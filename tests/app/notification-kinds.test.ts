// Notification e-mails that say what happened (mailbox/rules/notification-window.ts, app/notification-dispatcher.ts),
// end to end on a real gateway: a delivered message, a document deposited by a professional through the
// professional API, and a professional reading it each produce their own fixed French sentence, and none carries
// a subject, title, file name, name, organisation, RPPS or INS.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevIssuer, issueDevToken } from '../../access/pro-auth/index.js';
import { makeTestIns } from '../../access/rules/ins.js';
import { createLogger } from '../../app/gateway.js';
import { NotificationDispatcher } from '../../app/notification-dispatcher.js';
import { openDatabase } from '../../db/index.js';
import { createNotifier } from '../../gateway/notify/index.js';
import { loadKeyring } from '../../vault/index.js';
import { apiClient, importPatientsCsv, loginPatient, sendToPatient, startTestGateway, waitFor, type TestGateway } from '../support/harness.js';

const P = { ins: makeTestIns(9301), email: 'p9301@example.org', birthDate: '1971-07-07', provisionalCode: 'PROV-P-9301', password: 'Mot-de-passe-P-9301' };
/** The patient of the second gateway (window of an hour). */
const Q = { ins: makeTestIns(9302), email: 'q9302@example.org', birthDate: '1972-08-08', provisionalCode: 'PROV-Q-9302', password: 'Mot-de-passe-Q-9302' };
const DOCTOR = { rpps: '10000000031', name: 'Dr Alice Hépatologue' };
const NURSE = { rpps: '60000000032', name: 'Infirmier Bruno Lecteur' };
const ORGANISATION = 'CLINIQUE DES TESTS';

const MESSAGE = 'Vous avez reçu un ou plusieurs nouveaux messages dans votre messagerie Mon espace santé.';
const DOCUMENT = 'Un ou plusieurs nouveaux documents ont été ajoutés à votre profil Mon espace santé.';
const ACTIONS = 'Des professionnels de santé ont réalisé des actions sur des documents de votre profil';
/** Whatever identifies the patient, the professionals or the content: none may appear in a notice. */
const SECRETS = [
  P.ins,
  'TEST-NOTIF',
  'Jeanne',
  'Convocation scanner',
  'Bilan hépatique',
  'bilan-hepatique.pdf',
  'Alice',
  'Hépatologue',
  'Bruno',
  ORGANISATION,
  DOCTOR.rpps,
  NURSE.rpps,
  'hopital-a',
  'labo@',
];

let t: TestGateway;
const seen = new Set<string>();
const pdf = () => Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(5_000)]);

const bearer = (p: { rpps: string; name: string }, profession: string, gw: TestGateway = t) =>
  issueDevToken({ dir: path.join(gw.pki, 'oidc'), rpps: p.rpps, profession, name: p.name, organisation: ORGANISATION });

/** A document deposited by DOCTOR through the professional API; returns its id. */
async function deposit(ins: string, gw: TestGateway = t): Promise<string> {
  const form = new FormData();
  form.set('title', 'Bilan hépatique');
  form.set('typeCode', '11502-2');
  form.set('file', new Blob([new Uint8Array(pdf())], { type: 'application/pdf' }), 'bilan-hepatique.pdf');
  const res = await fetch(`${apiClient(gw.gw.apiPort!).base}/v1/patients/${ins}/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer(DOCTOR, '10', gw)}` },
    body: form,
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** The next notification e-mail to the patient not looked at yet (login codes aside). */
async function nextNotice(what: string): Promise<{ subject: string; text: string; raw: string }> {
  const dir = path.join(t.dataDir, 'notifications');
  return waitFor(
    async () => {
      for (const f of (await fs.readdir(dir)).filter((x) => x.endsWith('.eml')).sort()) {
        if (seen.has(f)) continue;
        const raw = await fs.readFile(path.join(dir, f));
        const m = await simpleParser(raw);
        const to = m.to && !Array.isArray(m.to) ? m.to.value[0]?.address : undefined;
        if (to !== P.email || /code de connexion/.test(m.subject ?? '')) {
          seen.add(f);
          continue;
        }
        seen.add(f);
        return { subject: m.subject ?? '', text: m.text ?? '', raw: raw.toString('utf8') };
      }
      return null;
    },
    20_000,
    what,
  );
}

function expectNothingIdentifying(n: { subject: string; text: string; raw: string }) {
  for (const s of SECRETS) {
    expect(n.text).not.toContain(s);
    expect(n.subject).not.toContain(s);
    expect(n.raw).not.toContain(s);
  }
}

beforeAll(async () => {
  t = await startTestGateway({ env: { NOTIFY_WINDOW_SECONDS: '1' } });
  ensureDevIssuer(path.join(t.pki, 'oidc'));
  await importPatientsCsv(
    t,
    [
      'ins,family_name,given_names,birth_date,email,state,provisional_code',
      `${P.ins},TEST-NOTIF,Jeanne,${P.birthDate},${P.email},created,${P.provisionalCode}`,
    ].join('\n'),
  );
  await loginPatient(t, P);
});
afterAll(async () => {
  await t?.close();
});

describe('notification texts per kind', () => {
  let documentId = '';

  it('a delivered message is announced as new messages', async () => {
    expect((await sendToPatient(t, P.ins, { subject: 'Convocation scanner', text: 'Bonjour Jeanne, venez mardi.' })).ok).toBe(true);
    const n = await nextNotice('the message notice');
    expect(n.subject).toBe('Nouveau message dans Mon espace santé');
    expect(n.text).toContain(MESSAGE);
    expect(n.text).not.toContain(DOCUMENT);
    expect(n.text).not.toContain(ACTIONS);
    expectNothingIdentifying(n);
  });

  it('a document deposited by a professional is announced as a new document, not as a message', async () => {
    const form = new FormData();
    form.set('title', 'Bilan hépatique');
    form.set('typeCode', '11502-2');
    documentId = await deposit(P.ins);
    const n = await nextNotice('the document notice');
    expect(n.subject).toBe('Du nouveau dans Mon espace santé');
    expect(n.text).toContain(DOCUMENT);
    expect(n.text).not.toContain(MESSAGE);
    expect(n.text).not.toContain(ACTIONS);
    expectNothingIdentifying(n);
  });

  it("a professional's read of a document is announced as actions on documents, not as a message", async () => {
    expect(documentId).not.toBe('');
    const read = await apiClient(t.gw.apiPort!, bearer(NURSE, '60')).call('GET', `/v1/patients/${P.ins}/documents/${documentId}/content`);
    expect(read.status).toBe(200);
    await read.arrayBuffer();
    const n = await nextNotice('the actions notice');
    expect(n.subject).toBe('Du nouveau dans Mon espace santé');
    expect(n.text).toContain(`${ACTIONS}.`);
    expect(n.text).not.toContain(MESSAGE);
    expect(n.text).not.toContain(DOCUMENT);
    expectNothingIdentifying(n);
  });
});

describe('one e-mail per window, whatever the kinds', () => {
  let t2: TestGateway;
  beforeAll(async () => {
    t2 = await startTestGateway({ env: { NOTIFY_WINDOW_SECONDS: '3600' } });
    ensureDevIssuer(path.join(t2.pki, 'oidc'));
    await importPatientsCsv(
      t2,
      [
        'ins,family_name,given_names,birth_date,email,state,provisional_code',
        `${Q.ins},TEST-NOTIF,Quentin,${Q.birthDate},${Q.email},created,${Q.provisionalCode}`,
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await t2?.close();
  });

  /** Notification e-mails to Q in `dir` (login codes aside). */
  async function noticesTo(dir: string): Promise<{ subject: string; text: string; raw: string }[]> {
    const out = [];
    for (const f of (await fs.readdir(dir)).filter((x) => x.endsWith('.eml')).sort()) {
      const raw = await fs.readFile(path.join(dir, f));
      const m = await simpleParser(raw);
      const to = m.to && !Array.isArray(m.to) ? m.to.value[0]?.address : undefined;
      if (to === Q.email && !/code de connexion/.test(m.subject ?? ''))
        out.push({ subject: m.subject ?? '', text: m.text ?? '', raw: raw.toString('utf8').replace(Q.email, '') });
    }
    return out;
  }

  it('a message, a document and a read within one window make one e-mail with the three sentences, sent once by two dispatchers', async () => {
    const qApi = apiClient(t2.gw.apiPort!, await loginPatient(t2, Q));
    const gatewayDir = path.join(t2.dataDir, 'notifications');
    // The first message is announced at once (Q was never notified); it opens the window.
    expect((await sendToPatient(t2, Q.ins, { subject: 'Convocation scanner' })).ok).toBe(true);
    const first = await waitFor(async () => (await noticesTo(gatewayDir))[0], 20_000, 'the first notice');
    expect(first.text).toContain(MESSAGE);
    // Within the window: another message, a deposit and a read.
    expect((await sendToPatient(t2, Q.ins, { subject: 'Convocation scanner' })).ok).toBe(true);
    await waitFor(async () => (await qApi.json<{ items: unknown[] }>('GET', '/v1/me/messages')).body.items.length >= 2, 20_000, "Q's second message");
    const docId = await deposit(Q.ins, t2);
    const read = await apiClient(t2.gw.apiPort!, bearer(NURSE, '60', t2)).call('GET', `/v1/patients/${Q.ins}/documents/${docId}/content`);
    expect(read.status).toBe(200);
    await read.arrayBuffer();

    const keyring = await loadKeyring(path.join(t2.dataDir, 'keys', 'master.key'), false);
    const database = await openDatabase({ databaseUrl: t2.databaseUrl, dataDir: t2.dataDir, poolSize: 4 });
    const dir = await fs.mkdtemp(path.join(t2.dataDir, 'own-notices-'));
    const notifier = createNotifier({ dir, from: 'Mon espace santé <ne-pas-repondre@monespacesante.example>' });
    const logger = createLogger('silent');
    const dispatcher = (windowSeconds: number) => new NotificationDispatcher(database.db, keyring, notifier, { windowSeconds, tickMs: 1_000, logger });
    try {
      // Within the hour: nothing sent (by the gateway's dispatcher or by one of ours), the pending notice kept.
      expect(await dispatcher(3600).sendDue()).toBe(0);
      expect(await noticesTo(gatewayDir)).toHaveLength(1);
      // Once the window is over (here: two dispatchers with a window of 0, at once): exactly one e-mail.
      const [a, b] = [dispatcher(0), dispatcher(0)];
      const sent = await waitFor(
        async () => {
          const n = (await Promise.all([a.sendDue(), b.sendDue()])).reduce((x, y) => x + y, 0);
          return n > 0 ? n : null;
        },
        20_000,
        'the grouped notice',
      );
      expect(sent).toBe(1);
      expect(await a.sendDue()).toBe(0); // nothing new since
      const mine = await noticesTo(dir);
      expect(mine).toHaveLength(1);
      const n = mine[0]!;
      expect(n.subject).toBe('Du nouveau dans Mon espace santé');
      const at = [MESSAGE, DOCUMENT, `${ACTIONS}.`].map((x) => n.text.indexOf(x));
      expect(
        at.every((i) => i >= 0),
        n.text,
      ).toBe(true);
      expect([...at].sort((x, y) => x - y)).toEqual(at);
      for (const notice of [first, n]) {
        expectNothingIdentifying(notice);
        expect(notice.raw).not.toContain(Q.ins);
        expect(notice.raw).not.toContain('Quentin');
      }
    } finally {
      notifier.close();
      await database.close();
    }
  });
});
