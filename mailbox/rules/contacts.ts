/**
 * Who a patient may write to, and how a professional is shown to them (SPEC §4 "Who may write to whom",
 * DOMAIN §3: Reply-To, patients never see professionals' addresses).
 *
 * Pure functions: no I/O, no clock. The whitelist and the contact record are passed in, so the same rules run at
 * delivery time (recording the contact) and at send time (checking a reply or a new message).
 *
 * Bad input never throws here: an address that does not parse is simply not an address anyone may write to
 * (null / `{ ok: false }`), and a display name that is unusable falls back to a neutral label. Refusing is the
 * safe side: a wrong "yes" would let a patient mail a stranger; a wrong "no" only shows a notice.
 */
import { SENTENCES } from './sentences.js';

export interface ParsedAddress {
  local: string;
  /** Lower-cased: domain names are case-insensitive, and the whitelist is looked up by this value. */
  domain: string;
  /** `local@domain`, with the domain lower-cased. The local part keeps its case (RFC 5321 §2.4). */
  address: string;
}

export type WriteRefusalReason = 'patient-address' | 'not-mssante' | 'not-a-contact' | 'exchange-ended';

export type WriteDecision = { ok: true } | { ok: false; reason: WriteRefusalReason; message: string };

/** The official app's wording (ens-mobile), reused verbatim so patients read the same sentence everywhere (sentences.ts). */
export const ONLY_KNOWN_PROFESSIONALS = SENTENCES.onlyKnownProfessionals.text;
export const NO_WRITING_TO_PATIENTS = SENTENCES.noWritingToPatients.text;
export const PROFESSIONAL_ENDED_EXCHANGES = SENTENCES.professionalEndedExchanges.text;
/** Shown instead of a professional's address, which patients must never see. */
export const DEFAULT_PROFESSIONAL_NAME = SENTENCES.defaultProfessionalName.text;

export const MAX_DISPLAY_NAME_LENGTH = 200;

// RFC 5321 §4.5.3.1: beyond these, no conforming server would accept the address anyway.
const MAX_LOCAL_LENGTH = 64;
const MAX_ADDRESS_LENGTH = 254;

/**
 * Parses a bare address (`local@domain`, no display name, no angle brackets). Quoted local parts with spaces
 * and address literals are refused on purpose: no MSSanté or patient address uses them, and every character
 * accepted here may end up in a header of an outgoing message.
 */
export function parseAddress(raw: string): ParsedAddress | null {
  if (typeof raw !== 'string') return null;
  const s = raw.trim();
  if (s.length === 0 || s.length > MAX_ADDRESS_LENGTH) return null;
  // White space and controls (CR/LF above all) would allow header injection; brackets, commas and quotes mean
  // the caller passed a display form or a list, not one address.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must be refused
  if (/[\s\u0000-\u001f\u007f<>(),;:"\\[\]]/.test(s)) return null;
  const at = s.indexOf('@');
  if (at < 0 || at !== s.lastIndexOf('@')) return null;
  const local = s.slice(0, at);
  const domain = s.slice(at + 1).toLowerCase();
  if (local.length === 0 || local.length > MAX_LOCAL_LENGTH || domain.length === 0) return null;
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) return null;
  // Every label non-empty: "a@.fr", "a@fr." and "a@b..fr" are typing errors or probes, never real mailboxes.
  if (domain.split('.').some((label) => label.length === 0 || label.length > 63)) return null;
  return { local, domain, address: `${local}@${domain}` };
}

/**
 * The address the patient may write to about this message (DOMAIN §3, ENS v1.3 §9): the `Reply-To` when it is
 * an MSSanté address, else the `From` when it is one, else null (the message cannot be answered).
 *
 * `isMssanteDomain` receives a lower-cased domain. When `patientDomain` is given, addresses in it are never a
 * contact: the patient domain is itself on the MSSanté whitelist, and a Reply-To pointing at another patient
 * must neither become a contact nor hide a valid professional `From`.
 */
export function contactAddressFor(
  msg: { from: string | null; replyTo: string | null },
  isMssanteDomain: (domain: string) => boolean,
  patientDomain?: string,
): string | null {
  const patient = patientDomain?.trim().toLowerCase() || null;
  for (const candidate of [msg.replyTo, msg.from]) {
    if (candidate == null) continue;
    const parsed = parseAddress(candidate);
    if (!parsed || parsed.domain === patient) continue;
    if (isMssanteDomain(parsed.domain)) return parsed.address;
  }
  return null;
}

/**
 * May the patient send to `address` now? Checked at send time, not only when the form is shown, because a
 * `[FIN]` may arrive in between.
 *
 * Order matters for the message shown: another patient's address is refused before anything else (that rule
 * has no exception); an address outside MSSanté can never be a contact; then the contact record decides.
 * `contact.endedAt` is the time of the professional's last `[FIN]`; the caller clears it when a later message
 * from that professional arrives (a new exchange opens, SPEC §4).
 */
export function canPatientWriteTo(
  address: string,
  ctx: {
    patientDomain: string;
    isMssanteDomain: (domain: string) => boolean;
    contact: { endedAt: Date | null } | null;
  },
): WriteDecision {
  const parsed = parseAddress(address);
  if (!parsed) return { ok: false, reason: 'not-mssante', message: ONLY_KNOWN_PROFESSIONALS };
  if (parsed.domain === ctx.patientDomain.trim().toLowerCase()) {
    return { ok: false, reason: 'patient-address', message: NO_WRITING_TO_PATIENTS };
  }
  if (!ctx.isMssanteDomain(parsed.domain)) return { ok: false, reason: 'not-mssante', message: ONLY_KNOWN_PROFESSIONALS };
  if (!ctx.contact) return { ok: false, reason: 'not-a-contact', message: ONLY_KNOWN_PROFESSIONALS };
  if (ctx.contact.endedAt !== null) {
    return { ok: false, reason: 'exchange-ended', message: PROFESSIONAL_ENDED_EXCHANGES };
  }
  return { ok: true };
}

// Controls (C0, DEL, C1) and the invisible formatting characters (zero-width, bidirectional overrides) a sender
// could use to make one name look like another in the patient's list.
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be removed
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/g;
// Something shaped like an address: many clients put the address itself in the display name.
const LOOKS_LIKE_ADDRESS = /\S@\S/;

function cleanName(name: string | null | undefined, address: string): string | null {
  if (typeof name !== 'string') return null;
  const cleaned = name.replace(INVISIBLE, ' ').replace(/\s+/g, ' ').trim();
  if (cleaned.length === 0 || LOOKS_LIKE_ADDRESS.test(cleaned)) return null;
  // A name that is just the mailbox's local part ("jdupont" <jdupont@…>) gives the address away as well.
  const local = (typeof address === 'string' ? address : '').trim().split('@')[0]?.toLowerCase() ?? '';
  if (local.length > 0 && cleaned.toLowerCase() === local) return null;
  // Cut on code points, never inside a surrogate pair.
  const chars = Array.from(cleaned);
  return chars.length > MAX_DISPLAY_NAME_LENGTH ? chars.slice(0, MAX_DISPLAY_NAME_LENGTH).join('').trimEnd() : cleaned;
}

/**
 * The name the patient sees for a professional: the directory's name (authoritative) when known, else the
 * display name from the message header, else a neutral label. Never the address, not even when a client put
 * the address (or its local part) in the display name: `address` serves only to recognise that case and is never
 * returned.
 */
export function contactDisplayName(input: { directoryName?: string | null; headerName?: string | null; address: string }): string {
  return cleanName(input.directoryName, input.address) ?? cleanName(input.headerName, input.address) ?? DEFAULT_PROFESSIONAL_NAME;
}
