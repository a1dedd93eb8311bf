// "The professionals I know" (issue 11 item 7): the list a patient picks from to choose the administrator doctor
// or to block someone, instead of typing an 11-digit RPPS. One pure merge of what the I/O layer read
// (access/known-professionals.ts): the professionals in the patient's activity history and the mailbox contacts
// whose RPPS the professionals' directory knows.
//
// Guarantees and decisions:
// - Only entries with a well-formed RPPS (11 digits) are kept: the list exists to fill an RPPS, and a contact
//   whose RPPS is unknown cannot be blocked by name (the RPPS field remains for them).
// - One entry per RPPS. The history's entry wins, newest event first: it is the identity the professional's
//   token asserted when they acted, which is what the access rules judge (name, profession, organisation,
//   FINESS), and it marks the professional as having accessed the record, the condition to become the
//   administrator doctor (source 'history'). A directory-known contact alone is source 'contact'.
// - `lastSeenAt`: the latest of the professional's last event and last message, so the list reads newest first
//   (ties by RPPS, so the order is stable), at most `max` entries.

export type KnownSource = 'history' | 'contact';

export interface KnownProfessional {
  rpps: string;
  displayName: string;
  profession: string | null;
  organisation: string | null;
  finess: string | null;
  /** ISO 8601. */
  lastSeenAt: string;
  source: KnownSource;
}

const RPPS = /^\d{11}$/;

const time = (iso: string): number => {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : t;
};

export function mergeKnownProfessionals(
  history: readonly Omit<KnownProfessional, 'source'>[],
  contacts: readonly Omit<KnownProfessional, 'source'>[],
  max: number,
): KnownProfessional[] {
  const byRpps = new Map<string, KnownProfessional>();
  const newestFirst = (list: readonly Omit<KnownProfessional, 'source'>[]) => [...list].sort((a, b) => time(b.lastSeenAt) - time(a.lastSeenAt));
  for (const h of newestFirst(history)) {
    if (RPPS.test(h.rpps) && !byRpps.has(h.rpps)) byRpps.set(h.rpps, { ...h, source: 'history' });
  }
  for (const c of newestFirst(contacts)) {
    if (!RPPS.test(c.rpps)) continue;
    const known = byRpps.get(c.rpps);
    if (!known) byRpps.set(c.rpps, { ...c, source: 'contact' });
    else if (time(c.lastSeenAt) > time(known.lastSeenAt)) byRpps.set(c.rpps, { ...known, lastSeenAt: c.lastSeenAt });
  }
  return [...byRpps.values()]
    .sort((a, b) => time(b.lastSeenAt) - time(a.lastSeenAt) || (a.rpps < b.rpps ? -1 : a.rpps > b.rpps ? 1 : 0))
    .slice(0, Math.max(0, max));
}
