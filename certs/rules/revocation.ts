/**
 * Pure rules of keeping the CRLs current (SPEC §2: peers are refused when revoked, where CRLs are configured).
 * No I/O: the reloader (certs/revocation.ts) reads the files and calls these.
 *
 * Guarantees:
 * - `sameCrlSet` compares the PEM blocks as text, ignoring order: a file rewritten with the same CRLs is not a
 *   change (no new secure context, no log line).
 * - `expiredCrls` lists the CRLs in force whose nextUpdate has passed. node:tls then refuses every peer whose
 *   chain the CRL covers (CRL_HAS_EXPIRED: fail closed), so the reloader alerts on it at every check: it is an
 *   outage of every sender under that CA until a fresh CRL is installed.
 *
 * Failure semantics: never throws.
 */

export interface CrlDates {
  issuer: string;
  nextUpdate: Date | null;
}

export function sameCrlSet(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((v, i) => v === sb[i]);
}

export function expiredCrls<T extends CrlDates>(crls: readonly T[], nowMs: number): T[] {
  return crls.filter((c) => c.nextUpdate !== null && c.nextUpdate.getTime() < nowMs);
}
