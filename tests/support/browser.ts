// Debian's Chromium driven by playwright-core for the webmail tests: never a downloaded browser. `--no-sandbox`
// because tests may run as root; no background network, no updates, no QUIC.
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { readLoginCode, waitFor, type TestGateway } from './harness.js';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** The contract's login: INS and password submitted with Enter, then the e-mailed code submitted with Enter. */
export async function signInPage(page: Page, t: TestGateway, p: { ins: string; password: string; email: string }): Promise<void> {
  await page.fill('#ins', p.ins);
  await page.fill('#password', p.password);
  await page.press('#password', 'Enter');
  const code = page.locator('input[autocomplete="one-time-code"]');
  await code.waitFor({ timeout: 15_000 });
  const otp = await waitFor(async () => readLoginCode(t.dataDir, p.email).catch(() => null), 10_000, 'the code e-mail');
  await code.fill(otp);
  await code.press('Enter');
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

let axeSource: Promise<string> | null = null;

/**
 * Runs axe-core in the page as it is, evaluated over the DevTools protocol (the page's CSP stays untouched).
 * `options` are axe.run's (e.g. `runOnly` tags); frames are not descended into: mail and PDF frames are content.
 */
export async function axeViolations(page: Page, options: Record<string, unknown> = {}): Promise<AxeViolation[]> {
  axeSource ??= fs.readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(await axeSource);
  return page.evaluate(async (opts) => {
    const axe = (window as unknown as { axe: { run(ctx: unknown, o: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run(document, { iframes: false, resultTypes: ['violations'], ...opts })).violations;
  }, options);
}
