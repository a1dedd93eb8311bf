// The patient's contacts and threads come in pages like the folders (GET /v1/me/contacts, GET /v1/me/threads/{id}):
// pages of LIMIT_API_PAGE_SIZE items, `next` an opaque cursor, null on the last page, every item exactly once
// in a stable order, also when many share one instant (a delivery batch files them with one transaction time,
// to the microsecond) or sit within one millisecond; a contact who writes while the patient pages is not listed
// twice; another patient's thread is empty; a malformed cursor, or one of another list, is a 400 with the
// listing's own code; the OpenAPI document describes `cursor` and `next`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { freePort } from '../support/ports.js';
import {
  apiClient,
  importPatientsCsv,
  loginPatient,
  sendMail,
  startTestGateway,
  waitFor,
  type ApiClient,
  type SendOptions,
  type TestGateway,
} from '../support/harness.js';

let t: TestGateway;
let a: ApiClient;
let b: ApiClient;
const A = {
  ins: makeTestIns(9711),
  email: 'pages9711@example.org',
  birthDate: '1970-07-11',
  provisionalCode: 'PROV-PAGE-9711',
  password: 'Mot-de-passe-Pages-9711',
};
const B = {
  ins: makeTestIns(9712),
  email: 'pages9712@example.org',
  birthDate: '1970-07-12',
  provisionalCode: 'PROV-PAGE-9712',
  password: 'Mot-de-passe-Pages-9712',
};
const PAGE = 2;
/** Five professionals write to A; the first one four times, in one thread. */
const PROS = ['dr.un', 'dr.deux', 'dr.trois', 'dr.quatre', 'dr.cinq'].map((local) => `${local}@hopital-a.mssante.fr`);
const ROOT = '<fil-pages-1@hopital-a.mssante.fr>';
let threadId = '';

interface Problem {
  code: string;
  status: number;
}
interface Contact {
  id: string;
  displayName: string;
}
interface Item {
  id: string;
  subject: string;
  folder: string;
  threadId: string | null;
}
type Listing<T> = { items: T[]; next: string | null };

const mail = (ins: string, from: string, o: Partial<SendOptions> = {}) =>
  sendMail({ port: t.gw.smtpPort!, pki: t.pki, cert: 'hopital-a.mssante.fr', from, to: [`${ins}@patient.mssante.fr`], ...o });
const sql = <R extends Record<string, unknown>>(text: string, params: unknown[] = []) => t.gw.database.pool.query<R>(text, params).then((r) => r.rows);
const patientId = async (ins: string) => (await sql<{ id: string }>('SELECT id FROM patients WHERE ins = $1', [ins]))[0]!.id;
const inboxCount = async (api: ApiClient) => {
  let n = 0;
  await readAll<Item>(api, '/v1/me/messages', (p) => (n += p.items.length));
  return n;
};
const delivered = (api: ApiClient, n: number) => waitFor(async () => (await inboxCount(api)) >= n, 30_000, `${n} messages delivered`);

/** Follows `next` from the first page to the last; every page but the last is full. Returns every item in order. */
async function readAll<T>(api: ApiClient, url: string, onPage?: (p: Listing<T>) => void): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  for (let n = 0; n < 50; n++) {
    const sep = url.includes('?') ? '&' : '?';
    const r: { status: number; body: Listing<T> } = await api.json('GET', cursor ? `${url}${sep}cursor=${encodeURIComponent(cursor)}` : url);
    expect(r.status).toBe(200);
    expect(r.body.items.length).toBeLessThanOrEqual(PAGE);
    if (r.body.next) expect(r.body.items).toHaveLength(PAGE);
    onPage?.(r.body);
    out.push(...r.body.items);
    cursor = r.body.next;
    if (!cursor) return out;
  }
  throw new Error(`${url}: more than 50 pages`);
}

beforeAll(async () => {
  // the patient's reply goes to a local closed port: nothing leaves this machine
  t = await startTestGateway({
    env: { LIMIT_API_PAGE_SIZE: String(PAGE), API_EXPOSE: 'docs', RELAY_ROUTES: `hopital-a.mssante.fr=127.0.0.1:${await freePort()}` },
  });
  await importPatientsCsv(
    t,
    [
      'ins,family_name,given_names,birth_date,email,state,provisional_code',
      `${A.ins},TEST-PAGES,A,${A.birthDate},${A.email},created,${A.provisionalCode}`,
      `${B.ins},TEST-PAGES,B,${B.birthDate},${B.email},created,${B.provisionalCode}`,
    ].join('\n'),
  );
  a = apiClient(t.gw.apiPort!, await loginPatient(t, A));
  b = apiClient(t.gw.apiPort!, await loginPatient(t, B));
  // the thread's root first: a reply joins a thread only when its parent is already in the mailbox
  expect((await mail(A.ins, PROS[0]!, { subject: 'Suivi 1', messageId: ROOT })).ok).toBe(true);
  await delivered(a, 1);
  for (let i = 2; i <= 4; i++)
    expect((await mail(A.ins, PROS[0]!, { subject: `Suivi ${i}`, headers: { 'In-Reply-To': ROOT, References: ROOT } })).ok).toBe(true);
  for (const from of PROS.slice(1)) expect((await mail(A.ins, from, { subject: `Bonjour de ${from.split('@')[0]}` })).ok).toBe(true);
  expect((await mail(B.ins, PROS[0]!, { subject: 'Pour B' })).ok).toBe(true);
  await delivered(a, 8);
  await delivered(b, 1);
  const root = (await readAll<Item>(a, '/v1/me/messages')).find((m) => m.subject === 'Suivi 1')!;
  threadId = root.threadId!;
  // the patient answers in the thread: the thread spans both folders
  expect((await a.json('POST', `/v1/me/messages/${root.id}/reply`, { text: 'Merci.' })).status).toBe(202);
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe('contacts in pages', () => {
  it('lists every contact once, the one who wrote last first, the id breaking ties to the microsecond', async () => {
    const pid = await patientId(A.ins);
    const ids = (await sql<{ id: string }>('SELECT id FROM contacts WHERE patient_id = $1 ORDER BY id', [pid])).map((r) => r.id);
    expect(ids).toHaveLength(5);
    // two at the same microsecond, two more within the same millisecond, one an hour earlier
    const at = [
      '2025-03-01T10:00:00.123456Z',
      '2025-03-01T10:00:00.123456Z',
      '2025-03-01T10:00:00.1234Z',
      '2025-03-01T10:00:00.123001Z',
      '2025-03-01T09:00:00Z',
    ];
    for (const [k, id] of ids.entries()) await sql('UPDATE contacts SET last_message_at = $2 WHERE id = $1', [id, at[k]]);
    const pages: number[] = [];
    const listed = await readAll<Contact>(a, '/v1/me/contacts', (p) => pages.push(p.items.length));
    expect(pages).toEqual([2, 2, 1]);
    // ids[1] and ids[0] tie: the greater id first (descending, like the time)
    expect(listed.map((c) => c.id)).toEqual([ids[1], ids[0], ids[2], ids[3], ids[4]]);
    expect(JSON.stringify(listed)).not.toContain('@'); // names only, never addresses
    // another patient's contacts are their own
    const ofB = await readAll<Contact>(b, '/v1/me/contacts');
    expect(ofB).toHaveLength(1);
    expect(ids).not.toContain(ofB[0]!.id);
  });

  it('does not list twice a contact who writes again while the patient pages; the next first page starts with them', async () => {
    const pid = await patientId(A.ins);
    const rows = await sql<{ id: string; address: string }>('SELECT id, address FROM contacts WHERE patient_id = $1 ORDER BY id', [pid]);
    for (const [k, r] of rows.entries()) await sql('UPDATE contacts SET last_message_at = $2 WHERE id = $1', [r.id, `2025-03-0${k + 1}T10:00:00Z`]);
    const first = await a.json<Listing<Contact>>('GET', '/v1/me/contacts');
    expect(first.body.items).toHaveLength(PAGE);
    // the oldest contact (not yet listed) writes again: it moves before the cursor
    const oldest = rows[0]!;
    const before = await inboxCount(a);
    expect((await mail(A.ins, oldest.address, { subject: 'Encore moi' })).ok).toBe(true);
    await delivered(a, before + 1);
    const seen = [...first.body.items];
    let cursor = first.body.next;
    while (cursor) {
      const p = await a.json<Listing<Contact>>('GET', `/v1/me/contacts?cursor=${encodeURIComponent(cursor)}`);
      seen.push(...p.body.items);
      cursor = p.body.next;
    }
    const ids = seen.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).not.toContain(oldest.id);
    expect((await a.json<Listing<Contact>>('GET', '/v1/me/contacts')).body.items[0]!.id).toBe(oldest.id);
  });
});

describe('a thread in pages', () => {
  it('lists both folders oldest first, every message once, also when all share one instant', async () => {
    const pages: number[] = [];
    const listed = await readAll<Item>(a, `/v1/me/threads/${threadId}`, (p) => pages.push(p.items.length));
    expect(pages).toEqual([2, 2, 1]);
    // the root, its three replies (delivered in any order), then the patient's answer, written last
    expect(listed[0]!).toMatchObject({ subject: 'Suivi 1', folder: 'inbox' });
    expect(
      listed
        .slice(1, 4)
        .map((m) => m.subject)
        .sort(),
    ).toEqual(['Suivi 2', 'Suivi 3', 'Suivi 4']);
    expect(listed[4]!).toMatchObject({ subject: 'Re: Suivi 1', folder: 'sent' });
    expect(listed.every((m) => m.threadId === threadId)).toBe(true);

    // one transaction time for all (a delivery batch): the id alone orders them, none is skipped or repeated
    const pid = await patientId(A.ins);
    const ids = listed.map((m) => m.id);
    await sql('UPDATE mailbox_messages SET received_at = $2 WHERE patient_id = $1 AND id = ANY($3::uuid[])', [pid, '2025-03-01T10:00:00.654321Z', ids]);
    const tied = await readAll<Item>(a, `/v1/me/threads/${threadId}`);
    expect(tied.map((m) => m.id)).toEqual([...ids].sort());
  });

  it('is empty for another patient, and for a thread id that cannot be one', async () => {
    expect(await b.json('GET', `/v1/me/threads/${threadId}`)).toMatchObject({ status: 200, body: { items: [], next: null } });
    expect(await a.json('GET', '/v1/me/threads/pas-un-fil')).toMatchObject({ status: 200, body: { items: [], next: null } });
  });
});

describe('a folder in pages', () => {
  it('lists every message once when several share one microsecond or one millisecond', async () => {
    const pid = await patientId(A.ins);
    const all = await readAll<Item>(a, '/v1/me/messages');
    expect(all.length).toBeGreaterThanOrEqual(9);
    const ids = all.map((m) => m.id).sort();
    // half of them at one microsecond, the others spread within the same millisecond
    for (const [k, id] of ids.entries()) {
      await sql('UPDATE mailbox_messages SET received_at = $2 WHERE id = $1 AND patient_id = $3', [
        id,
        k % 2 ? '2025-04-01T08:00:00.777777Z' : `2025-04-01T08:00:00.777${String(k).padStart(3, '0')}Z`,
        pid,
      ]);
    }
    const again = await readAll<Item>(a, '/v1/me/messages');
    expect(again.map((m) => m.id).sort()).toEqual(ids);
    expect(new Set(again.map((m) => m.id)).size).toBe(ids.length);
  });
});

describe('documents in pages', () => {
  it('lists every attachment of one message once, although they share one transaction time to the microsecond', async () => {
    const pdf = (n: number) => Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from(`piece ${n} `.repeat(200))]);
    const attachments = [1, 2, 3, 4, 5].map((n) => ({ filename: `piece-${n}.pdf`, content: pdf(n), contentType: 'application/pdf' }));
    expect((await mail(B.ins, PROS[0]!, { subject: 'Cinq pièces', attachments })).ok).toBe(true);
    const count = async () => (await sql<{ n: string }>('SELECT count(*) AS n FROM documents WHERE patient_id = $1', [await patientId(B.ins)]))[0]!.n;
    await waitFor(async () => (await count()) === '5', 30_000, 'five documents filed');
    const times = await sql<{ n: string }>('SELECT count(DISTINCT created_at) AS n FROM documents WHERE patient_id = $1', [await patientId(B.ins)]);
    expect(times[0]!.n).toBe('1'); // the case that a millisecond cursor got wrong
    const docs = await readAll<{ id: string; title: string }>(b, '/v1/me/documents');
    expect(docs.map((d) => d.title).sort()).toEqual(['piece-1.pdf', 'piece-2.pdf', 'piece-3.pdf', 'piece-4.pdf', 'piece-5.pdf']);
    expect(new Set(docs.map((d) => d.id)).size).toBe(5);
    const bad = await b.json<Problem>(
      'GET',
      `/v1/me/documents?cursor=${encodeURIComponent(Buffer.from(JSON.stringify({ l: 'contacts', t: '2025-02-01T10:00:00Z', i: '00000000-0000-4000-8000-000000000000' })).toString('base64url'))}`,
    );
    expect(bad.status).toBe(400);
  });
});

describe('cursors', () => {
  const firstNext = async (url: string) => (await a.json<Listing<unknown>>('GET', url)).body.next!;
  const forged = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

  it.each([
    ['/v1/me/contacts', 'API-MSG-04'],
    ['/v1/me/threads/THREAD', 'API-MSG-05'],
    ['/v1/me/messages', 'API-MSG-02'],
  ])('%s refuses a malformed cursor, or one of another list, with 400 %s', async (path, code) => {
    const url = path.replace('THREAD', threadId);
    const messagesCursor = await firstNext('/v1/me/messages');
    const contactsCursor = await firstNext('/v1/me/contacts');
    const own = url.startsWith('/v1/me/contacts') ? contactsCursor : url.startsWith('/v1/me/messages') ? messagesCursor : await firstNext(url);
    expect((await a.json('GET', `${url}?cursor=${encodeURIComponent(own)}`)).status).toBe(200);
    const bad = [
      'not-a-cursor',
      forged({ l: 'contacts', t: '2025-02-30T10:00:00Z', i: '00000000-0000-4000-8000-000000000000' }), // 30 February
      forged({ l: 'contacts', t: '2025-02-01T10:00:00Z', i: "1' OR '1'='1" }),
      forged(['contacts']),
      url.startsWith('/v1/me/contacts') ? messagesCursor : contactsCursor, // another list's cursor
    ];
    for (const cursor of bad) {
      const r = await a.json<Problem>('GET', `${url}?cursor=${encodeURIComponent(cursor)}`);
      expect(r.status, cursor).toBe(400);
      expect(r.type).toMatch(/^application\/problem\+json/);
      expect(r.body.code).toBe(code);
    }
    // a cursor a thread id cannot rescue
    if (url.includes('/threads/')) expect((await a.json<Problem>('GET', '/v1/me/threads/pas-un-fil?cursor=x')).body.code).toBe(code);
  });

  it('is described in the OpenAPI document: `cursor` in, `next` out', async () => {
    const doc = await apiClient(t.gw.apiPort!).json<{
      paths: Record<
        string,
        {
          get: {
            parameters?: { name: string; in: string }[];
            responses: Record<string, { content: Record<string, { schema: { properties: Record<string, { description?: string }> } }> }>;
          };
        }
      >;
    }>('GET', '/docs/json');
    for (const path of ['/v1/me/messages', '/v1/me/contacts', '/v1/me/threads/{threadId}']) {
      const get = doc.body.paths[path]!.get;
      expect(
        get.parameters?.filter((p) => p.in === 'query').map((p) => p.name),
        path,
      ).toContain('cursor');
      expect(get.responses['400'], path).toBeDefined();
      const props = get.responses['200']!.content['application/json']!.schema.properties;
      expect(Object.keys(props), path).toEqual(['items', 'next']);
      expect(props.next!.description, path).toMatch(/cursor/);
    }
  });
});
