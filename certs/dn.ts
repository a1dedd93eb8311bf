/**
 * Distinguished names, reduced to one canonical RFC 4514 string so that a DN typed into the ANS whitelist
 * and the subject of a certificate presented over TLS compare equal exactly when they name the same entity.
 *
 * Guarantees:
 * - `normalizeDn` is idempotent (`normalizeDn(normalizeDn(x)) === normalizeDn(x)`), keeps the RDN order as
 *   written (most specific first), maps attribute types to upper-case short names (OIDs and long names
 *   included), trims values, collapses inner whitespace, lower-cases values, sorts the parts of multi-valued
 *   RDNs and re-escapes per RFC 4514. Attribute types stay distinct: `L=Lyon` never equals `ST=Lyon`.
 * - `dnFromX509` reads node:crypto's rendering of the subject (OpenSSL, one RDN per line, root-most first,
 *   RFC 2253 escaping) and returns the same canonical form.
 *
 * Failure semantics: malformed input (no '=', empty attribute type, unterminated quotes, dangling escape,
 * bad hex, invalid UTF-8, trailing separator) makes `normalizeDn`/`dnFromX509` throw `DnParseError`.
 * `sameDn` never throws: it answers false when either side is malformed or empty, because an unparseable or
 * empty name must never authorise anything.
 */
import type { X509Certificate } from 'node:crypto';

export class DnParseError extends Error {
  override readonly name = 'DnParseError';
  constructor(
    message: string,
    readonly input: string,
    readonly position: number,
  ) {
    super(`${message} at position ${position} in DN ${JSON.stringify(input)}`);
  }
}

/** One attribute of an RDN. `binary` marks a `#hex` value that is not a character string (kept as hex). */
export interface DnAttribute {
  type: string;
  value: string;
  binary?: boolean;
}

/** RDNs in RFC 4514 order (most specific first); each RDN holds one or more attributes. */
export type ParsedDn = DnAttribute[][];

// Both short and long names occur in the wild (whitelist editors, OpenSSL, Java, .NET), and OIDs appear when a
// tool does not know the attribute; all of them must land on one spelling or equal names would differ.
const TYPE_ALIASES: ReadonlyMap<string, string> = new Map(
  (
    [
      ['CN', 'cn', 'commonname', '2.5.4.3'],
      ['SN', 'sn', 'surname', '2.5.4.4'],
      ['SERIALNUMBER', 'serialnumber', '2.5.4.5'],
      ['C', 'c', 'countryname', '2.5.4.6'],
      ['L', 'l', 'localityname', '2.5.4.7'],
      ['ST', 'st', 's', 'stateorprovincename', '2.5.4.8'],
      ['STREET', 'street', 'streetaddress', '2.5.4.9'],
      ['O', 'o', 'organizationname', '2.5.4.10'],
      ['OU', 'ou', 'organizationalunitname', '2.5.4.11'],
      ['TITLE', 'title', '2.5.4.12'],
      ['POSTALCODE', 'postalcode', '2.5.4.17'],
      ['NAME', 'name', '2.5.4.41'],
      ['GIVENNAME', 'givenname', 'gn', '2.5.4.42'],
      ['INITIALS', 'initials', '2.5.4.43'],
      ['GENERATIONQUALIFIER', 'generationqualifier', '2.5.4.44'],
      ['DNQUALIFIER', 'dnqualifier', '2.5.4.46'],
      ['PSEUDONYM', 'pseudonym', '2.5.4.65'],
      ['ORGANIZATIONIDENTIFIER', 'organizationidentifier', '2.5.4.97'],
      ['DC', 'dc', 'domaincomponent', '0.9.2342.19200300.100.1.25'],
      ['UID', 'uid', 'userid', '0.9.2342.19200300.100.1.1'],
      ['E', 'e', 'email', 'emailaddress', '1.2.840.113549.1.9.1'],
    ] as const
  ).flatMap(([canonical, ...aliases]) => aliases.map((alias) => [alias, canonical] as [string, string])),
);

const KEYWORD = /^[A-Za-z][A-Za-z0-9-]*$/;
const OID = /^\d+(?:\.\d+)*$/;

function canonicalType(raw: string, input: string, position: number): string {
  let type = raw.trim();
  // RFC 1779 wrote OIDs as "OID.2.5.4.3"; some Java tools still do.
  if (/^oid\./i.test(type)) type = type.slice(4);
  if (type === '') throw new DnParseError('Empty attribute type', input, position);
  if (OID.test(type)) {
    const normalisedOid = type
      .split('.')
      .map((arc) => String(BigInt(arc)))
      .join('.');
    return TYPE_ALIASES.get(normalisedOid) ?? normalisedOid;
  }
  if (!KEYWORD.test(type)) throw new DnParseError(`Invalid attribute type ${JSON.stringify(type)}`, input, position);
  return TYPE_ALIASES.get(type.toLowerCase()) ?? type.toUpperCase();
}

const HEX2 = /^[0-9A-Fa-f]{2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: number[], input: string, position: number): string {
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    throw new DnParseError('Invalid UTF-8 in escaped value', input, position);
  }
}

// A `#hex` value is the BER encoding of the attribute value. When it is a character string we decode it, so
// that `CN=#0c03616263` and `CN=abc` (the same value written two ways) compare equal.
function decodeBerString(hex: string): string | undefined {
  const bytes = Buffer.from(hex, 'hex');
  if (bytes.length < 2) return undefined;
  const tag = bytes[0]!;
  let length = bytes[1]!;
  let offset = 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || bytes.length < 2 + n) return undefined;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + bytes[2 + i]!;
    offset = 2 + n;
  }
  if (offset + length !== bytes.length) return undefined;
  const content = bytes.subarray(offset);
  try {
    switch (tag) {
      case 0x0c: // UTF8String
        return utf8.decode(content);
      case 0x12: // NumericString
      case 0x13: // PrintableString
      case 0x16: // IA5String
      case 0x1a: // VisibleString
        return content.toString('ascii');
      case 0x14: // TeletexString: treated as Latin-1, as OpenSSL does
        return content.toString('latin1');
      case 0x1e: // BMPString (UCS-2 big-endian)
        return Buffer.from(content).swap16().toString('utf16le');
      case 0x1c: {
        // UniversalString (UCS-4 big-endian)
        if (content.length % 4 !== 0) return undefined;
        let text = '';
        for (let i = 0; i < content.length; i += 4) text += String.fromCodePoint(content.readUInt32BE(i));
        return text;
      }
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/**
 * Parses an RFC 4514 (tolerantly also RFC 2253/1779-style) DN string into RDNs with unescaped values.
 * Values are returned as decoded, not yet normalised.
 */
export function parseDn(input: string): ParsedDn {
  const rdns: ParsedDn = [];
  let i = 0;
  const n = input.length;
  const skipSpaces = (): void => {
    while (i < n && isSpace(input[i])) i++;
  };

  skipSpaces();
  if (i === n) return rdns;

  let current: DnAttribute[] = [];
  for (;;) {
    // attribute type
    skipSpaces();
    const typeStart = i;
    while (i < n && input[i] !== '=' && input[i] !== ',' && input[i] !== '+') i++;
    if (i === n || input[i] !== '=') {
      throw new DnParseError("Expected '='", input, i);
    }
    const type = canonicalType(input.slice(typeStart, i), input, typeStart);
    i++; // '='
    skipSpaces();

    // attribute value
    let attr: DnAttribute;
    if (input[i] === '"') {
      const start = i;
      i++;
      const bytes: number[] = [];
      let closed = false;
      while (i < n) {
        const c = input[i]!;
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        if (c === '\\') {
          i = readEscape(input, i, bytes);
          continue;
        }
        pushChar(bytes, input, i);
        i += input.codePointAt(i)! > 0xffff ? 2 : 1;
      }
      if (!closed) throw new DnParseError('Unterminated quoted value', input, start);
      attr = { type, value: decodeUtf8(bytes, input, start) };
      skipSpaces();
    } else if (input[i] === '#') {
      const start = i;
      i++;
      const hexStart = i;
      while (i < n && /[0-9A-Fa-f]/.test(input[i]!)) i++;
      const hex = input.slice(hexStart, i);
      if (hex.length === 0 || hex.length % 2 !== 0) throw new DnParseError('Invalid #hex value', input, start);
      const text = decodeBerString(hex);
      attr = text === undefined ? { type, value: `#${hex.toLowerCase()}`, binary: true } : { type, value: text };
      skipSpaces();
    } else {
      const start = i;
      const bytes: number[] = [];
      while (i < n && input[i] !== ',' && input[i] !== '+') {
        if (input[i] === '\\') {
          i = readEscape(input, i, bytes);
          continue;
        }
        const cp = input.codePointAt(i)!;
        pushChar(bytes, input, i);
        i += cp > 0xffff ? 2 : 1;
      }
      attr = { type, value: decodeUtf8(bytes, input, start) };
    }
    current.push(attr);

    if (i === n) {
      rdns.push(current);
      return rdns;
    }
    const sep = input[i];
    if (sep === ',') {
      rdns.push(current);
      current = [];
    } else if (sep !== '+') {
      throw new DnParseError(`Unexpected character ${JSON.stringify(sep)} after value`, input, i);
    }
    i++;
    skipSpaces();
    if (i === n) throw new DnParseError('Dangling separator', input, i - 1);
  }
}

function pushChar(bytes: number[], input: string, i: number): void {
  const cp = input.codePointAt(i)!;
  for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
}

// Handles `\X` (special char) and `\HH` (one byte of a UTF-8 sequence); returns the index after the escape.
function readEscape(input: string, i: number, bytes: number[]): number {
  const next2 = input.slice(i + 1, i + 3);
  if (HEX2.test(next2)) {
    bytes.push(parseInt(next2, 16));
    return i + 3;
  }
  if (i + 1 >= input.length) throw new DnParseError('Dangling escape', input, i);
  // RFC 4514 only defines escapes for special characters; accepting any escaped character as itself is
  // harmless and copes with tools that over-escape.
  pushChar(bytes, input, i + 1);
  return i + 1 + (input.codePointAt(i + 1)! > 0xffff ? 2 : 1);
}

/** Value normalisation: NFC, whitespace runs to one space, trimmed, lower-cased. */
function normaliseValue(value: string): string {
  return value.normalize('NFC').replace(/\s+/gu, ' ').trim().toLowerCase();
}

/** RFC 4514 §2.4 escaping, plus '=' and control characters so that the output is unambiguous for any reader. */
export function escapeDnValue(value: string): string {
  let out = '';
  const chars = Array.from(value);
  chars.forEach((c, index) => {
    const code = c.codePointAt(0)!;
    if ('\\"+,;<>='.includes(c)) out += `\\${c}`;
    else if ((c === '#' || c === ' ') && index === 0) out += `\\${c}`;
    else if (c === ' ' && index === chars.length - 1) out += '\\ ';
    else if (code < 0x20 || code === 0x7f) out += `\\${code.toString(16).padStart(2, '0').toUpperCase()}`;
    else out += c;
  });
  return out;
}

function serialiseAttribute(attr: DnAttribute): string {
  return `${attr.type}=${attr.binary ? attr.value : escapeDnValue(attr.value)}`;
}

/** Canonical RFC 4514 form of a DN; see the file header for the rules. Throws DnParseError on bad input. */
export function normalizeDn(dn: string): string {
  return parseDn(dn)
    .map((rdn) =>
      rdn
        .map((attr) => serialiseAttribute(attr.binary ? attr : { type: attr.type, value: normaliseValue(attr.value) }))
        .sort()
        .join('+'),
    )
    .join(',');
}

/**
 * Converts OpenSSL's multi-line name rendering used by node:crypto (`C=FR\nO=...\nCN=...`, root-most first,
 * each line RFC 2253-escaped, multi-valued RDNs joined by " + ") to canonical RFC 4514 form.
 */
export function dnFromOpenSslMultiline(name: string): string {
  // Control characters inside values are hex-escaped by OpenSSL, so a raw newline is always a separator.
  const lines = name.split('\n').filter((line) => line.trim() !== '');
  return normalizeDn(lines.reverse().join(','));
}

/** Canonical DN of the certificate subject. Throws DnParseError if node's rendering cannot be parsed. */
export function dnFromX509(cert: X509Certificate): string {
  return dnFromOpenSslMultiline(cert.subject);
}

/** Canonical DN of the certificate issuer. */
export function issuerDnFromX509(cert: X509Certificate): string {
  return dnFromOpenSslMultiline(cert.issuer);
}

/** True when both DNs parse, are non-empty and are equal once normalised. Never throws. */
export function sameDn(a: string, b: string): boolean {
  try {
    const na = normalizeDn(a);
    return na !== '' && na === normalizeDn(b);
  } catch {
    return false;
  }
}
