// A new message in Debian's Chromium (playwright-core) against the real server, with the contacts in pages
// (LIMIT_API_PAGE_SIZE=2): the recipient list shows the professionals who wrote last, « Afficher d'autres
// professionnels » adds the next page to it (said in words, the focus back on the list, the choice made kept) and
// disappears at the end; a professional from the second page can be written to. Checked with axe-core.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { freePort } from '../support/ports.js';
import { importPatientsCsv, sendMail, startTestGateway, waitFor, type TestGateway } from '../support/harness.js';
import { axeViolations, launchChromium, signInPage } from '../support/browser.js';

let t: TestGateway;
let browser: Browser;
let page: Page;
let base: string;
const P = {
  ins: makeTestIns(9631),
  email: 'web9631@example.org',
  birthDate: '1972-03-31',
  provisionalCode: 'PROV-WEB-9631',
  password: 'Mot-de-passe-Web-9631',
};
/** In the order they write: the last one comes first in the list. */
const PROS = [
  { name: 'Dr Un Premier', address: 'dr.un@hopital-a.mssante.fr' },
  { name: 'Dr Deux Second', address: 'dr.deux@hopital-a.mssante.fr' },
  { name: 'Dr Trois Dernier', address: 'dr.trois@hopital-a.mssante.fr' },
];

const contactCount = async () =>
  Number(
    (await t.gw.database.pool.query<{ n: string }>('SELECT count(*) AS n FROM contacts c JOIN patients p ON p.id = c.patient_id WHERE p.ins = $1', [P.ins]))
      .rows[0]!.n,
  );

beforeAll(async () => {
  // the message written goes to a local closed port: nothing leaves this machine
  t = await startTestGateway({ env: { LIMIT_API_PAGE_SIZE: '2', RELAY_ROUTES: `hopital-a.mssante.fr=127.0.0.1:${await freePort()}` } });
  base = `http://127.0.0.1:${t.gw.apiPort}`;
  await importPatientsCsv(
    t,
    `ins,family_name,given_names,birth_date,email,state,provisional_code\n${P.ins},TEST-COMP,C,${P.birthDate},${P.email},created,${P.provisionalCode}\n`,
  );
  const a = await fetch(`${base}/v1/patient/activate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ins: P.ins, provisionalCode: P.provisionalCode, birthDate: P.birthDate, password: P.password }),
  });
  expect(a.status).toBe(204);
  // one after the other, each filed before the next is sent, so the order of the list is known
  for (const [k, p] of PROS.entries()) {
    const r = await sendMail({
      port: t.gw.smtpPort!,
      pki: t.pki,
      cert: 'hopital-a.mssante.fr',
      from: `${p.name} <${p.address}>`,
      to: [`${P.ins}@patient.mssante.fr`],
      subject: `Message de ${p.name}`,
    });
    expect(r.ok, r.response).toBe(true);
    await waitFor(async () => (await contactCount()) === k + 1, 20_000, `contact ${p.name}`);
  }
  browser = await launchChromium();
  page = await browser.newPage();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

const status = (p: Page, text: string | RegExp) => p.locator('[role="status"]').filter({ hasText: text });

describe('new message: recipients in pages', () => {
  it('adds the next page of professionals to the list, keeps the choice, and writes to one of them', async () => {
    await page.goto(`${base}/#/new`);
    await signInPage(page, t, P);
    const select = page.getByLabel('Destinataire');
    await select.waitFor({ timeout: 15_000 });
    const options = () => page.locator('#new-to option').allTextContents();
    expect(await options()).toEqual(['Dr Trois Dernier', 'Dr Deux Second']);
    await select.selectOption({ label: 'Dr Deux Second' });
    const chosen = await select.inputValue();
    const more = page.getByRole('button', { name: "Afficher d'autres professionnels" });
    expect(await more.isVisible()).toBe(true);
    const violations = await axeViolations(page, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    expect(violations.map((v) => v.id)).toEqual([]);

    // with the keyboard: the next page is added, said, and the focus goes back to the list
    await more.focus();
    await page.keyboard.press('Enter');
    await status(page, '1 professionnel ajouté à la liste des destinataires. Ce sont tous les professionnels à qui vous pouvez écrire.').waitFor({
      timeout: 10_000,
    });
    expect(await options()).toEqual(['Dr Trois Dernier', 'Dr Deux Second', 'Dr Un Premier']);
    expect(await select.inputValue()).toBe(chosen);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('new-to');
    expect(await more.isHidden()).toBe(true); // the last page

    // the professional of the second page is written to
    await select.selectOption({ label: 'Dr Un Premier' });
    await page.getByLabel('Objet').fill('Question sur mon traitement');
    await page.getByLabel('Message', { exact: true }).fill('Bonjour docteur, puis-je prendre mon traitement le soir ?');
    await page.getByRole('button', { name: 'Envoyer' }).click();
    await status(page, 'Votre message a été envoyé.').waitFor({ timeout: 15_000 });
    await page.getByRole('navigation', { name: 'Menu principal' }).getByRole('link', { name: 'Messages envoyés' }).click();
    const sent = page.locator('#sent li', { hasText: 'Question sur mon traitement' });
    await sent.waitFor({ timeout: 10_000 });
    expect(await sent.locator('.meta').textContent()).toMatch(/^À : Dr Un Premier — /);
  }, 90_000);
});
