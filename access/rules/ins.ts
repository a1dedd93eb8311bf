// INS matricule (NIR/NIA) rules for patient addresses `<INS>@<patient domain>` (SPEC §2.3, DOMAIN §4).
//
// Guarantees:
// - `parseIns` never throws, whatever the input. It accepts exactly 15 characters: sex `1`/`2`, year, month
//   `01`–`12` or `20`–`99` (unknown month), département `\d{2}` / `2A` / `2B` (any case), commune, order number,
//   then a 2-digit key `01`–`97`. Anything else (white space, dots, other lengths, letters outside the
//   département, month `00`/`13`–`19`, key `00`/`98`/`99`) is `syntax`: no key can ever compute to those values,
//   so they are malformed rather than mistyped. A well-formed matricule whose key does not match is `key`.
// - On success the matricule is canonical (upper case), so `2a` and `2A` name the same mailbox.
// - `kind` is always 'NIR'. The NIA has the same structure as the NIR ("constitué comme un NIR"), so the
//   matricule alone cannot tell them apart; only the OID carried with the identity (…4.8 NIR, …4.9 NIA) can.
//   'NIA' stays in the type so that an OID-aware caller can report it without a breaking change.
//   Sex digits 3–8 (temporary, migrant and provisional numbers) are not INS and are refused as `syntax`.
// - `computeInsKey` and `insAddress` are for callers holding data they already trust; they throw RangeError on
//   malformed input because that is a programming error, not a sender's mistake.

export type InsParseResult = { ok: true; ins: string; kind: 'NIR' | 'NIA' } | { ok: false; reason: 'syntax' | 'key' };

// ASCII-only classes on purpose: `\d` with the `u` flag still means ASCII, but spelling [0-9] keeps it obvious that
// full-width or other Unicode digits are not digits here.
const INS_PATTERN = /^[12][0-9]{2}(?:0[1-9]|1[0-2]|[2-9][0-9])(?:[0-9]{2}|2[AB])[0-9]{6}(?:0[1-9]|[1-8][0-9]|9[0-7])$/i;
const FIRST13_PATTERN = /^[0-9]{13}$/;

/**
 * Control key of a 13-character NIR body: 97 − (N mod 97), with `2A`→`19` and `2B`→`18` substituted first
 * (CNAM's rule, which replaces every occurrence). Result is in 1..97.
 */
export function computeInsKey(first13: string): number {
  if (typeof first13 !== 'string' || first13.length !== 13) {
    throw new RangeError('computeInsKey expects exactly 13 characters');
  }
  const digits = first13.toUpperCase().replace(/2A/g, '19').replace(/2B/g, '18');
  if (!FIRST13_PATTERN.test(digits)) {
    throw new RangeError('computeInsKey expects digits, with 2A/2B only for Corsica');
  }
  // 13 digits still fit in a double, but BigInt keeps the remainder exact without relying on that margin.
  return 97 - Number(BigInt(digits) % 97n);
}

/** Validate an address local part as an INS matricule. Never throws. */
export function parseIns(localPart: string): InsParseResult {
  if (typeof localPart !== 'string' || localPart.length !== 15 || !INS_PATTERN.test(localPart)) {
    return { ok: false, reason: 'syntax' };
  }
  const ins = localPart.toUpperCase();
  const key = Number(ins.slice(13));
  if (computeInsKey(ins.slice(0, 13)) !== key) {
    return { ok: false, reason: 'key' };
  }
  return { ok: true, ins, kind: 'NIR' };
}

/** True when `s` is a valid INS already in canonical (upper-case) form. */
export function isCanonicalIns(s: string): boolean {
  const r = parseIns(s);
  return r.ok && r.ins === s;
}

// Distinctness of makeTestIns is guaranteed by an injective (commune, order) pair: 990 × 999 combinations.
const TEST_INS_DISTINCT_SEEDS = 990 * 999;

/**
 * Deterministic, VALID, SYNTHETIC matricule for tests, fixtures and benchmarks. These are not real people: the
 * fields are derived from the seed only, and any match with a real NIR would be a coincidence, so they must
 * only be used with test data (in CDA/XDM, with the INS-NIR-TEST OID 1.2.250.1.213.1.4.10).
 * Seeds 0 .. 989 009 give pairwise distinct values. Every 5th seed has an unknown-month code (20–99), and every
 * 7th seed is born in Corsica (2A and 2B in turn). Throws RangeError for a seed that is not a non-negative
 * safe integer.
 */
export function makeTestIns(seed: number): string {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError('makeTestIns expects a non-negative safe integer seed');
  }
  const h = mix32(seed);
  const sex = (h & 1) === 0 ? '1' : '2';
  const year = pad((h >>> 1) % 100, 2);
  const month = seed % 5 === 4 ? pad(20 + ((h >>> 8) % 80), 2) : pad(1 + ((h >>> 8) % 12), 2);
  let dept: string;
  if (seed % 7 === 3) {
    dept = Math.floor(seed / 7) % 2 === 0 ? '2A' : '2B';
  } else {
    // 01–95 plus 97 (overseas), 98 and 99 (born abroad); 20 is kept: it is the pre-1976 Corsican code.
    const d = 1 + ((h >>> 16) % 98);
    dept = pad(d === 96 ? 99 : d, 2);
  }
  const slot = seed % TEST_INS_DISTINCT_SEEDS;
  const commune = pad(1 + Math.floor(slot / 999), 3);
  const order = pad(1 + (slot % 999), 3);
  const first13 = `${sex}${year}${month}${dept}${commune}${order}`;
  return first13 + pad(computeInsKey(first13), 2);
}

/** Patient address for an INS. Throws RangeError when `ins` is not a valid INS (addresses are built from validated data). */
export function insAddress(ins: string, domain: string): string {
  const r = parseIns(ins);
  if (!r.ok) {
    throw new RangeError(`insAddress: invalid INS (${r.reason})`);
  }
  if (typeof domain !== 'string' || domain.length === 0 || /[\s@]/.test(domain)) {
    throw new RangeError('insAddress: invalid domain');
  }
  return `${r.ins}@${domain.toLowerCase()}`;
}

export type PatientAddressResult = { kind: 'not-patient-domain' } | { kind: 'patient'; result: InsParseResult };

/**
 * Classify an envelope address (without angle brackets). The domain is the part after the LAST `@` and is
 * compared case-insensitively with `patientDomain`; an address without `@` or with an empty local part for another
 * domain is simply not ours. The local part is checked as an INS in any case. Never throws.
 */
export function parsePatientAddress(address: string, patientDomain: string): PatientAddressResult {
  if (typeof address !== 'string' || typeof patientDomain !== 'string' || patientDomain.length === 0) {
    return { kind: 'not-patient-domain' };
  }
  const at = address.lastIndexOf('@');
  if (at < 0) {
    return { kind: 'not-patient-domain' };
  }
  const domain = address.slice(at + 1);
  if (domain.toLowerCase() !== patientDomain.toLowerCase()) {
    return { kind: 'not-patient-domain' };
  }
  return { kind: 'patient', result: parseIns(address.slice(0, at)) };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

// A 32-bit integer mixer (murmur3 finaliser): cheap, deterministic, spreads consecutive seeds over all fields.
function mix32(seed: number): number {
  let x = (seed ^ Math.floor(seed / 0x1_0000_0000)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}
