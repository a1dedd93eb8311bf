// axe-core on every page of the webmail, at desktop and phone sizes, in Debian's Chromium against the real
// server: no serious or critical violation allowed. With WEB_SCREENSHOTS=<dir> it also saves a screenshot of each
// page (that is how docs/screenshots/ is made: `WEB_SCREENSHOTS=docs/screenshots npx vitest run tests/web/accessibility.test.ts`).
import fs from 'node:fs/promises';
import path from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevIssuer, issueDevToken } from '../../access/pro-auth/index.js';
import { makeTestIns } from '../../access/rules/ins.js';
import { makePdf } from '../support/pdf.js';
import { freePort } from '../support/ports.js';
import { importPatientsCsv, loginPatient, readLoginCode, sendMail, startTestGateway, waitFor, type TestGateway } from '../support/harness.js';
import { axeViolations, launchChromium } from '../support/browser.js';

let t: TestGateway;
let browser: Browser;
const P = {
  ins: makeTestIns(9551),
  email: 'a11y9551@example.org',
  birthDate: '1975-05-05',
  provisionalCode: 'PROV-A11Y-9551',
  password: 'Mot-de-passe-A11y-9551',
};
const DOCTOR = '10000009551';
const SHOTS = process.env.WEB_SCREENSHOTS;
const VIEWPORTS = [
  { name: 'desktop', viewport: { width: 1280, height: 860 }, isMobile: false },
  { name: 'phone', viewport: { width: 390, height: 844 }, isMobile: true },
] as const;

beforeAll(async () => {
  t = await startTestGateway({ env: { RELAY_ROUTES: `hopital-a.mssante.fr=127.0.0.1:${await freePort()}` } });
  await importPatientsCsv(
    t,
    `ins,family_name,given_names,birth_date,email,state,provisional_code\n${P.ins},TEST-A11Y,A,${P.birthDate},${P.email},created,${P.provisionalCode}\n`,
  );
  await loginPatient(t, P);
  const send = async (from: string, name: string, mail: Record<string, unknown>) => {
    const raw = await new MailComposer({ from: { name, address: from }, to: `${P.ins}@patient.mssante.fr`, ...mail }).compile().build();
    const r = await sendMail({ port: t.gw.smtpPort!, pki: t.pki, cert: 'hopital-a.mssante.fr', from, to: [`${P.ins}@patient.mssante.fr`], raw });
    expect(r.ok, r.response).toBe(true);
  };
  await send('dr.martin@hopital-a.mssante.fr', 'Dr Louise Martin', {
    subject: 'Compte rendu de votre consultation',
    text: 'Bonjour, vous trouverez ci-joint le compte rendu de votre consultation du 3 novembre.',
    html: '<p>Bonjour,</p><p>Vous trouverez ci-joint le <b>compte rendu</b> de votre consultation du 3 novembre.</p><p>Bien cordialement,<br>Dr Martin</p>',
    attachments: [{ filename: 'compte-rendu.pdf', content: makePdf(['Compte rendu de consultation', 'Page 2']), contentType: 'application/pdf' }],
  });
  await send('secretariat.radio@hopital-a.mssante.fr', 'Secrétariat de radiologie', {
    subject: 'Rendez-vous de radiologie',
    text: 'Votre rendez-vous est confirmé le 12 décembre à 9 h 30.',
  });
  // a professional reads the patient's documents: the history page has a line to show
  ensureDevIssuer(path.join(t.pki, 'oidc'));
  const token = issueDevToken({ dir: path.join(t.pki, 'oidc'), rpps: DOCTOR, profession: '10', name: 'Dr Camille Durand', organisation: 'HOPITAL A TEST' });
  await waitFor(
    async () => {
      const r = await fetch(`http://127.0.0.1:${t.gw.apiPort}/v1/patients/${P.ins}/documents`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await r.json()) as { items?: unknown[] };
      return r.status === 200 && (body.items?.length ?? 0) > 0;
    },
    20_000,
    'the professional to see the filed document',
  );
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

/** Runs axe on the page as it is (mail and PDF frames are content, not ours: not descended into). */
async function screenshot(page: Page, name: string, viewport: string): Promise<void> {
  if (!SHOTS) return;
  await fs.mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}-${viewport}.png`), fullPage: false });
}

async function audit(page: Page, name: string, viewport: string): Promise<string[]> {
  await screenshot(page, name, viewport);
  return (await axeViolations(page))
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${name}/${viewport}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

describe('accessibility (axe-core)', () => {
  for (const vp of VIEWPORTS) {
    it(`has no serious or critical violation on any page (${vp.name})`, async () => {
      const context = await browser.newContext({ viewport: vp.viewport, isMobile: vp.isMobile, hasTouch: vp.isMobile, deviceScaleFactor: 1 });
      const page = await context.newPage();
      const origin = `http://127.0.0.1:${t.gw.apiPort}`;
      const found: string[] = [];
      // `title`: the page's own heading, so that a hash change is not mistaken for the page being there
      const visit = async (name: string, hash: string, title: string) => {
        await page.goto(`${origin}/${hash}`);
        await page.locator('main h2', { hasText: title }).first().waitFor({ timeout: 15_000 });
        found.push(...(await audit(page, name, vp.name)));
      };

      await visit('connexion', '', 'Connexion');
      await visit('activation', '#/activation', 'Activer mon profil');
      await visit('opposition', '#/opposition', "M'opposer");
      await visit('nouveau-code', '#/new-code', 'Recevoir un nouveau code provisoire');
      await visit('mot-de-passe-oublie', '#/password-reset', 'Mot de passe oublié');
      await visit('reouverture', '#/reopen', 'Rouvrir mon profil');
      await page.goto(`${origin}/`);
      await page.fill('#ins', P.ins);
      await page.fill('#password', P.password);
      await page.press('#password', 'Enter');
      await page.locator('#code').waitFor({ timeout: 15_000 });
      found.push(...(await audit(page, 'code', vp.name)));
      const otp = await waitFor(async () => readLoginCode(t.dataDir, P.email).catch(() => null), 10_000, 'the code e-mail');
      await page.fill('#code', otp);
      await page.press('#code', 'Enter');
      await page.locator('#inbox').waitFor({ timeout: 15_000 });
      found.push(...(await audit(page, 'messages', vp.name)));

      await page.locator('#inbox a.subject', { hasText: 'Compte rendu de votre consultation' }).click();
      await page.frameLocator('iframe.mail-html').getByText('Dr Martin').waitFor({ timeout: 15_000 });
      await screenshot(page, 'message', vp.name);
      await page.getByRole('button', { name: 'Aperçu de compte-rendu.pdf' }).click();
      await page.getByRole('status').filter({ hasText: '2 pages' }).waitFor({ timeout: 20_000 });
      found.push(...(await audit(page, 'message-pdf', vp.name)));

      await visit('ecrire', '#/new', 'Écrire à un professionnel');
      await visit('envoyes', '#/sent', 'Messages envoyés');
      await visit('documents', '#/documents', 'Mes documents');
      await visit('acces', '#/access', 'Qui voit quoi');
      await visit('historique', '#/activity', 'Historique');
      await visit('profil', '#/profile', 'Mon profil');
      await context.close();
      expect(found).toEqual([]);
    }, 180_000);
  }
});
