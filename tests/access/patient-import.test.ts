// The CSV import on existing profiles (access/patients.ts importPatients, as the admin API and
// `npm run cli -- patients import` run it), on real PostgreSQL: an existing profile keeps its state and
// credentials unless the lifecycle allows the change, a new provisional code only reaches a profile never
// activated, and every change is in the patient's activity history.
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planImportUpdate } from '../../access/rules/patient-import.js';
import { makeTestIns } from '../../access/rules/ins.js';
import { readIdentity, sealActivity } from '../../access/index.js';
import { apiClient, loginPatient, startTestGateway, type TestGateway } from '../support/harness.js';

let t: TestGateway;
let db: pg.Client;
const HEADER = 'ins,family_name,given_names,birth_date,email,state,provisional_code';
const A = { ins: makeTestIns(9801), email: 'imp-a@example.org', birthDate: '1961-01-01', provisionalCode: 'PROV-IMP-A', password: 'Mot-de-passe-IMP-A1' };
const N = { ins: makeTestIns(9802), email: 'imp-n@example.org', birthDate: '1962-02-02', provisionalCode: 'PROV-IMP-N' };
const O = { ins: makeTestIns(9803), email: 'imp-o@example.org', birthDate: '1963-03-03', provisionalCode: 'PROV-IMP-O' };
const row = (p: { ins: string; email: string; birthDate: string }, state: string, code = '', family = 'TEST-IMP') =>
  `${p.ins},${family},X,${p.birthDate},${p.email},${state},${code}`;

async function importCsv(lines: string[]) {
  const token = (await fs.readFile(path.join(t.dataDir, 'admin.token'), 'utf8')).trim();
  const r = await apiClient(t.gw.apiPort!, token).call('POST', '/v1/admin/patients/import', [HEADER, ...lines].join('\n'), { 'content-type': 'text/csv' });
  expect(r.status).toBe(200);
  return (await r.json()) as { created: number; updated: number; unchanged: number; stateKept: number; codesIgnored: number };
}
const profile = async (ins: string) =>
  (
    await db.query<{ state: string; password_hash: string | null; provisional_code_hash: string | null }>(
      'SELECT state, password_hash, provisional_code_hash FROM patients WHERE ins = $1',
      [ins],
    )
  ).rows[0]!;
const history = async (ins: string) =>
  (
    await db.query<{ kind: string; actor: string }>(
      'SELECT kind, actor FROM activity_events e JOIN patients p ON p.id = e.patient_id WHERE p.ins = $1 ORDER BY e.id',
      [ins],
    )
  ).rows;
const activate = (p: { ins: string; birthDate: string }, provisionalCode: string) =>
  apiClient(t.gw.apiPort!).call('POST', '/v1/patient/activate', { ins: p.ins, provisionalCode, birthDate: p.birthDate, password: 'Un-mot-de-passe-ok-98' });

beforeAll(async () => {
  t = await startTestGateway();
  db = new pg.Client({ connectionString: t.databaseUrl });
  await db.connect();
  expect(await importCsv([row(A, 'created', A.provisionalCode), row(N, 'pending', N.provisionalCode), row(O, 'pending', O.provisionalCode)])).toMatchObject({
    created: 3,
    updated: 0,
  });
});
afterAll(async () => {
  await db?.end();
  await t?.close();
});

describe('re-importing existing profiles', () => {
  it('keeps the state, password and sessions of an active profile, and issues it no new code', async () => {
    const token = await loginPatient(t, A); // activates: active, password set, code consumed
    const before = await profile(A.ins);
    const r = await importCsv([row({ ...A, email: 'imp-a-new@example.org' }, 'pending', 'NEW-CODE-A')]);
    const after = await profile(A.ins);
    expect(after.state).toBe('active');
    expect(after.password_hash).toBe(before.password_hash);
    expect(after.provisional_code_hash).toBeNull();
    expect((await activate(A, 'NEW-CODE-A')).status).toBe(400);
    expect((await apiClient(t.gw.apiPort!, token).json('GET', '/v1/me/messages')).status).toBe(200); // no state change: the session lives
    expect(r).toMatchObject({ created: 0, updated: 1, stateKept: 1, codesIgnored: 1 });
    // the identity follows the file: the next login code goes to the new address
    await loginPatient(t, { ...A, email: 'imp-a-new@example.org', provisionalCode: undefined });
  });

  it('gives a new provisional code only to a profile never activated', async () => {
    const r = await importCsv([row(N, 'pending', 'NEW-CODE-N')]);
    expect(r).toMatchObject({ updated: 1, codesIgnored: 0 });
    expect((await activate(N, N.provisionalCode)).status).toBe(400); // the old code is replaced
    expect((await activate(N, 'NEW-CODE-N')).status).toBe(204);
  });

  it('changes the state only along the lifecycle an import may follow', async () => {
    const first = await importCsv([row(O, 'opposed')]);
    const opposed = await profile(O.ins);
    expect(opposed.state).toBe('opposed');
    // an import never reopens what the patient opposed (nor makes anything active), nor gives it a code
    const r = await importCsv([row(O, 'created', 'NEW-CODE-O')]);
    expect(await profile(O.ins)).toEqual(opposed);
    expect(first).toMatchObject({ updated: 1, stateKept: 0 });
    expect(r).toMatchObject({ updated: 0, unchanged: 1, stateKept: 1, codesIgnored: 1 });
  });

  it('records every change in the patient history, sealed in the chain', async () => {
    await sealActivity(t.gw.database.db, t.gw.keyring);
    expect((await history(A.ins)).map((e) => e.kind)).toEqual(['profile-updated']);
    expect((await history(N.ins)).map((e) => e.kind)).toEqual(['provisional-code-issued']);
    expect((await history(O.ins)).map((e) => e.kind)).toEqual(['profile-state-changed']);
    expect(new Set((await history(O.ins)).map((e) => e.actor))).toEqual(new Set(['operator']));
    const unsealed = await db.query(`SELECT count(*)::int AS n FROM activity_events WHERE hash IS NULL`);
    expect(unsealed.rows[0].n).toBe(0);
  });

  it('leaves a profile alone when the row says what it already holds', async () => {
    expect(await importCsv([row(O, 'opposed')])).toMatchObject({ created: 0, updated: 0, unchanged: 1 });
  });
});

describe('files as French tools save them, through the admin API', () => {
  /** Windows-1252 bytes of `text` (only Latin-1 letters and the typographic apostrophe here). */
  const cp1252 = (text: string) => Buffer.from([...text].map((ch) => (ch === '’' ? 0x92 : ch.codePointAt(0)!)));
  const post = async (route: string, body: Buffer) => {
    const token = (await fs.readFile(path.join(t.dataDir, 'admin.token'), 'utf8')).trim();
    const r = await fetch(`http://127.0.0.1:${t.gw.apiPort}${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
      body: new Uint8Array(body),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const identityOf = async (ins: string) => {
    const p = (await db.query<{ identity: Buffer }>('SELECT identity FROM patients WHERE ins = $1', [ins])).rows[0];
    return p ? readIdentity(t.gw.keyring, ins, p.identity) : null;
  };
  const H = { ins: makeTestIns(9811), birthDate: '1964-04-04' };

  it('imports a `;` Windows-1252 file with CRLF (Excel on a French Windows), names intact, and says it converted it', async () => {
    const text = `${HEADER.replaceAll(',', ';')}\r\n${H.ins};D’Arc-Lefèvre;Hélène Françoise;${H.birthDate};imp-h@example.org;created;\r\n`;
    const r = await post('/v1/admin/patients/import', cp1252(text));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ created: 1, encoding: 'windows-1252', notice: expect.stringMatching(/Windows-1252/) });
    expect(await identityOf(H.ins)).toMatchObject({ familyName: 'D’Arc-Lefèvre', givenNames: 'Hélène Françoise' });
  });

  it('refuses a file it cannot decode (422, the line of the first bad byte) and imports nothing of it', async () => {
    const other = makeTestIns(9812);
    const body = Buffer.concat([
      Buffer.from(`${HEADER}\r\n${other},Dupont,Jean,1970-01-01,imp-j@example.org,created,\r\n${makeTestIns(9813)},Du`),
      Buffer.from([0x81]),
      Buffer.from('pont,Luc,1970-01-01,imp-l@example.org,created,\r\n'),
    ]);
    const r = await post('/v1/admin/patients/import', body);
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ code: 'API-ADMIN-02', errors: [{ line: 3, message: expect.stringMatching(/neither UTF-8 nor Windows-1252.*CSV UTF-8/) }] });
    expect(await identityOf(other)).toBeNull();
  });

  it('refuses a name holding U+FFFD (a letter an earlier conversion lost) with its line', async () => {
    const ins = makeTestIns(9814);
    const r = await post('/v1/admin/patients/import', Buffer.from(`${HEADER}\n${ins},H\uFFFDl\uFFFDne,X,1970-01-01,imp-r@example.org,created,\n`));
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ errors: [{ line: 2, message: expect.stringMatching(/U\+FFFD/) }] });
    expect(await identityOf(ins)).toBeNull();
  });

  it("imports the professionals' directory from a `;` Windows-1252 file", async () => {
    const r = await post(
      '/v1/admin/directory/import',
      cp1252('address;rpps;profession_code;display_name\r\ndr.lefevre@hopital-a.mssante.fr;10009;10;Dr Hélène Lefèvre\r\n'),
    );
    expect(r).toMatchObject({ status: 200, body: { imported: 1, encoding: 'windows-1252' } });
    const saved = await db.query<{ display_name: string }>("SELECT display_name FROM professionals WHERE address = 'dr.lefevre@hopital-a.mssante.fr'");
    expect(saved.rows[0]?.display_name).toBe('Dr Hélène Lefèvre');
  });
});

describe('planImportUpdate (the rule)', () => {
  const identity = { familyName: 'F', givenNames: 'G', birthDate: '1970-01-01', email: 'e@example.org' };
  const csvRow = (state: 'pending' | 'created' | 'active' | 'opposed' | 'closed', provisionalCode: string | null = null) => ({
    ins: 'X',
    ...identity,
    state,
    provisionalCode,
  });
  it('never activates, never reopens, never rewinds', () => {
    expect(planImportUpdate({ state: 'created', activated: false, identity }, csvRow('active'))).toMatchObject({ stateTo: null, stateKept: true });
    expect(planImportUpdate({ state: 'closed', activated: true, identity }, csvRow('created'))).toMatchObject({ stateTo: null, stateKept: true });
    expect(planImportUpdate({ state: 'active', activated: true, identity }, csvRow('pending'))).toMatchObject({ stateTo: null, stateKept: true });
    expect(planImportUpdate({ state: 'active', activated: true, identity }, csvRow('closed'))).toMatchObject({ stateTo: 'closed', stateKept: false });
    expect(planImportUpdate({ state: 'pending', activated: false, identity }, csvRow('created', 'C'))).toMatchObject({ stateTo: 'created', issueCode: true });
    expect(planImportUpdate({ state: 'bogus', activated: false, identity }, csvRow('created', 'C'))).toMatchObject({
      stateTo: null,
      issueCode: false,
      codeIgnored: true,
    });
  });
});
