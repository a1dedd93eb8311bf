// Account self-service in the webmail, in Debian's Chromium against the real server (beside webmail.test.ts, same
// patterns): a new provisional code asked for from the login page (the page says the same thing for an unknown
// INS), the forgotten password with that code, changing the password from « Mon profil », logging out of every
// device, and reopening a closed profile.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { apiClient, importPatientsCsv, loginPatient, readProvisionalCode, startTestGateway, waitFor, type TestGateway } from '../support/harness.js';
import { launchChromium, signInPage } from '../support/browser.js';

let t: TestGateway;
let browser: Browser;
const P = {
  ins: makeTestIns(9530),
  email: 'web9530@example.org',
  birthDate: '1982-02-12',
  provisionalCode: 'PROV-WEB-9530',
  password: 'Mot-de-passe-Web-9530',
};

beforeAll(async () => {
  t = await startTestGateway({ env: { LIMIT_PATIENT_AUTH_PER_IP_PER_MINUTE: '100000' } });
  await importPatientsCsv(
    t,
    `ins,family_name,given_names,birth_date,email,state,provisional_code\n${P.ins},TEST-WEB,W,${P.birthDate},${P.email},created,${P.provisionalCode}\n`,
  );
  await loginPatient(t, P); // activated
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

const ORIGIN = () => `http://127.0.0.1:${t.gw.apiPort}`;
const apiSignIn = () => loginPatient(t, { ins: P.ins, email: P.email, birthDate: P.birthDate, password: P.password });
const sessionOk = async (token: string) => (await apiClient(t.gw.apiPort!, token).call('GET', '/v1/me/session')).status === 200;

/** From the login page: « Recevoir un nouveau code provisoire », then the code from the e-mail. */
async function askForCode(page: Page, ins: string): Promise<void> {
  await page.goto(`${ORIGIN()}/`);
  await page.click('#go-new-code');
  await page.fill('#nc-ins', ins);
  await page.press('#nc-ins', 'Enter');
  await page
    .locator('[role="status"]')
    .filter({ hasText: /Si cet identifiant correspond à un profil/ })
    .waitFor({ timeout: 10_000 });
}
async function newCode(page: Page): Promise<string> {
  const previous = await readProvisionalCode(t.dataDir, P.email);
  await askForCode(page, P.ins);
  return waitFor(
    async () => {
      const c = await readProvisionalCode(t.dataDir, P.email);
      return c !== previous ? c : null;
    },
    20_000,
    'the provisional code e-mail',
  );
}

describe('webmail account self-service', () => {
  it('asks for a new code (same page for an unknown INS), then sets a new password with it', async () => {
    const page = await browser.newPage();
    await askForCode(page, makeTestIns(9539)); // unknown: the same confirmation
    const elsewhere = await apiSignIn();
    const code = await newCode(page);
    await page.getByRole('link', { name: 'Choisir un nouveau mot de passe avec ce code' }).click();
    await page.fill('#rst-ins', P.ins);
    await page.fill('#rst-code', '000000000000');
    await page.fill('#rst-birth', P.birthDate);
    await page.fill('#rst-password', 'Nouveau-Mot-de-passe-Web-1');
    await page.press('#rst-password', 'Enter');
    await page
      .locator('[role="alert"]')
      .filter({ hasText: /Changement du mot de passe impossible/ })
      .waitFor({ timeout: 10_000 });
    await page.fill('#rst-code', code);
    await page.press('#rst-password', 'Enter');
    await page.getByText('Votre mot de passe est changé. Connectez-vous').waitFor({ timeout: 10_000 });
    expect(await sessionOk(elsewhere)).toBe(false);
    P.password = 'Nouveau-Mot-de-passe-Web-1';
    await signInPage(page, t, P);
    await page.locator('#inbox, .empty').first().waitFor({ timeout: 15_000 });
    await page.close();
  }, 90_000);

  it('changes the password from « Mon profil », then logs out of every device', async () => {
    const page = await browser.newPage();
    await page.goto(`${ORIGIN()}/`);
    await signInPage(page, t, P);
    await page.locator('#inbox, .empty').first().waitFor({ timeout: 15_000 });
    const elsewhere = await apiSignIn();
    await page.goto(`${ORIGIN()}/#/profile`);
    // The patient's own address, to give professionals.
    await page
      .locator('#own-address')
      .filter({ hasText: `${P.ins}@patient.mssante.fr` })
      .waitFor({ timeout: 10_000 });
    await page.fill('#pw-current', 'pas-le-bon-mot-de-passe');
    await page.fill('#pw-new', 'Encore-un-Mot-de-passe-2');
    await page.fill('#pw-again', 'Encore-un-Mot-de-passe-2');
    await page.press('#pw-again', 'Enter');
    await page.locator('[role="alert"]').filter({ hasText: 'Votre mot de passe actuel est incorrect.' }).waitFor({ timeout: 10_000 });
    expect(await sessionOk(elsewhere)).toBe(true);
    await page.fill('#pw-current', P.password);
    await page.press('#pw-again', 'Enter');
    await page.locator('[role="status"]').filter({ hasText: 'Votre mot de passe est changé.' }).waitFor({ timeout: 10_000 });
    expect(await sessionOk(elsewhere)).toBe(false);
    P.password = 'Encore-un-Mot-de-passe-2';

    const another = await apiSignIn();
    await page.click('#logout-everywhere');
    await page.getByText('Vous êtes déconnecté(e) de tous vos appareils').waitFor({ timeout: 10_000 });
    expect(await page.locator('#ins').count()).toBe(1);
    expect(await sessionOk(another)).toBe(false);
    expect(await page.evaluate(() => fetch('/v1/me/session').then((r) => r.status))).toBe(401);
    await page.close();
  }, 90_000);

  it('reopens a closed profile with a new code and the birth date', async () => {
    const token = await apiSignIn();
    expect((await apiClient(t.gw.apiPort!, token).call('POST', '/v1/me/profile/close')).status).toBe(204);
    const page = await browser.newPage();
    const code = await newCode(page);
    await page.goto(`${ORIGIN()}/`);
    await page.click('#go-reopen');
    await page.fill('#reo-ins', P.ins);
    await page.fill('#reo-code', code);
    await page.fill('#reo-birth', P.birthDate);
    await page.press('#reo-birth', 'Enter');
    await page.getByText('Votre profil est rouvert. Connectez-vous avec votre mot de passe.').waitFor({ timeout: 10_000 });
    await signInPage(page, t, P);
    await page.locator('#inbox, .empty').first().waitFor({ timeout: 15_000 });
    await page.close();
  }, 90_000);
});
