/**
 * A minimal DER reader (X.690): just enough to read the dates and issuer of a CRL (certs/trust.ts
 * `describeCrl`) without loading an ASN.1 library on the serving path. It decides nothing about trust:
 * signatures, chains and revocation are node:tls's.
 *
 * Guarantees:
 * - Reading only, never past the buffer: every length is checked against what remains, indefinite lengths
 *   (not DER) and lengths over 2^32 are refused, and a constructed element's children must fill it exactly.
 * - Children are read on demand (`derChildren`), one level at a time, so a CRL with many entries costs nothing
 *   beyond the elements that are looked at.
 * - `derTime` follows RFC 5280 §4.1.2.5: UTCTime years 50–99 are 19xx, 00–49 are 20xx; both forms must end in Z.
 *
 * Failure semantics: malformed input throws `DerError` (with the offset); `derTime` returns null for an
 * element that is not a time, and throws `DerError` for a time that does not parse.
 */

export class DerError extends Error {
  override readonly name = 'DerError';
}

export const DER_CLASS_UNIVERSAL = 0;
export const DER_TAG = {
  INTEGER: 2,
  OID: 6,
  UTF8_STRING: 12,
  SEQUENCE: 16,
  SET: 17,
  PRINTABLE_STRING: 19,
  T61_STRING: 20,
  IA5_STRING: 22,
  UTC_TIME: 23,
  GENERALIZED_TIME: 24,
  BMP_STRING: 30,
} as const;

export interface DerElement {
  /** 0 universal, 1 application, 2 context-specific, 3 private. */
  cls: number;
  constructed: boolean;
  tag: number;
  /** The content octets (a view on the input, not a copy). */
  content: Buffer;
  /** Offset of the element's first octet in the buffer it was read from, for error messages. */
  offset: number;
  /** Octets taken by the whole element (identifier, length, content). */
  size: number;
}

/** Reads the element starting at `offset` of `buf`. */
export function readDerElement(buf: Buffer, offset = 0): DerElement {
  let i = offset;
  const need = (n: number): void => {
    if (i + n > buf.length) throw new DerError(`truncated element at offset ${offset}`);
  };
  need(2);
  const id = buf[i++]!;
  const cls = id >> 6;
  const constructed = (id & 0x20) !== 0;
  let tag = id & 0x1f;
  if (tag === 0x1f) {
    tag = 0;
    for (let n = 0; ; n++) {
      need(1);
      const b = buf[i++]!;
      if (n >= 4) throw new DerError(`tag number too large at offset ${offset}`);
      tag = tag * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
  }
  need(1);
  const first = buf[i++]!;
  let length: number;
  if (first < 0x80) length = first;
  else if (first === 0x80) throw new DerError(`indefinite length (not DER) at offset ${offset}`);
  else {
    const n = first & 0x7f;
    if (n > 4) throw new DerError(`length too large at offset ${offset}`);
    need(n);
    length = 0;
    for (let k = 0; k < n; k++) length = length * 256 + buf[i++]!;
  }
  need(length);
  return { cls, constructed, tag, content: buf.subarray(i, i + length), offset, size: i + length - offset };
}

/** Reads `buf` as exactly one element (no trailing octets). */
export function readDer(buf: Buffer): DerElement {
  const el = readDerElement(buf, 0);
  if (el.size !== buf.length) throw new DerError(`${buf.length - el.size} trailing octets after the element`);
  return el;
}

/** The elements inside a constructed element, in order. */
export function derChildren(el: DerElement): DerElement[] {
  if (!el.constructed) throw new DerError(`element at offset ${el.offset} is not constructed`);
  const out: DerElement[] = [];
  for (let at = 0; at < el.content.length;) {
    const child = readDerElement(el.content, at);
    out.push({ ...child, offset: el.offset + at });
    at += child.size;
  }
  return out;
}

export const isUniversal = (el: DerElement | undefined, tag: number): el is DerElement => el !== undefined && el.cls === DER_CLASS_UNIVERSAL && el.tag === tag;

/** The date of a UTCTime or GeneralizedTime element; null when the element is neither. */
export function derTime(el: DerElement | undefined): Date | null {
  if (!isUniversal(el, DER_TAG.UTC_TIME) && !isUniversal(el, DER_TAG.GENERALIZED_TIME)) return null;
  const text = el.content.toString('latin1');
  const m =
    el.tag === DER_TAG.UTC_TIME
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
      : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(text);
  if (!m) throw new DerError(`unreadable time "${text}" at offset ${el.offset}`);
  let year = Number(m[1]);
  if (el.tag === DER_TAG.UTC_TIME) year += year >= 50 ? 1900 : 2000;
  const date = new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  if (Number.isNaN(date.getTime())) throw new DerError(`invalid time "${text}" at offset ${el.offset}`);
  return date;
}

/** Dotted form of an OBJECT IDENTIFIER's content. */
export function derOid(el: DerElement): string {
  if (el.cls !== DER_CLASS_UNIVERSAL || el.tag !== DER_TAG.OID || el.content.length === 0) throw new DerError(`not an OID at offset ${el.offset}`);
  const arcs: number[] = [];
  let value = 0;
  for (const b of el.content) {
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    }
  }
  const first = arcs.shift()!;
  const top = first < 80 ? Math.floor(first / 40) : 2;
  return [top, first - top * 40, ...arcs].join('.');
}

const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.97': 'organizationIdentifier',
  '1.2.840.113549.1.9.1': 'E',
};

/** A string value of a name attribute, decoded by its type; other types as hex (`#…`, as in RFC 4514). */
function derString(el: DerElement): string {
  if (el.cls === DER_CLASS_UNIVERSAL) {
    if (el.tag === DER_TAG.UTF8_STRING) return el.content.toString('utf8');
    if (el.tag === DER_TAG.PRINTABLE_STRING || el.tag === DER_TAG.IA5_STRING || el.tag === DER_TAG.T61_STRING) return el.content.toString('latin1');
    if (el.tag === DER_TAG.BMP_STRING && el.content.length % 2 === 0) return Buffer.from(el.content).swap16().toString('utf16le');
  }
  return `#${el.content.toString('hex')}`;
}

/**
 * A Name (RFC 5280 §4.1.2.4: SEQUENCE OF SET OF {type, value}) as `CN=…,O=…,C=…`, most specific first, for
 * messages only (no RFC 4514 escaping; certs/dn.ts is what compares names).
 */
export function derNameText(el: DerElement): string {
  if (el.cls !== DER_CLASS_UNIVERSAL || el.tag !== DER_TAG.SEQUENCE) throw new DerError(`not a Name at offset ${el.offset}`);
  const parts: string[] = [];
  for (const rdn of derChildren(el)) {
    for (const attr of derChildren(rdn)) {
      const [type, value] = derChildren(attr);
      if (!type || !value) throw new DerError(`incomplete attribute at offset ${attr.offset}`);
      const oid = derOid(type);
      parts.push(`${SHORT_NAMES[oid] ?? oid}=${derString(value)}`);
    }
  }
  return parts.reverse().join(',');
}
