// « Mes documents » in Debian's Chromium (playwright-core) against the real server: a document its author replaced
// through the professional API (POST /v1/patients/{ins}/documents with `replaces`) shows « Versions précédentes »,
// a disclosure opened with the keyboard that lists the earlier version (date, author, a download link giving its
// own bytes); a document never replaced has none. « Écrire une note » files the patient's text as a document in
// the rubric chosen, downloadable as written; an empty field or markup is refused in words. Checked with axe-core.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevIssuer, issueDevToken } from '../../access/pro-auth/index.js';
import { makeTestIns } from '../../access/rules/ins.js';
import { importPatientsCsv, startTestGateway, type TestGateway } from '../support/harness.js';
import { axeViolations, launchChromium, signInPage } from '../support/browser.js';

let t: TestGateway;
let browser: Browser;
let page: Page;
let base: string;
const P = {
  ins: makeTestIns(9621),
  email: 'web9621@example.org',
  birthDate: '1968-06-21',
  provisionalCode: 'PROV-WEB-9621',
  password: 'Mot-de-passe-Web-9621',
};
const DOCTOR = { rpps: '10000096211', name: 'Dr Hélène Version' };
const v1Bytes = Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(3_000)]);
const v2Bytes = Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(5_000)]);
const ids = { v1: '', v2: '', single: '' };

/** The professional API: deposits a PDF in the patient's record, `replaces` making it a new version. */
async function deposit(bytes: Buffer, fields: Record<string, string>): Promise<string> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  form.set('file', new Blob([new Uint8Array(bytes)], { type: 'application/pdf' }), `${fields.title}.pdf`);
  const token = issueDevToken({ dir: path.join(t.pki, 'oidc'), rpps: DOCTOR.rpps, profession: '10', name: DOCTOR.name, organisation: 'HOPITAL A TEST' });
  const res = await fetch(`${base}/v1/patients/${P.ins}/documents`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

beforeAll(async () => {
  t = await startTestGateway();
  ensureDevIssuer(path.join(t.pki, 'oidc'));
  base = `http://127.0.0.1:${t.gw.apiPort}`;
  await importPatientsCsv(
    t,
    `ins,family_name,given_names,birth_date,email,state,provisional_code\n${P.ins},TEST-VERS,V,${P.birthDate},${P.email},created,${P.provisionalCode}\n`,
  );
  const a = await fetch(`${base}/v1/patient/activate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ins: P.ins, provisionalCode: P.provisionalCode, birthDate: P.birthDate, password: P.password }),
  });
  expect(a.status).toBe(204);
  ids.v1 = await deposit(v1Bytes, { title: 'Compte rendu opératoire', rubric: 'comptes-rendus' });
  ids.v2 = await deposit(v2Bytes, { title: 'Compte rendu opératoire corrigé', rubric: 'comptes-rendus', replaces: ids.v1 });
  ids.single = await deposit(v1Bytes, { title: 'Ordonnance de sortie', rubric: 'ordonnances-et-soins' });
  browser = await launchChromium();
  page = await (await browser.newContext({ acceptDownloads: true })).newPage();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

const status = (p: Page, text: string | RegExp) => p.locator('[role="status"]').filter({ hasText: text });
const alert = (p: Page, text: string | RegExp) => p.locator('[role="alert"]').filter({ hasText: text });
async function expectNoAxeViolations(p: Page): Promise<void> {
  const violations = await axeViolations(p, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
  expect(violations.map((v) => `${v.id}: ${JSON.stringify(v.nodes.map((n) => n.target))}`)).toEqual([]);
}
const rubric = (p: Page, heading: string) => p.locator('section.rubric', { has: p.getByRole('heading', { level: 3, name: heading }) });

describe('documents: earlier versions and notes', () => {
  it('lists the earlier version of a replaced document in « Versions précédentes », and downloads it', async () => {
    await page.goto(`${base}/#/documents`);
    await signInPage(page, t, P);
    await page.getByRole('heading', { level: 2, name: 'Mes documents' }).waitFor({ timeout: 15_000 });
    const current = rubric(page, 'Comptes rendus (1)').locator(`#doc-${ids.v2}`);
    await current.waitFor({ timeout: 10_000 });
    expect(await page.locator(`#doc-${ids.v1}`).count()).toBe(0); // the replaced version is not in the list itself
    expect(await rubric(page, 'Ordonnances et soins (1)').locator(`#doc-${ids.single}`).locator('details').count()).toBe(0); // never replaced

    // the disclosure opens with the keyboard and reads the versions then
    const disclosure = current.locator('details.doc-versions');
    const summary = disclosure.locator('summary', { hasText: 'Versions précédentes' });
    expect(await disclosure.getAttribute('open')).toBeNull();
    await summary.focus();
    await page.keyboard.press('Enter');
    const list = disclosure.getByRole('list', { name: 'Versions précédentes de « Compte rendu opératoire corrigé »' });
    await list.waitFor({ timeout: 10_000 });
    const items = list.getByRole('listitem');
    expect(await items.count()).toBe(1);
    const line = (await items.first().locator('.meta').textContent()) ?? '';
    expect(line).toMatch(/^« Compte rendu opératoire » — version du .+ — De : Dr Hélène Version — 3 Ko$/);
    await expectNoAxeViolations(page);

    const link = items.first().getByRole('link', { name: /^Télécharger la version du .+ de « Compte rendu opératoire »$/ });
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe('Compte rendu opératoire.pdf');
    expect((await fs.readFile((await download.path())!)).equals(v1Bytes)).toBe(true);

    // closed and opened again: still one version, not loaded twice
    await summary.click();
    await summary.click();
    expect(await items.count()).toBe(1);
  }, 90_000);

  it('writes a note that appears in its rubric and downloads as written; empty fields and markup are refused', async () => {
    await page.getByRole('button', { name: 'Écrire une note' }).click();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('note-title');
    const save = page.getByRole('button', { name: 'Enregistrer la note' });
    await save.click();
    await alert(page, 'Donnez un titre à votre note.').waitFor({ timeout: 5_000 });
    expect(await page.getByLabel('Titre de la note').getAttribute('aria-invalid')).toBe('true');
    await page.getByLabel('Titre de la note').fill('Questions pour le Dr Version');
    await save.click();
    await alert(page, 'Écrivez le texte de votre note.').waitFor({ timeout: 5_000 });

    // markup is active content: the server refuses it and says so
    await page.getByLabel('Texte de la note').fill('Voir <script>alert(1)</script>');
    await save.click();
    await alert(page, 'Une note ne peut pas contenir de balises HTML.').waitFor({ timeout: 10_000 });
    expect(await page.locator('li.doc', { hasText: 'Questions pour le Dr Version' }).count()).toBe(0);

    const text = 'Douleur au genou droit depuis lundi.\nFaut-il une radio avant le rendez-vous ?';
    await page.getByLabel('Texte de la note').fill(text);
    await page.getByLabel('Rubrique où la ranger').selectOption('ma-sante-en-resume');
    await save.click();
    await status(page, 'La note « Questions pour le Dr Version » a été ajoutée dans la rubrique « Ma santé en résumé ».').waitFor({ timeout: 10_000 });
    const note = rubric(page, 'Ma santé en résumé (1)').locator('li.doc', { hasText: 'Questions pour le Dr Version' });
    await note.waitFor({ timeout: 5_000 });
    expect(await note.locator('.meta').textContent()).toMatch(/^Ajouté par moi — /);
    expect(await note.locator('details.doc-versions').count()).toBe(0);
    expect(await page.getByLabel('Titre de la note').inputValue()).toBe(''); // the form is ready for another one
    await expectNoAxeViolations(page);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      note.getByRole('button', { name: 'Télécharger « Questions pour le Dr Version »' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('Questions pour le Dr Version.txt');
    expect(await fs.readFile((await download.path())!, 'utf8')).toBe(text);

    // it is still there after a reload, in the same rubric
    await page.reload();
    await rubric(page, 'Ma santé en résumé (1)').locator('li.doc', { hasText: 'Questions pour le Dr Version' }).waitFor({ timeout: 10_000 });
  }, 90_000);
});
