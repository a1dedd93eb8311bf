// The patient webmail in Debian's Chromium (playwright-core, never a downloaded browser) against the real
// server: French page at `/`, login with the INS and password (Enter), then the e-mailed code (Enter), then the
// inbox with the subject of a message delivered over SMTP.
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { freePort } from '../support/ports.js';
import { importPatientsCsv, readLoginCode, sendMail, startTestGateway, waitFor, type TestGateway } from '../support/harness.js';

let t: TestGateway;
let browser: Browser;
const P = { ins: makeTestIns(9501), email: 'web9501@example.org', birthDate: '1980-08-08', provisionalCode: 'PROV-WEB-9501', password: 'Mot-de-passe-Web-9501' };

beforeAll(async () => {
  // replies go to a local closed port: no routing outside this machine
  t = await startTestGateway({ env: { RELAY_ROUTES: `hopital-a.mssante.fr=127.0.0.1:${await freePort()}` } });
  await importPatientsCsv(t, `ins,family_name,given_names,birth_date,email,state,provisional_code\n${P.ins},TEST-WEB,W,${P.birthDate},${P.email},created,${P.provisionalCode}\n`);
  expect((await sendMail({ port: t.gw.smtpPort!, pki: t.pki, cert: 'hopital-a.mssante.fr', from: 'dr.web@hopital-a.mssante.fr', to: [`${P.ins}@patient.mssante.fr`], subject: 'Résultats de votre prise de sang' })).ok).toBe(true);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

/** The contract's login: INS and password submitted with Enter, then the e-mailed code submitted with Enter. */
async function signIn(page: Page): Promise<void> {
  await page.fill('#ins', P.ins);
  await page.fill('#password', P.password);
  await page.press('#password', 'Enter');
  const code = page.locator('input[autocomplete="one-time-code"]');
  await code.waitFor({ timeout: 15_000 });
  const otp = await waitFor(async () => readLoginCode(t.dataDir, P.email).catch(() => null), 10_000, 'the code e-mail');
  await code.fill(otp);
  await code.press('Enter');
}

describe('webmail', () => {
  it('activates the profile with the provisional code and birth date', async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${t.gw.apiPort}/`);
    await page.click('#go-activation');
    await page.fill('#act-ins', P.ins);
    await page.fill('#act-code', 'MAUVAIS-CODE');
    await page.fill('#act-birth', P.birthDate);
    await page.fill('#act-password', P.password);
    await page.press('#act-password', 'Enter');
    await page.locator('[role="alert"]').filter({ hasText: /Activation impossible/ }).waitFor({ timeout: 10_000 });
    await page.fill('#act-code', P.provisionalCode);
    await page.press('#act-password', 'Enter');
    await page.getByText('Votre profil est activé').waitFor({ timeout: 10_000 });
    expect(await page.locator('#ins').count()).toBe(1);
    await page.close();
  }, 60_000);

  it('logs in with the password then the e-mailed code, and shows the inbox', async () => {
    const page = await browser.newPage();
    const res = await page.goto(`http://127.0.0.1:${t.gw.apiPort}/`);
    expect(res?.headers()['content-security-policy']).toMatch(/default-src 'self'/);
    expect(await page.getAttribute('html', 'lang')).toBe('fr');
    await signIn(page);
    await page.getByText('Résultats de votre prise de sang').waitFor({ timeout: 15_000 });
    expect(await page.locator('#inbox li').count()).toBe(1);

    // open it and reply with the keyboard-reachable form
    await page.getByText('Résultats de votre prise de sang').click();
    await page.locator('#reply-text').fill('Merci docteur.');
    await page.getByRole('button', { name: 'Envoyer' }).click();
    await page.getByText('Votre réponse a été envoyée.').waitFor({ timeout: 15_000 });
    await page.close();
  }, 60_000);

  it('shows the closed notice instead of the reply form after [FIN]', async () => {
    const from = 'dr.fin@hopital-a.mssante.fr';
    const base = { port: t.gw.smtpPort!, pki: t.pki, cert: 'hopital-a.mssante.fr' as const, from, to: [`${P.ins}@patient.mssante.fr`] };
    expect((await sendMail({ ...base, subject: 'Dernier suivi' })).ok).toBe(true);
    expect((await sendMail({ ...base, subject: '[FIN]' })).ok).toBe(true);
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${t.gw.apiPort}/`);
    await signIn(page);
    await page.getByText('Dernier suivi').waitFor({ timeout: 20_000 });
    await page.getByText('Dernier suivi').click();
    await page.getByRole('note').filter({ hasText: 'a mis fin à vos échanges.' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('#reply-form').count()).toBe(0);
    expect(await page.getByText('[FIN]').count()).toBe(0);
    await page.close();
  }, 60_000);

  it('shows a readable error for a wrong password', async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${t.gw.apiPort}/`);
    await page.fill('#ins', P.ins);
    await page.fill('#password', 'pas-le-bon-mot-de-passe');
    await page.press('#password', 'Enter');
    await expect(page.locator('[role="alert"]').filter({ hasText: /incorrect/ }).first().waitFor({ timeout: 10_000 })).resolves.toBeUndefined();
    await page.close();
  }, 60_000);
});
