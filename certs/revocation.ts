/**
 * Keeps the CRLs in force current: the files of CRL_FILE are re-read every LIMIT_CRL_RELOAD_MS (an operator's
 * job, e.g. a cron fetching IGC-Santé's CRLs, replaces them), and a changed, valid set is handed to whoever
 * verifies peers: the SMTP ingress (a new secure context for the next handshakes) and the outbound relay
 * (which reads `current()` at every connection).
 *
 * Guarantees:
 * - A new set replaces the one in force only when every file reads, every block is a CRL and node:tls accepts
 *   the whole with the trust anchors (checkTrustUsable); otherwise the previous CRLs stay in force and the
 *   failure is logged with alert `CRL-RELOAD` at every check until the files are fixed. Never a moment without
 *   CRLs: revocation checking is never switched off by a bad file.
 * - A CRL in force whose nextUpdate has passed is logged with alert `CRL-EXPIRED` at every check: node:tls then
 *   refuses every peer under that CA (fail closed), which is an outage to fix, not a state to live with.
 * - `onChange` listeners run in order; if one throws, the set it was given is not recorded as in force (the
 *   next check tries again) and the alert is logged; a listener must leave its previous state intact on throw.
 * - Logs name files, CRL counts and issuers (public data), never certificate or message content.
 *
 * Failure semantics: `check()` never throws (it returns 'failed'); checks never overlap (a check still
 * running when the timer fires is not doubled). Stopping clears the timer; a check in flight finishes.
 */
import type { Logger } from 'pino';
import { expiredCrls, sameCrlSet } from './rules/revocation.js';
import { checkTrustUsable, describeCrl, loadCrlFiles, type CrlInfo } from './trust.js';

export type CrlCheck = 'reloaded' | 'unchanged' | 'failed';

export interface CrlReloaderOptions {
  files: string[];
  /** Trust anchors the CRLs go with (the whole is validated by node:tls before use). */
  ca: string[];
  /** The CRLs in force at start (loadTrustMaterial().crl). */
  initial: string[];
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  now?: () => number;
}

export class CrlReloader {
  #crl: string[];
  #infos: (CrlInfo | null)[];
  #listeners: ((crl: string[]) => void)[] = [];
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<CrlCheck> | null = null;
  readonly #o: CrlReloaderOptions;

  constructor(o: CrlReloaderOptions) {
    this.#o = o;
    this.#crl = o.initial;
    this.#infos = describeAll(o.initial);
  }

  /** The CRLs in force, one PEM per entry (node:tls `crl`). */
  current(): string[] {
    return this.#crl;
  }

  /** Called with every new set before it is recorded as in force (see the header). */
  onChange(listener: (crl: string[]) => void): void {
    this.#listeners.push(listener);
  }

  check(): Promise<CrlCheck> {
    this.#running ??= this.#check().finally(() => (this.#running = null));
    return this.#running;
  }

  async #check(): Promise<CrlCheck> {
    const log = this.#o.logger;
    let outcome: CrlCheck;
    try {
      const next = await loadCrlFiles(this.#o.files);
      if (sameCrlSet(next, this.#crl)) {
        outcome = 'unchanged';
      } else {
        checkTrustUsable({ ca: this.#o.ca, crl: next });
        for (const listener of this.#listeners) listener(next);
        this.#crl = next;
        this.#infos = describeAll(next);
        log.info({ crls: next.length, files: this.#o.files.length }, 'CRLs reloaded');
        outcome = 'reloaded';
      }
    } catch (err) {
      log.error({ alert: 'CRL-RELOAD', err: (err as Error).message, files: this.#o.files }, 'CRL reload failed; the CRLs in force are kept');
      outcome = 'failed';
    }
    this.#alertExpired();
    return outcome;
  }

  #alertExpired(): void {
    const now = this.#o.now?.() ?? Date.now();
    const known = this.#infos.filter((i): i is CrlInfo => i !== null);
    for (const c of expiredCrls(known, now)) {
      this.#o.logger.error(
        { alert: 'CRL-EXPIRED', issuer: c.issuer, nextUpdate: c.nextUpdate?.toISOString() },
        'a CRL in force has expired: every peer under its CA is refused until a fresh one is installed',
      );
    }
  }

  /** Checks every `everyMs` (timer unref'd: it never keeps the process alive); the expiry alert runs at once too. */
  start(everyMs: number): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#alertExpired();
    this.#timer = setInterval(() => void this.check(), everyMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }
}

function describeAll(crl: string[]): (CrlInfo | null)[] {
  return crl.map((pem) => {
    try {
      return describeCrl(pem);
    } catch {
      return null; // node:tls accepted it; the expiry alert just cannot read its dates
    }
  });
}
