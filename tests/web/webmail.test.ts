// The patient webmail in Debian's Chromium (playwright-core, never a downloaded browser) against the real
// server: French page at `/`, login with the INS and password (Enter), then the e-mailed code (Enter), then the
// inbox with the subject of a message delivered over SMTP; the PDF viewer, a hostile HTML body, the sent folder,
// a new message, an ended session, keyboard-only use and a phone-sized screen.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { makePdf } from '../support/pdf.js';
import { freePort } from '../support/ports.js';
import { startOperatorSink, type OperatorSink } from '../support/operator-sink.js';
import { importPatientsCsv, readLoginCode, sendMail, startTestGateway, waitFor, type TestGateway } from '../support/harness.js';
import { launchChromium, signInPage } from '../support/browser.js';

let t: TestGateway;
let browser: Browser;
let sink: OperatorSink;
const P = {
  ins: makeTestIns(9501),
  email: 'web9501@example.org',
  birthDate: '1980-08-08',
  provisionalCode: 'PROV-WEB-9501',
  password: 'Mot-de-passe-Web-9501',
};

beforeAll(async () => {
  // replies go to a local closed port: no routing outside this machine
  // the patient's replies leave through the relay to a real SMTP server playing the professional's operator
  const sinkPort = await freePort();
  t = await startTestGateway({ env: { RELAY_ROUTES: `hopital-a.mssante.fr=127.0.0.1:${sinkPort}` } });
  sink = await startOperatorSink(t.pki, sinkPort);
  await importPatientsCsv(
    t,
    `ins,family_name,given_names,birth_date,email,state,provisional_code\n${P.ins},TEST-WEB,W,${P.birthDate},${P.email},created,${P.provisionalCode}\n`,
  );
  expect(
    (
      await sendMail({
        port: t.gw.smtpPort!,
        pki: t.pki,
        cert: 'hopital-a.mssante.fr',
        from: 'dr.web@hopital-a.mssante.fr',
        to: [`${P.ins}@patient.mssante.fr`],
        subject: 'Résultats de votre prise de sang',
      })
    ).ok,
  ).toBe(true);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await sink?.close();
  await t?.close();
});

const ORIGIN = () => `http://127.0.0.1:${t.gw.apiPort}`;
const pro = (from: string) => ({ port: t.gw.smtpPort!, pki: t.pki, cert: 'hopital-a.mssante.fr' as const, from, to: [`${P.ins}@patient.mssante.fr`] });

/** A complete MIME message (HTML alternative, attachments) built by nodemailer's composer, sent as raw bytes. */
async function sendComposed(
  from: string,
  mail: { subject: string; text: string; html?: string; attachments?: { filename: string; content: Buffer; contentType: string; cid?: string }[] },
) {
  const raw = await new MailComposer({ from, to: `${P.ins}@patient.mssante.fr`, ...mail }).compile().build();
  const r = await sendMail({ ...pro(from), raw });
  expect(r.ok, r.response).toBe(true);
}

async function openSignedIn(): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${ORIGIN()}/`);
  await signIn(page);
  await page.locator('#inbox, .empty').first().waitFor({ timeout: 15_000 });
  return page;
}

async function openMessage(page: Page, subject: string): Promise<void> {
  await page.goto(`${ORIGIN()}/#/messages`);
  const link = page.locator('#inbox a.subject', { hasText: subject });
  await waitFor(async () => ((await link.count()) > 0 ? true : (await page.reload(), null)), 20_000, `message "${subject}" in the inbox`);
  await link.first().click();
  await page.locator('#message-title').waitFor({ timeout: 10_000 });
}

const signIn = (p: Page) => signInPage(p, t, P);

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
    await page
      .locator('[role="alert"]')
      .filter({ hasText: /Activation impossible/ })
      .waitFor({ timeout: 10_000 });
    await page.fill('#act-code', P.provisionalCode);
    await page.press('#act-password', 'Enter');
    await page.getByText('Votre profil est activé').waitFor({ timeout: 10_000 });
    expect(await page.locator('#ins').count()).toBe(1);
    await page.close();
  }, 60_000);

  it('logs in with the password then the e-mailed code, and shows the inbox', async () => {
    const page = await browser.newPage();
    const res = await page.goto(`http://127.0.0.1:${t.gw.apiPort}/`);
    const headers = res!.headers();
    expect(headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(headers['x-frame-options']).toBe('DENY');
    expect(await page.getAttribute('html', 'lang')).toBe('fr');
    await signIn(page);
    await page.getByText('Résultats de votre prise de sang').waitFor({ timeout: 15_000 });
    expect(await page.locator('#inbox li').count()).toBe(1);

    // open it and reply with the keyboard-reachable form
    await page.getByText('Résultats de votre prise de sang').click();
    await page.locator('#reply-text').fill('Merci docteur.');
    await page.getByRole('button', { name: 'Envoyer' }).click();
    await page.getByText('Votre réponse a été envoyée.').waitFor({ timeout: 15_000 });
    const out = await waitFor(async () => sink.received.find((m) => m.to.includes('dr.web@hopital-a.mssante.fr')), 20_000, 'the reply at the operator');
    expect(out.raw.toString('utf8')).toContain('Merci docteur.');
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
    await expect(
      page
        .locator('[role="alert"]')
        .filter({ hasText: /incorrect/ })
        .first()
        .waitFor({ timeout: 10_000 }),
    ).resolves.toBeUndefined();
    await page.close();
  }, 60_000);

  it('previews a PDF attachment with pdf.js in a sandboxed frame, and downloads it', async () => {
    await sendComposed('dr.pdf@hopital-a.mssante.fr', {
      subject: 'Votre compte rendu en PDF',
      text: 'Veuillez trouver votre compte rendu.',
      attachments: [{ filename: 'compte-rendu.pdf', content: makePdf(['Compte rendu page 1', 'Page 2']), contentType: 'application/pdf' }],
    });
    const page = await openSignedIn();
    await openMessage(page, 'Votre compte rendu en PDF');
    await page.getByRole('button', { name: 'Aperçu de compte-rendu.pdf' }).click();
    await page.getByRole('status').filter({ hasText: 'compte-rendu.pdf : 2 pages' }).waitFor({ timeout: 20_000 });
    const frame = page.locator('iframe.pdf-viewer');
    expect(await frame.getAttribute('sandbox')).toBe('allow-scripts');
    const canvases = page.frameLocator('iframe.pdf-viewer').locator('canvas');
    expect(await canvases.count()).toBe(2);
    // the page was really drawn: the blue rectangle's pixels are there
    const painted = await canvases.first().evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let blue = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 2]! > 150 && d[i]! < 100) blue += 1;
      return blue;
    });
    expect(painted).toBeGreaterThan(100);
    // the sandboxed viewer cannot reach the app: it has an opaque origin
    const viewer = page.frames().find((f) => f.url().endsWith('/assets/viewers/pdf.html'))!;
    expect(await viewer.evaluate(() => window.origin)).toBe('null');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Télécharger compte-rendu.pdf' }).click()]);
    expect(download.suggestedFilename()).toBe('compte-rendu.pdf');
    await page.close();
  }, 90_000);

  it('replies with a document chosen from the vault attached', async () => {
    const page = await openSignedIn();
    await openMessage(page, 'Votre compte rendu en PDF');
    await page.locator('summary', { hasText: 'Joindre des documents' }).click();
    const box = page.getByRole('checkbox', { name: /^compte-rendu\.pdf/ });
    await box.waitFor({ timeout: 10_000 });
    await box.check();
    await page.fill('#reply-text', 'Voici le document signé.');
    await page.getByRole('button', { name: 'Envoyer' }).click();
    await page.getByRole('status').filter({ hasText: 'Votre réponse a été envoyée.' }).waitFor({ timeout: 15_000 });
    expect(await box.isChecked()).toBe(false);
    const out = await waitFor(
      async () => sink.received.find((m) => m.raw.toString('utf8').includes('Voici le document sign')),
      20_000,
      'the reply at the operator',
    );
    const raw = out.raw.toString('utf8');
    expect(out.to).toEqual(['dr.pdf@hopital-a.mssante.fr']);
    expect(raw).toMatch(/filename="?compte-rendu\.pdf/);
    expect(raw).toMatch(/Content-Type: application\/pdf/i);
    await page.close();
  }, 60_000);

  it('renders a hostile HTML body: nothing runs, nothing loads, the text and inline styles stay', async () => {
    const hits: string[] = [];
    const tracker = http.createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end('x');
    });
    await new Promise<void>((r) => tracker.listen(0, '127.0.0.1', r));
    const evil = `http://127.0.0.1:${(tracker.address() as AddressInfo).port}`;
    const html = `<html><head><style>@import url(${evil}/import.css); body { background: url(${evil}/style-bg.png) }
      @font-face { font-family: x; src: url(${evil}/font.woff) } input[value^="a"] { background-image: url(${evil}/leak-a) }</style>
      <link rel="stylesheet" href="${evil}/link.css"><meta http-equiv="refresh" content="0;url=${evil}/refresh"><base href="${evil}/"></head>
      <body><p id="styled" style="color: rgb(200, 0, 0); background-image: url(${evil}/inline-bg.png)">Texte visible du message</p>
      <script>parent.document.title = 'PWNED'; fetch('${evil}/script')</script>
      <img src="x" onerror="parent.document.body.setAttribute('data-pwned', '1'); new Image().src='${evil}/onerror'">
      <img src="${evil}/track.png" alt="pixel"><img srcset="${evil}/srcset.png 1x">
      <div style="background: image-set('${evil}/image-set.png' 1x)">fond</div>
      <a id="jslink" href="javascript:parent.document.body.setAttribute('data-pwned','2')">lien</a>
      <svg><script>parent.document.title='PWNED-SVG'</script><image href="${evil}/svg.png"/></svg>
      <iframe src="${evil}/frame"></iframe><object data="${evil}/object"></object><video poster="${evil}/poster.png"></video>
      <form action="${evil}/form"><input name="q" value="abc"><button>ok</button></form>
      <details open ontoggle="parent.document.body.setAttribute('data-pwned','3')"><summary>s</summary></details>
      </body></html>`;
    await sendComposed('dr.html@hopital-a.mssante.fr', { subject: 'Message HTML hostile', text: 'Texte visible du message', html });
    const page = await openSignedIn();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await openMessage(page, 'Message HTML hostile');
    const body = page.frameLocator('iframe.mail-html');
    await body.getByText('Texte visible du message').waitFor({ timeout: 10_000 });
    await page.locator('#blocked-content').getByText('ont été bloqués').waitFor({ timeout: 5_000 });
    expect(await page.locator('iframe.mail-html').getAttribute('sandbox')).not.toContain('allow-scripts');
    // inline styles survive through the CSSOM (the page's CSP forbids style attributes in markup)
    expect(await body.locator('#styled').evaluate((e) => getComputedStyle(e).color)).toBe('rgb(200, 0, 0)');
    const left = await body
      .locator('body')
      .locator('script, iframe, object, form, input, svg, link, meta, base')
      .evaluateAll((els) => els.map((e) => e.outerHTML));
    expect(left).toEqual([]);
    await body
      .locator('#jslink')
      .click()
      .catch(() => undefined);
    await page.waitForTimeout(1500);
    expect(await page.title()).not.toContain('PWNED');
    expect(await page.locator('body').getAttribute('data-pwned')).toBeNull();
    expect(dialogs).toEqual([]);
    expect(hits).toEqual([]);
    expect(requests.filter((u) => u.startsWith(evil))).toEqual([]);
    await page.close();
    tracker.close();
  }, 90_000);

  it("shows an inline (cid:) image from the message's own attachments, and previews an image attachment", async () => {
    // a 2×2 red PNG
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEUlEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg==', 'base64');
    await sendComposed('dr.image@hopital-a.mssante.fr', {
      subject: 'Photo de la cicatrice',
      text: 'Voici la photo.',
      html: '<p>Voici la photo :</p><img id="inline" src="cid:photo-1@hopital" alt="cicatrice">',
      attachments: [{ filename: 'cicatrice.png', content: png, contentType: 'image/png', cid: 'photo-1@hopital' }],
    });
    const page = await openSignedIn();
    await openMessage(page, 'Photo de la cicatrice');
    const img = page.frameLocator('iframe.mail-html').locator('#inline');
    await img.waitFor({ timeout: 10_000 });
    await waitFor(async () => (await img.evaluate((e: HTMLImageElement) => e.complete && e.naturalWidth === 2)) || null, 10_000, 'the inline image');
    expect(await page.locator('#blocked-content').isHidden()).toBe(true);
    await page.getByRole('button', { name: 'Aperçu de cicatrice.png' }).click();
    const preview = page.locator('#preview img.preview');
    await preview.waitFor({ timeout: 10_000 });
    expect(await preview.getAttribute('src')).toMatch(/^blob:/);
    await waitFor(async () => (await preview.evaluate((e: HTMLImageElement) => e.naturalWidth === 2)) || null, 10_000, 'the preview');
    await page.close();
  }, 60_000);

  it('writes to a professional who wrote first, and lists it under sent messages', async () => {
    const page = await openSignedIn();
    await page.getByRole('link', { name: 'Écrire', exact: true }).click();
    await page.locator('#new-to').waitFor({ timeout: 10_000 });
    const options = await page.locator('#new-to option').allTextContents();
    expect(options.length).toBeGreaterThan(0);
    // the professional who ended the exchange with [FIN] is not offered
    expect(options.join('|')).not.toMatch(/dr\.fin/);
    await page.selectOption('#new-to', { index: 0 });
    await page.fill('#new-subject', 'Question sur mon traitement');
    await page.fill('#new-text', 'Bonjour, puis-je prendre mon traitement le soir ?');
    await page.getByRole('button', { name: 'Envoyer' }).click();
    await page.getByRole('status').filter({ hasText: 'Votre message a été envoyé' }).waitFor({ timeout: 15_000 });
    await page.getByRole('link', { name: 'Messages envoyés' }).click();
    await page.locator('#sent a.subject', { hasText: 'Question sur mon traitement' }).waitFor({ timeout: 10_000 });
    await page.locator('#sent a.subject', { hasText: 'Question sur mon traitement' }).click();
    await page.getByText('Bonjour, puis-je prendre mon traitement le soir ?').waitFor({ timeout: 10_000 });
    expect(await page.locator('#reply-form').count()).toBe(0);
    await page.close();
  }, 60_000);

  it('when the session ends, asks to log in again, returns to the same message and keeps the draft', async () => {
    const page = await openSignedIn();
    await openMessage(page, 'Votre compte rendu en PDF');
    const url = page.url();
    await page.fill('#reply-text', 'Brouillon à ne pas perdre');
    await page.context().clearCookies();
    await page.getByRole('button', { name: 'Envoyer' }).click();
    await page.locator('[role="alert"]').filter({ hasText: 'Votre session a expiré' }).waitFor({ timeout: 10_000 });
    await signIn(page);
    await page.locator('#reply-text').waitFor({ timeout: 15_000 });
    expect(page.url()).toBe(url);
    expect(await page.inputValue('#reply-text')).toBe('Brouillon à ne pas perdre');
    await page.close();
  }, 60_000);

  it('keeps drafts per patient: another patient on the same tab does not get them, and logout removes them', async () => {
    const Q = {
      ins: makeTestIns(9502),
      email: 'web9502@example.org',
      birthDate: '1981-09-09',
      provisionalCode: 'PROV-WEB-9502',
      password: 'Mot-de-passe-Web-9502',
    };
    await importPatientsCsv(
      t,
      `ins,family_name,given_names,birth_date,email,state,provisional_code\n${Q.ins},TEST-WEB,Q,${Q.birthDate},${Q.email},created,${Q.provisionalCode}\n`,
    );
    const activated = await fetch(`${ORIGIN()}/v1/patient/activate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ins: Q.ins, provisionalCode: Q.provisionalCode, birthDate: Q.birthDate, password: Q.password }),
    });
    expect(activated.status).toBe(204);
    expect((await sendMail({ ...pro('dr.web@hopital-a.mssante.fr'), to: [`${Q.ins}@patient.mssante.fr`], subject: 'Pour Q' })).ok).toBe(true);
    const drafts = (p: Page) =>
      p.evaluate(() =>
        Object.keys(sessionStorage)
          .filter((k) => k.startsWith('mes-draft'))
          .map((k) => `${k}=${sessionStorage.getItem(k)}`),
      );

    const page = await openSignedIn();
    await page.goto(`${ORIGIN()}/#/new`);
    await page.fill('#new-text', 'Brouillon confidentiel de P');
    expect((await drafts(page)).join('\n')).toContain('Brouillon confidentiel de P');
    expect((await drafts(page)).join('\n')).not.toContain(P.ins); // keyed by a digest, not by the INS
    // P's session ends; Q signs in on the same tab and writes a new message: P's draft is not there, nor kept.
    await page.context().clearCookies();
    await page.reload();
    await signInPage(page, t, Q);
    await waitFor(
      async () => ((await page.locator('#new-text').count()) > 0 ? true : (await page.goto(`${ORIGIN()}/#/new`), null)),
      20_000,
      "Q's new message form",
    );
    expect(await page.inputValue('#new-text')).toBe('');
    expect((await drafts(page)).join('\n')).not.toContain('Brouillon confidentiel de P');
    await page.fill('#new-text', 'Brouillon de Q');
    expect((await drafts(page)).join('\n')).toContain('Brouillon de Q');
    // Logout removes every draft of the tab.
    await page.click('#logout');
    await page.locator('#ins').waitFor({ timeout: 10_000 });
    expect(await drafts(page)).toEqual([]);
    await page.close();
  }, 90_000);

  it('can be used with the keyboard only: log in, open a message, reply', async () => {
    const page = await browser.newPage();
    await page.goto(`${ORIGIN()}/`);
    await page.locator('#ins').waitFor();
    // the first field has the focus: type, Tab, type, Enter
    await page.keyboard.type(P.ins);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('password');
    await page.keyboard.type(P.password);
    await page.keyboard.press('Enter');
    await page.locator('#code').waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('code');
    const otp = await waitFor(async () => readLoginCode(t.dataDir, P.email).catch(() => null), 10_000, 'the code e-mail');
    await page.keyboard.type(otp);
    await page.keyboard.press('Enter');
    await page.locator('#inbox').waitFor({ timeout: 15_000 });
    const reach = async (test: () => boolean, what: string) => {
      for (let i = 0; i < 40; i += 1) {
        await page.keyboard.press('Tab');
        if (await page.evaluate(test)) return;
      }
      throw new Error(`${what} not reachable with Tab`);
    };
    await reach(() => document.activeElement?.textContent === 'Votre compte rendu en PDF', 'the message link');
    await page.keyboard.press('Enter');
    await page.locator('#message-title').waitFor({ timeout: 10_000 });
    await reach(() => document.activeElement?.id === 'reply-text', 'the reply field');
    await page.keyboard.type('Réponse au clavier');
    await reach(() => document.activeElement?.textContent === 'Envoyer', 'the send button');
    await page.keyboard.press('Enter');
    await page.getByText('Votre réponse a été envoyée.').waitFor({ timeout: 15_000 });
    await page.close();
  }, 90_000);

  it('fits a phone-sized screen without horizontal scrolling', async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    await page.goto(`${ORIGIN()}/`);
    await signIn(page);
    await page.locator('#inbox').waitFor({ timeout: 15_000 });
    const overflow = async () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await openMessage(page, 'Votre compte rendu en PDF');
    expect(await overflow()).toBeLessThanOrEqual(0);
    await context.close();
  }, 60_000);

  it('lets a patient in the 6-week window oppose the creation of the profile', async () => {
    // Its own INS: 9502 is the drafts test's active patient, which an import must not turn back into a pending one.
    const O = { ins: makeTestIns(9509), birthDate: '1990-02-02', code: 'PROV-WEB-9509' };
    await importPatientsCsv(
      t,
      `ins,family_name,given_names,birth_date,email,state,provisional_code\n${O.ins},TEST-WEB,O,${O.birthDate},o9502@example.org,pending,${O.code}\n`,
    );
    const page = await browser.newPage();
    await page.goto(`${ORIGIN()}/`);
    await page.click('#go-opposition');
    await page.fill('#opp-ins', O.ins);
    await page.fill('#opp-code', 'PAS-LE-BON');
    await page.fill('#opp-birth', O.birthDate);
    await page.press('#opp-birth', 'Enter');
    await page.locator('[role="alert"]').filter({ hasText: 'Opposition impossible' }).waitFor({ timeout: 10_000 });
    await page.fill('#opp-code', O.code);
    await page.getByRole('button', { name: "Je m'oppose à la création de mon profil" }).click();
    await page.getByText('Votre opposition est enregistrée').waitFor({ timeout: 10_000 });
    // the gateway now answers for this INS exactly as for an unknown one
    const r = await sendMail({ ...pro('dr.web@hopital-a.mssante.fr'), to: [`${O.ins}@patient.mssante.fr`] });
    expect(r.ok).toBe(false);
    expect(r.response).toMatch(/^550 5\.1\.1/);
    await page.close();
  }, 60_000);
});
