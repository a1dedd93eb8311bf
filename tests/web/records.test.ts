// The patient's records pages of the webmail (Mes documents, Qui voit quoi, Historique, Mon profil) in Debian's
// Chromium (playwright-core, never a downloaded browser) against the real server, checked from the other side
// with the professional API (development bearer tokens): a document delivered as an e-mail attachment shows in
// its rubric, masking it in the page stops a professional, an upload from the page, blocking a professional by
// RPPS, the administrator doctor and the SAMU regulator's access, a professional's read in the history, the ZIP archive,
// and closing the profile after a confirmation. Each page is also checked with axe-core (WCAG 2 A/AA).
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevIssuer, issueDevToken } from '../../access/pro-auth/index.js';
import { makeTestIns } from '../../access/rules/ins.js';
import { freePort } from '../support/ports.js';
import { apiClient, importPatientsCsv, sendMail, startTestGateway, waitFor, type TestGateway } from '../support/harness.js';
import { axeViolations, launchChromium, signInPage } from '../support/browser.js';

let t: TestGateway;
let browser: Browser;
let page: Page;
let base: string;
const P = {
  ins: makeTestIns(9601),
  email: 'web9601@example.org',
  birthDate: '1975-04-09',
  provisionalCode: 'PROV-WEB-9601',
  password: 'Mot-de-passe-Web-9601',
};
const DOCTOR = { rpps: '10000096001', profession: '10', name: 'Dr Alice Martin' };
const BLOCKED = { rpps: '10000096002', profession: '10', name: 'Dr Bruno Bloque' };
const SAMU = { rpps: '10000096003', profession: '10', name: 'Dr Samia Urgence' };
const ATTACHMENT = 'compte-rendu-consultation.pdf';
const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(12_000)]);
let mailDocId = '';

type Pro = typeof DOCTOR;
const token = (p: Pro) =>
  issueDevToken({ dir: path.join(t.pki, 'oidc'), rpps: p.rpps, profession: p.profession, name: p.name, organisation: 'HOPITAL A TEST' });
/** A professional API call; `emergency` adds the SAMU ground and a written justification. */
const pro = (p: Pro, url: string, emergency = false) =>
  apiClient(t.gw.apiPort!, token(p)).call(
    'GET',
    url,
    undefined,
    emergency
      ? { 'x-emergency-ground': 'samu-regulator', 'x-emergency-justification': encodeURIComponent('Patient inconscient, appel au 15, antécédents nécessaires') }
      : {},
  );
const proList = async (p: Pro) => {
  const res = await pro(p, `/v1/patients/${P.ins}/documents`);
  return { status: res.status, ids: res.status === 200 ? ((await res.json()) as { items: { id: string }[] }).items.map((d) => d.id) : [] };
};
const proRead = async (p: Pro, id: string, emergency = false) => (await pro(p, `/v1/patients/${P.ins}/documents/${id}/content`, emergency)).status;

beforeAll(async () => {
  // replies go to a local closed port; small pages so that « Voir plus » and the cursor loops are exercised
  t = await startTestGateway({ env: { RELAY_ROUTES: `hopital-a.mssante.fr=127.0.0.1:${await freePort()}`, LIMIT_API_PAGE_SIZE: '4' } });
  ensureDevIssuer(path.join(t.pki, 'oidc'));
  base = `http://127.0.0.1:${t.gw.apiPort}`;
  await importPatientsCsv(
    t,
    `ins,family_name,given_names,birth_date,email,state,provisional_code\n${P.ins},TEST-REC,R,${P.birthDate},${P.email},created,${P.provisionalCode}\n`,
  );
  const a = await fetch(`${base}/v1/patient/activate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ins: P.ins, provisionalCode: P.provisionalCode, birthDate: P.birthDate, password: P.password }),
  });
  expect(a.status).toBe(204);
  const sent = await sendMail({
    port: t.gw.smtpPort!,
    pki: t.pki,
    cert: 'hopital-a.mssante.fr',
    from: 'dr.martin@hopital-a.mssante.fr',
    to: [`${P.ins}@patient.mssante.fr`],
    subject: 'Votre compte rendu',
    attachments: [{ filename: ATTACHMENT, content: pdf, contentType: 'application/pdf' }],
  });
  expect(sent.ok).toBe(true);
  // the document is filed when the delivery is done: wait for it through the professional API (a doctor may read
  // « Autres documents »), which also records a listing and, below, a read in the patient's history
  const listed = await waitFor(
    async () => {
      const l = await proList(DOCTOR);
      return l.ids.length ? l : null;
    },
    20_000,
    'the attachment filed as a document',
  );
  mailDocId = listed.ids[0]!;
  expect(await proRead(DOCTOR, mailDocId)).toBe(200);
  browser = await launchChromium();
  page = await (await browser.newContext({ acceptDownloads: true })).newPage();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

const signIn = (p: Page) => signInPage(p, t, P);

/** No WCAG 2.0/2.1 A or AA violation at all on these pages (stricter than the serious/critical bar of accessibility.test.ts). */
async function expectNoAxeViolations(p: Page): Promise<void> {
  const violations = await axeViolations(p, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
  expect(violations.map((v) => `${v.id}: ${JSON.stringify(v.nodes.map((n) => n.target))}`)).toEqual([]);
}

const status = (p: Page, text: string | RegExp) => p.locator('[role="status"]').filter({ hasText: text });
const alert = (p: Page, text: string | RegExp) => p.locator('[role="alert"]').filter({ hasText: text });
const focusedText = (p: Page) => p.evaluate(() => document.activeElement?.textContent ?? '');
async function openFromMenu(p: Page, name: string, heading: string): Promise<void> {
  await p.getByRole('navigation', { name: 'Menu principal' }).getByRole('link', { name }).click();
  await p.getByRole('heading', { level: 2, name: heading }).waitFor({ timeout: 10_000 });
}

describe('records pages', () => {
  it('shows the e-mailed document in its rubric, downloads it, and masking it stops professionals', async () => {
    await page.goto(`${base}/#/documents`);
    await signIn(page);
    await page.getByRole('heading', { level: 2, name: 'Mes documents' }).waitFor({ timeout: 15_000 });
    const rubric = page.locator('section.rubric', { has: page.getByRole('heading', { level: 3, name: 'Autres documents (1)' }) });
    const doc = rubric.locator(`#doc-${mailDocId}`);
    await doc.waitFor({ timeout: 10_000 });
    expect(await doc.getByRole('heading', { level: 4 }).textContent()).toBe(ATTACHMENT);
    expect(await doc.textContent()).toContain('Visible par les professionnels autorisés');
    expect(await doc.locator('.meta').textContent()).toMatch(/^De : .+ — le .+ — 12 Ko$/);
    expect(await doc.getByRole('button', { name: /^Supprimer/ }).count()).toBe(0); // not the patient's own upload
    await expectNoAxeViolations(page);

    // « Télécharger »: the bytes of the attachment, under its name
    const [download] = await Promise.all([page.waitForEvent('download'), doc.getByRole('button', { name: `Télécharger « ${ATTACHMENT} »` }).click()]);
    expect(download.suggestedFilename()).toBe(ATTACHMENT);
    expect((await fs.readFile((await download.path())!)).equals(pdf)).toBe(true);

    // « Masquer » with the keyboard alone; the state is said in words, the focus stays on the button
    await doc.getByRole('button', { name: `Masquer « ${ATTACHMENT} » aux professionnels` }).focus();
    await page.keyboard.press('Enter');
    await status(page, `« ${ATTACHMENT} » est maintenant masqué aux professionnels.`).waitFor({ timeout: 10_000 });
    expect(await doc.locator('.doc-state').textContent()).toBe('Masqué aux professionnels');
    expect(await focusedText(page)).toBe('Ne plus masquer');
    expect(await proRead(DOCTOR, mailDocId)).toBe(403);
    expect((await proList(DOCTOR)).ids).not.toContain(mailDocId);
  }, 90_000);

  it('uploads a document from the page, filters by rubric, and deletes it after a confirmation', async () => {
    await page.getByRole('button', { name: 'Ajouter le document' }).click();
    await alert(page, "Choisissez d'abord le fichier à ajouter.").waitFor({ timeout: 5_000 });

    await page.setInputFiles('#doc-file', { name: 'ordonnance-lunettes.pdf', mimeType: 'application/pdf', buffer: pdf });
    await page.getByLabel('Titre du document (facultatif)').fill('Ordonnance de lunettes');
    await page.getByLabel('Rubrique où le ranger').selectOption('ordonnances-et-soins');
    await page.getByRole('button', { name: 'Ajouter le document' }).click();
    await status(page, 'Le document « Ordonnance de lunettes » a été ajouté dans la rubrique « Ordonnances et soins ».').waitFor({ timeout: 15_000 });
    const rubric = page.locator('section.rubric', { has: page.getByRole('heading', { level: 3, name: 'Ordonnances et soins (1)' }) });
    const mine = rubric.locator('li.doc', { hasText: 'Ordonnance de lunettes' });
    expect(await mine.locator('.meta').textContent()).toMatch(/^Ajouté par moi — /);

    // the filter shows one rubric only
    await page.getByLabel('Afficher').selectOption('ordonnances-et-soins');
    await status(page, '1 document affiché.').waitFor({ timeout: 5_000 });
    expect(await page.locator('li.doc').count()).toBe(1);
    await page.getByLabel('Afficher').selectOption('');
    await status(page, '2 documents affichés.').waitFor({ timeout: 5_000 });

    // « Supprimer »: a confirmation in the page; « Non » keeps it, « Oui » deletes it
    await mine.getByRole('button', { name: 'Supprimer « Ordonnance de lunettes »' }).click();
    const confirm = mine.getByRole('group', { name: /Supprimer définitivement « Ordonnance de lunettes »/ });
    await confirm.waitFor({ timeout: 5_000 });
    expect(await focusedText(page)).toBe('Non, garder');
    await page.keyboard.press('Enter');
    expect(await confirm.isHidden()).toBe(true);
    expect(await focusedText(page)).toBe('Supprimer');
    await mine.getByRole('button', { name: 'Supprimer « Ordonnance de lunettes »' }).click();
    await confirm.getByRole('button', { name: 'Oui, supprimer' }).click();
    await status(page, 'Le document « Ordonnance de lunettes » a été supprimé.').waitFor({ timeout: 10_000 });
    expect(await page.locator('li.doc').count()).toBe(1);
  }, 60_000);

  it('blocks a professional by RPPS (the professional API refuses), then unblocks them', async () => {
    expect((await proList(BLOCKED)).status).toBe(200);
    await openFromMenu(page, 'Qui voit quoi', 'Qui voit quoi');
    await expectNoAxeViolations(page);
    const field = page.getByLabel('Numéro RPPS du professionnel à bloquer (11 chiffres)');
    await field.fill('1234');
    await field.press('Enter');
    await alert(page, 'Le numéro RPPS doit comporter exactement 11 chiffres.').waitFor({ timeout: 5_000 });
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    await field.fill('100 000 960 02');
    await field.press('Enter');
    await status(page, /Dr Bruno Bloque, Médecin \(RPPS 10000096002\) est bloqué/).waitFor({ timeout: 10_000 });
    expect(await page.locator('#blocked-10000096002').textContent()).toContain('RPPS 10000096002');
    expect((await proList(BLOCKED)).status).toBe(403);

    await page.getByRole('button', { name: 'Débloquer Dr Bruno Bloque, Médecin (RPPS 10000096002)' }).click();
    await status(page, /est débloqué/).waitFor({ timeout: 10_000 });
    await page.getByText("Vous n'avez bloqué aucun professionnel.").waitFor({ timeout: 5_000 });
    expect((await proList(BLOCKED)).status).toBe(200);
  }, 60_000);

  it('chooses and removes the administrator doctor by RPPS, and toggles the SAMU regulator access and « mask all »', async () => {
    const admin = page.getByLabel('Numéro RPPS du médecin (11 chiffres)');
    await admin.fill('10000096099');
    await admin.press('Enter');
    await alert(page, /déjà accédé à votre profil/).waitFor({ timeout: 10_000 });
    await admin.fill(DOCTOR.rpps);
    await admin.press('Enter');
    await status(page, /Dr Alice Martin, Médecin \(RPPS 10000096001\) est votre médecin administrateur/).waitFor({ timeout: 10_000 });
    expect(await proRead(DOCTOR, mailDocId)).toBe(200); // the masked document, as administrator
    await page.getByRole('button', { name: /^Retirer Dr Alice Martin/ }).click();
    await page.getByText("Vous n'avez pas choisi de médecin administrateur.").waitFor({ timeout: 10_000 });
    expect(await proRead(DOCTOR, mailDocId)).toBe(403);

    // the SAMU regulator's access: on by default; Space on the checkbox turns it off, then on again (the two
    // emergency switches apart: tests/web/access.test.ts)
    const emergency = page.getByRole('checkbox', { name: "Autoriser l'accès par le médecin régulateur du SAMU" });
    expect(await emergency.isChecked()).toBe(true);
    expect(await proRead(SAMU, mailDocId, true)).toBe(200);
    await emergency.focus();
    await page.keyboard.press('Space');
    await status(page, "C'est enregistré : le médecin régulateur du SAMU ne peut plus accéder à vos documents.").waitFor({ timeout: 10_000 });
    expect(await proRead(SAMU, mailDocId, true)).toBe(403);
    await page.reload();
    await page.getByRole('heading', { level: 2, name: 'Qui voit quoi' }).waitFor({ timeout: 10_000 });
    expect(await emergency.isChecked()).toBe(false);
    await emergency.check();
    await status(page, "C'est enregistré : le médecin régulateur du SAMU peut accéder à vos documents.").waitFor({ timeout: 10_000 });
    expect(await proRead(SAMU, mailDocId, true)).toBe(200);

    // « Masquer tous mes documents » is said on the documents page too
    await page.getByRole('checkbox', { name: 'Masquer tous mes documents' }).check();
    await status(page, /tous vos documents sont masqués/).waitFor({ timeout: 10_000 });
    await openFromMenu(page, 'Mes documents', 'Mes documents');
    await page.getByText('Tous vos documents sont actuellement masqués aux professionnels').waitFor({ timeout: 5_000 });
    await openFromMenu(page, 'Qui voit quoi', 'Qui voit quoi');
    await page.getByRole('checkbox', { name: 'Masquer tous mes documents' }).uncheck();
    await status(page, /ne sont plus tous masqués/).waitFor({ timeout: 10_000 });
  }, 90_000);

  it("shows a professional's read of a document in « Historique », with their name, page after page", async () => {
    await openFromMenu(page, 'Historique', 'Historique');
    const table = page.getByRole('table', { name: /Qui a fait quoi dans mon espace santé/ });
    await table.waitFor({ timeout: 10_000 });
    expect(await table.locator('thead th[scope="col"]').allTextContents()).toEqual(['Date', 'Qui', 'Action', 'Document', 'Détail']);
    await expectNoAxeViolations(page);
    const rows = table.locator('tbody tr');
    expect(await rows.count()).toBe(4); // one page
    // the doctor's first read (before masking, allowed by the authorization grid)
    const read: Locator = rows
      .filter({ hasText: 'A ouvert un document' })
      .filter({ hasText: 'Dr Alice Martin' })
      .filter({ hasText: "Accès autorisé selon la matrice d'habilitations" });
    const more = page.getByRole('button', { name: "Voir plus d'actions, plus anciennes" });
    for (let i = 0; i < 20 && (await read.count()) === 0; i++) {
      const before = await rows.count();
      await more.focus();
      await page.keyboard.press('Enter');
      await waitFor(async () => (await rows.count()) > before, 10_000, 'more history rows');
      expect(await page.evaluate(() => document.activeElement?.getAttribute('scope'))).toBe('row'); // focus on the first new line
    }
    expect(await rows.count()).toBeGreaterThan(4); // « Voir plus » was needed
    const text = (await read.first().textContent()) ?? '';
    expect(text).toContain('Médecin');
    expect(text).toContain('RPPS 10000096001');
    expect(text).toContain(ATTACHMENT);
    // the emergency read and a refusal are there too
    // the emergency read and its written justification
    expect(
      await rows
        .filter({ hasText: 'A consulté vos documents en urgence' })
        .filter({ hasText: 'Dr Samia Urgence' })
        .filter({ hasText: 'Patient inconscient, appel au 15' })
        .count(),
    ).toBeGreaterThan(0);
    expect(await rows.filter({ hasText: 'accès refusé' }).filter({ hasText: 'Dr Bruno Bloque' }).count()).toBeGreaterThan(0);
  }, 90_000);

  it('downloads every document as a ZIP from « Mon profil »', async () => {
    await openFromMenu(page, 'Mon profil', 'Mon profil');
    expect(await page.locator('#profile-state').textContent()).toMatch(/Votre profil est actif/);
    await expectNoAxeViolations(page);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Télécharger tous mes documents (ZIP)' }).click()]);
    expect(download.suggestedFilename()).toBe('mon-espace-sante-documents.zip');
    const zip = await fs.readFile((await download.path())!);
    expect(zip.subarray(0, 2).toString('latin1')).toBe('PK');
  }, 60_000);

  it('closes the profile after a confirmation; mail and professionals are then refused', async () => {
    await page.getByRole('button', { name: 'Fermer mon profil', exact: true }).click();
    const confirm = page.getByRole('group', { name: 'Voulez-vous vraiment fermer votre profil ?' });
    await confirm.waitFor({ timeout: 5_000 });
    expect(await focusedText(page)).toBe('Voulez-vous vraiment fermer votre profil ?');
    expect(await confirm.getByRole('link', { name: "Télécharger d'abord tous mes documents (ZIP)" }).count()).toBe(1);
    await confirm.getByRole('button', { name: 'Non, garder mon profil' }).click();
    await status(page, 'Votre profil reste ouvert.').waitFor({ timeout: 5_000 });
    expect(await confirm.isHidden()).toBe(true);
    expect((await proList(DOCTOR)).status).toBe(200);

    await page.getByRole('button', { name: 'Fermer mon profil', exact: true }).click();
    await confirm.getByRole('button', { name: 'Oui, fermer mon profil' }).click();
    await page.getByRole('heading', { level: 2, name: 'Votre profil est fermé' }).waitFor({ timeout: 10_000 });
    await status(page, 'Votre profil a bien été fermé.').waitFor({ timeout: 5_000 });
    expect((await proList(DOCTOR)).status).toBe(403);
    const refused = await sendMail({
      port: t.gw.smtpPort!,
      pki: t.pki,
      cert: 'hopital-a.mssante.fr',
      from: 'dr.martin@hopital-a.mssante.fr',
      to: [`${P.ins}@patient.mssante.fr`],
      subject: 'Après fermeture',
    });
    expect(refused.ok).toBe(false);

    // the session was revoked: the next page asks to log in again
    await page.getByRole('link', { name: "Retour à la page d'accueil" }).click();
    await page.locator('#ins').waitFor({ timeout: 10_000 });
  }, 60_000);
});
