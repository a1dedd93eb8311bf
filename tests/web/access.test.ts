// « Qui voit quoi » in Debian's Chromium (playwright-core) against the real server, checked from the other side
// with the professional API (development bearer tokens, one carrying a FINESS): the SAMU regulator and « bris de
// glace » switches saved each on its own, the administrator doctor and a professional to block picked from the
// professionals the patient knows (history, and a mail contact the directory knows), the RPPS field kept as the
// fallback, and an establishment blocked and unblocked by FINESS. The page is checked with axe-core (WCAG 2 A/AA).
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevIssuer, issueDevToken } from '../../access/pro-auth/index.js';
import { makeTestIns } from '../../access/rules/ins.js';
import { apiClient, importPatientsCsv, loginPatient, sendMail, startTestGateway, waitFor, type ApiClient, type TestGateway } from '../support/harness.js';
import { axeViolations, launchChromium, signInPage } from '../support/browser.js';

let t: TestGateway;
let browser: Browser;
let page: Page;
let base: string;
let patientApi: ApiClient;
let docId = '';
const P = {
  ins: makeTestIns(9801),
  email: 'web9801@example.org',
  birthDate: '1968-02-03',
  provisionalCode: 'PROV-WEB-9801',
  password: 'Mot-de-passe-Web-9801',
};
const HOSPITAL = '750712184';

interface Pro {
  rpps: string;
  name: string;
  organisation: string;
  finess?: string;
}
const DOCTOR: Pro = { rpps: '10000098001', name: 'Dr Alice Martin', organisation: 'HOPITAL A TEST', finess: HOSPITAL };
const SURGEON: Pro = { rpps: '10000098002', name: 'Dr Bruno Chirurgie', organisation: 'HOPITAL A TEST', finess: HOSPITAL };
const EMERGENCY_DOCTOR: Pro = { rpps: '10000098003', name: 'Dr Samia Urgence', organisation: 'SAMU 75' };
const CONTACT = { rpps: '10000098004', address: 'pharmacie.centrale@hopital-a.mssante.fr', name: 'Pharmacie Marc Courrier' };

const pro = (p: Pro) =>
  apiClient(
    t.gw.apiPort!,
    issueDevToken({ dir: path.join(t.pki, 'oidc'), rpps: p.rpps, profession: '10', name: p.name, organisation: p.organisation, finess: p.finess }),
  );
const listStatus = async (p: Pro) => (await pro(p).call('GET', `/v1/patients/${P.ins}/documents`)).status;
const JUSTIFICATION = encodeURIComponent('Patient inconscient, appel au 15, antécédents nécessaires');
const emergencyRead = async (ground: 'samu-regulator' | 'life-at-risk') =>
  (
    await pro(EMERGENCY_DOCTOR).call('GET', `/v1/patients/${P.ins}/documents/${docId}/content`, undefined, {
      'x-emergency-ground': ground,
      'x-emergency-justification': JUSTIFICATION,
    })
  ).status;
const settings = async () =>
  (
    await patientApi.json<{
      administratorRpps: string | null;
      blocked: string[];
      blockedEstablishments: string[];
      samuRegulatorAllowed: boolean;
      breakGlassAllowed: boolean;
    }>('GET', '/v1/me/access')
  ).body;

beforeAll(async () => {
  t = await startTestGateway();
  ensureDevIssuer(path.join(t.pki, 'oidc'));
  base = `http://127.0.0.1:${t.gw.apiPort}`;
  await importPatientsCsv(
    t,
    `ins,family_name,given_names,birth_date,email,state,provisional_code\n${P.ins},TEST-ACC,A,${P.birthDate},${P.email},created,${P.provisionalCode}\n`,
  );
  patientApi = apiClient(t.gw.apiPort!, await loginPatient(t, P));
  // the surgeon deposits a report; the doctor and the surgeon are then in the history
  const form = new FormData();
  form.set('title', 'Compte rendu opératoire');
  form.set('rubric', 'comptes-rendus');
  form.set('file', new Blob([new Uint8Array(Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(6_000)]))], { type: 'application/pdf' }), 'cro.pdf');
  const token = issueDevToken({
    dir: path.join(t.pki, 'oidc'),
    rpps: SURGEON.rpps,
    profession: '10',
    name: SURGEON.name,
    organisation: SURGEON.organisation,
    finess: SURGEON.finess,
  });
  const up = await fetch(`${base}/v1/patients/${P.ins}/documents`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  expect(up.status).toBe(201);
  docId = ((await up.json()) as { id: string }).id;
  expect(await listStatus(DOCTOR)).toBe(200);
  // a pharmacist who only wrote to the patient, known to the directory by RPPS
  const admin = (await fs.readFile(path.join(t.dataDir, 'admin.token'), 'utf8')).trim();
  const dir = await apiClient(t.gw.apiPort!, admin).call(
    'POST',
    '/v1/admin/directory/import',
    `address,rpps,profession_code,display_name\n${CONTACT.address},${CONTACT.rpps},21,${CONTACT.name}\n`,
    {
      'content-type': 'text/csv',
    },
  );
  expect(dir.status).toBe(200);
  expect(
    (
      await sendMail({
        port: t.gw.smtpPort!,
        pki: t.pki,
        cert: 'hopital-a.mssante.fr',
        from: CONTACT.address,
        to: [`${P.ins}@patient.mssante.fr`],
        subject: 'Votre ordonnance est prête',
      })
    ).ok,
  ).toBe(true);
  await waitFor(
    async () => (await patientApi.json<{ items: unknown[] }>('GET', '/v1/me/contacts')).body.items.length > 0,
    20_000,
    'the pharmacist as a contact',
  );
  browser = await launchChromium();
  page = await (await browser.newContext()).newPage();
  await page.goto(`${base}/#/access`);
  await signInPage(page, t, P);
  await page.getByRole('heading', { level: 2, name: 'Qui voit quoi' }).waitFor({ timeout: 15_000 });
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

const status = (text: string | RegExp) => page.locator('[role="status"]').filter({ hasText: text });
const alert = (text: string | RegExp) => page.locator('[role="alert"]').filter({ hasText: text });
const reopen = async () => {
  await page.reload();
  await page.getByRole('heading', { level: 2, name: 'Qui voit quoi' }).waitFor({ timeout: 10_000 });
};
const adminForm = () => page.locator('#admin-form');
const blockForm = () => page.locator('#block-form');

describe('« Qui voit quoi »', () => {
  it('has no WCAG 2 A/AA violation with the lists of known professionals', async () => {
    await adminForm()
      .getByRole('radio', { name: /Dr Alice Martin/ })
      .waitFor({ timeout: 10_000 });
    const violations = await axeViolations(page, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    expect(violations.map((v) => `${v.id}: ${JSON.stringify(v.nodes.map((n) => n.target))}`)).toEqual([]);
  }, 30_000);

  it('saves the SAMU regulator and « bris de glace » switches each on its own', async () => {
    const samu = page.getByRole('checkbox', { name: "Autoriser l'accès par le médecin régulateur du SAMU" });
    const glass = page.getByRole('checkbox', { name: 'Autoriser le bris de glace (urgence vitale)' });
    expect([await samu.isChecked(), await glass.isChecked()]).toEqual([true, true]);
    expect(await page.locator(`#${await samu.getAttribute('aria-describedby')}`).textContent()).toMatch(/médecin régulateur du SAMU pourra lire vos documents/);
    expect(await page.locator(`#${await glass.getAttribute('aria-describedby')}`).textContent()).toMatch(/Si votre vie est en danger/);
    expect([await emergencyRead('samu-regulator'), await emergencyRead('life-at-risk')]).toEqual([200, 200]);

    await samu.uncheck();
    await status("C'est enregistré : le médecin régulateur du SAMU ne peut plus accéder à vos documents.").waitFor({ timeout: 10_000 });
    expect(await settings()).toMatchObject({ samuRegulatorAllowed: false, breakGlassAllowed: true });
    expect([await emergencyRead('samu-regulator'), await emergencyRead('life-at-risk')]).toEqual([403, 200]);

    await glass.focus();
    await page.keyboard.press('Space');
    await status("C'est enregistré : le bris de glace n'est plus autorisé.").waitFor({ timeout: 10_000 });
    await samu.check();
    await status("C'est enregistré : le médecin régulateur du SAMU peut accéder à vos documents.").waitFor({ timeout: 10_000 });
    expect(await settings()).toMatchObject({ samuRegulatorAllowed: true, breakGlassAllowed: false });
    expect([await emergencyRead('samu-regulator'), await emergencyRead('life-at-risk')]).toEqual([200, 403]);

    await reopen();
    expect([await samu.isChecked(), await glass.isChecked()]).toEqual([true, false]);
    await glass.check();
    await status("C'est enregistré : le bris de glace est autorisé.").waitFor({ timeout: 10_000 });
    expect(await settings()).toMatchObject({ samuRegulatorAllowed: true, breakGlassAllowed: true });
  }, 60_000);

  it('picks the administrator doctor among the professionals who consulted the profile', async () => {
    const choices = adminForm().getByRole('group', { name: 'Parmi les professionnels qui ont déjà consulté votre profil' });
    // the history's professionals (the emergency doctor too), not the pharmacist who only wrote
    expect(await choices.getByRole('radio').count()).toBe(4); // doctor, surgeon, emergency doctor, « un autre »
    expect(await choices.getByRole('radio', { name: /Pharmacie Marc Courrier/ }).count()).toBe(0);
    await adminForm().getByRole('button', { name: 'Choisir ce médecin' }).click();
    await alert('Choisissez un professionnel dans la liste, ou saisissez son numéro RPPS.').waitFor({ timeout: 5_000 });

    const alice = choices.getByRole('radio', { name: /^Dr Alice Martin, Médecin \(RPPS 10000098001\) — HOPITAL A TEST \(a consulté votre profil\)$/ });
    await alice.check();
    await adminForm().getByRole('button', { name: 'Choisir ce médecin' }).click();
    await status("C'est enregistré : Dr Alice Martin, Médecin (RPPS 10000098001) est votre médecin administrateur.").waitFor({ timeout: 10_000 });
    expect((await settings()).administratorRpps).toBe(DOCTOR.rpps);
    expect(await page.locator('#admin-state').textContent()).toBe('Votre médecin administrateur : Dr Alice Martin, Médecin (RPPS 10000098001).');
    expect(await choices.getByRole('radio', { name: /Dr Alice Martin/ }).count()).toBe(0); // already chosen

    // the RPPS field stays the fallback: typing in it selects « un autre médecin »
    const field = adminForm().getByLabel('Numéro RPPS du médecin (11 chiffres)');
    await field.fill('100 000 980 02');
    expect(await choices.getByRole('radio', { name: 'Un autre médecin : je saisis son numéro RPPS' }).isChecked()).toBe(true);
    await field.press('Enter');
    await status(/Dr Bruno Chirurgie, Médecin \(RPPS 10000098002\) est votre médecin administrateur/).waitFor({ timeout: 10_000 });
    expect((await settings()).administratorRpps).toBe(SURGEON.rpps);

    await page.getByRole('button', { name: /^Retirer Dr Bruno Chirurgie/ }).click();
    await page.getByText("Vous n'avez pas choisi de médecin administrateur.").waitFor({ timeout: 10_000 });
    expect((await settings()).administratorRpps).toBeNull();
  }, 60_000);

  it('picks a professional to block among those the patient knows, a mail contact included', async () => {
    const choices = blockForm().getByRole('group', { name: 'Parmi les professionnels que vous connaissez' });
    const pharmacist = choices.getByRole('radio', { name: /^Pharmacie Marc Courrier, Pharmacien \(RPPS 10000098004\) \(vous a écrit\)$/ });
    await pharmacist.check();
    await blockForm().getByRole('button', { name: 'Bloquer ce professionnel' }).click();
    await status('Pharmacie Marc Courrier, Pharmacien (RPPS 10000098004) est bloqué : il ne peut plus voir aucun de vos documents.').waitFor({
      timeout: 10_000,
    });
    expect((await settings()).blocked).toEqual([CONTACT.rpps]);
    expect(await page.locator(`#blocked-${CONTACT.rpps}`).textContent()).toContain('Pharmacie Marc Courrier');
    expect(await choices.getByRole('radio', { name: /Pharmacie Marc Courrier/ }).count()).toBe(0); // no longer offered

    const alice = choices.getByRole('radio', { name: /^Dr Alice Martin,/ });
    await alice.check();
    await blockForm().getByRole('button', { name: 'Bloquer ce professionnel' }).click();
    await status(/Dr Alice Martin, Médecin \(RPPS 10000098001\) est bloqué/).waitFor({ timeout: 10_000 });
    expect(await listStatus(DOCTOR)).toBe(403);
    // a blocked doctor is not offered as administrator either
    expect(
      await adminForm()
        .getByRole('radio', { name: /Dr Alice Martin/ })
        .count(),
    ).toBe(0);

    await page.getByRole('button', { name: 'Débloquer Dr Alice Martin, Médecin (RPPS 10000098001)' }).click();
    await status(/Dr Alice Martin, Médecin \(RPPS 10000098001\) est débloqué/).waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Débloquer Pharmacie Marc Courrier, Pharmacien (RPPS 10000098004)' }).click();
    await page.getByText("Vous n'avez bloqué aucun professionnel.").waitFor({ timeout: 10_000 });
    expect(await listStatus(DOCTOR)).toBe(200);
    expect(await choices.getByRole('radio', { name: /Dr Alice Martin/ }).count()).toBe(1);
  }, 60_000);

  it('blocks an establishment by FINESS (its professionals are refused), then unblocks it', async () => {
    await page.getByText("Vous n'avez bloqué aucun établissement.").waitFor({ timeout: 5_000 });
    const field = page.getByLabel("Numéro FINESS de l'établissement à bloquer (9 caractères)");
    await field.fill('75 071');
    await field.press('Enter');
    await alert('Le numéro FINESS doit comporter 9 caractères : des chiffres, ou 2A / 2B suivis de 7 chiffres pour la Corse.').waitFor({ timeout: 5_000 });
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    expect((await settings()).blockedEstablishments).toEqual([]);

    await field.fill('75 071 2184');
    await page.getByRole('button', { name: 'Bloquer cet établissement' }).click();
    await status("L'établissement FINESS 750712184 est bloqué : aucun de ses professionnels ne peut plus voir vos documents.").waitFor({ timeout: 10_000 });
    expect(await field.getAttribute('aria-invalid')).toBeNull();
    expect(await page.locator(`#blocked-establishment-${HOSPITAL}`).textContent()).toContain('Établissement FINESS 750712184');
    expect((await settings()).blockedEstablishments).toEqual([HOSPITAL]);
    expect(await listStatus(DOCTOR)).toBe(403);
    expect(await listStatus(SURGEON)).toBe(403); // even the author of the report
    expect(await listStatus(EMERGENCY_DOCTOR)).toBe(200); // another establishment
    await reopen();
    expect(await page.locator(`#blocked-establishment-${HOSPITAL}`).count()).toBe(1);

    const unblock = page.getByRole('button', { name: "Débloquer l'établissement FINESS 750712184" });
    await unblock.focus();
    await page.keyboard.press('Enter');
    await status("L'établissement FINESS 750712184 est débloqué : ses professionnels peuvent de nouveau voir les documents autorisés.").waitFor({
      timeout: 10_000,
    });
    await page.getByText("Vous n'avez bloqué aucun établissement.").waitFor({ timeout: 5_000 });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('establishments-title');
    expect((await settings()).blockedEstablishments).toEqual([]);
    expect(await listStatus(DOCTOR)).toBe(200);
  }, 60_000);
});
