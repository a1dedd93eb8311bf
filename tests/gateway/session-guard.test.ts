// Session slots cannot be hoarded (SPEC §3): per-address connection cap, a deadline to an accepted MAIL FROM,
// and a budget of commands between two accepted messages. Real gateway, real TLS; small budgets through the
// environment so each limit is reached in a few commands. Nothing is timed: each test waits for the server's
// reply or close (without the guard they would wait for the 5-minute idle timeout and fail at the test timeout).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { RawSmtp } from '../support/raw-smtp.js';
import { importPatientsCsv, startTestGateway, waitFor, type TestGateway } from '../support/harness.js';

const ins = makeTestIns(301);
let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({
    env: { LIMIT_MAX_CONNECTIONS_PER_IP: '3', LIMIT_AUTH_DEADLINE_MS: '1500', LIMIT_MAX_COMMANDS_WITHOUT_MESSAGE: '6' },
  });
  await importPatientsCsv(
    t,
    ['ins,family_name,given_names,birth_date,email,state,provisional_code', `${ins},TEST-GARDE,Alice,1980-01-02,g@example.org,active,`].join('\n'),
  );
});
afterAll(async () => {
  await t?.close();
});

describe('SMTP session guard', () => {
  it('refuses a connection beyond the per-address cap with 421, and admits one again once a slot is free', async () => {
    const held = [await RawSmtp.plain(t.gw.smtpPort!), await RawSmtp.plain(t.gw.smtpPort!), await RawSmtp.plain(t.gw.smtpPort!)];
    try {
      for (const c of held) expect(c.greeting).toMatch(/^220 /);
      const extra = await RawSmtp.plain(t.gw.smtpPort!);
      expect(extra.greeting).toMatch(/^421 4\.7\.0 .*\[GW-CONN-04\]$/);
      await extra.closed();
      held.shift()!.close();
      const again = await waitFor(
        async () => {
          const c = await RawSmtp.plain(t.gw.smtpPort!);
          if (c.greeting.startsWith('220')) return c;
          c.close();
          return null;
        },
        20_000,
        'a free slot',
      );
      held.push(again);
    } finally {
      for (const c of held) c.close();
    }
  });

  it('closes a session that has not reached an accepted MAIL FROM within the deadline', async () => {
    const idle = await RawSmtp.plain(t.gw.smtpPort!);
    expect(await idle.reply()).toMatch(/^421 4\.7\.0 .*\[GW-CONN-05\]$/);
    await idle.closed();
    // TLS and a certificate are not enough: a session whose MAIL FROM is refused is closed too.
    const stalling = await RawSmtp.connect(t.gw.smtpPort!, t.pki, 'hopital-a.mssante.fr');
    expect(await stalling.cmd('MAIL FROM:<dr.x@not-listed.example>')).toMatch(/^550 5\.7\.1 .*\[GW-MAIL-01\]$/);
    expect(await stalling.reply()).toMatch(/^421 4\.7\.0 .*\[GW-CONN-05\]$/);
    await stalling.closed();
  });

  it('closes a session that only talks, while one that delivers has its budget refilled by each message', async () => {
    const c = await RawSmtp.connect(t.gw.smtpPort!, t.pki, 'hopital-a.mssante.fr');
    try {
      // EHLO twice already spent 2 (plus STARTTLS: 3); each message refills the budget.
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 2; i++) expect(await c.cmd('NOOP')).toMatch(/^250/);
        expect(await c.cmd('MAIL FROM:<dr.house@hopital-a.mssante.fr>')).toMatch(/^250/);
        expect(await c.cmd(`RCPT TO:<${ins}@patient.mssante.fr>`)).toMatch(/^250/);
        expect(await c.cmd('DATA')).toMatch(/^354/);
        await c.write('From: dr.house@hopital-a.mssante.fr\r\nSubject: garde\r\n\r\nbonjour\r\n.\r\n');
        expect(await c.reply()).toMatch(/^250 2\.0\.0 /);
      }
      const replies: string[] = [];
      for (let i = 0; i < 7; i++) {
        const r = await c.cmd('NOOP');
        replies.push(r);
        if (r.startsWith('421')) break;
      }
      expect(replies.slice(0, 6).every((r) => r.startsWith('250'))).toBe(true);
      expect(replies[6]).toMatch(/^421 4\.7\.0 .*\[GW-CONN-06\]$/);
      await c.closed();
    } finally {
      c.close();
    }
  });
});
