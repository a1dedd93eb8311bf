/**
 * Safe XML plumbing shared by the METADATA.XML and CDA readers (and the media-type sniffer).
 *
 * Guarantees:
 * - `decodeXml` turns bytes into text by the BOM, else the UTF-16 byte pattern of `<`, else the encoding named
 *   in the XML declaration (UTF-8, US-ASCII, ISO-8859-1/15, windows-1252). Any other declared encoding is
 *   refused: we would otherwise check for DOCTYPE in a text that is not the one the parser reads.
 * - `parseSafeXml` refuses any document containing `<!DOCTYPE` or `<!ENTITY` (any case, anywhere, even in a
 *   comment or CDATA: being stricter than needed is cheaper than reasoning about where a parser looks), checks
 *   well-formedness, then parses with entity expansion OFF. XXE, billion-laughs and external DTD fetches are
 *   therefore impossible by construction, whatever the parser's own defaults become.
 * - Because entity expansion is off, values come back raw; `xmlText` decodes only the five predefined
 *   entities and numeric character references, which is all XML allows without a DTD.
 * - Failures throw XdmError with the code given by the caller (`metadata-invalid`, `cda-invalid`), or
 *   `doctype` for a DOCTYPE/ENTITY declaration.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { XdmError, type XdmErrorCode } from './errors.js';

const SUPPORTED_8BIT: Record<string, string> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  'us-ascii': 'utf-8', // ASCII is a subset of UTF-8
  ascii: 'utf-8',
  'iso-8859-1': 'windows-1252', // WHATWG maps latin1 labels to windows-1252, a superset for printable text
  latin1: 'windows-1252',
  'iso-8859-15': 'iso-8859-15',
  'windows-1252': 'windows-1252',
  cp1252: 'windows-1252',
};

/** Decode XML bytes; returns null when the encoding is not one we support. */
export function decodeXml(buf: Buffer): string | null {
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
    return new TextDecoder('utf-8').decode(buf.subarray(3));
  }
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) return new TextDecoder('utf-16le').decode(buf.subarray(2));
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) return new TextDecoder('utf-16be').decode(buf.subarray(2));
  // Without a BOM, UTF-16 still shows as `<` next to a zero byte (XML 1.0 appendix F).
  if (buf.length >= 2 && buf[0] === 0x3c && buf[1] === 0x00) return new TextDecoder('utf-16le').decode(buf);
  if (buf.length >= 2 && buf[0] === 0x00 && buf[1] === 0x3c) return new TextDecoder('utf-16be').decode(buf);
  // ASCII-compatible: the declaration, if any, names the encoding; it is ASCII itself, so latin1 reads it.
  const head = buf.subarray(0, 200).toString('latin1');
  const m = /^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head);
  const label = m?.[1]?.toLowerCase() ?? 'utf-8';
  const enc = SUPPORTED_8BIT[label];
  if (!enc) return null;
  return new TextDecoder(enc).decode(buf);
}

/** True when the text declares a DTD or an entity. */
export function hasDoctypeOrEntity(text: string): boolean {
  return /<!\s*(DOCTYPE|ENTITY)/i.test(text);
}

/** Decode the predefined entities and character references left raw by the parser (expansion is off). */
export function xmlText(raw: string): string {
  return raw.replace(/&(lt|gt|amp|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});/g, (whole, ent: string) => {
    switch (ent) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
    }
    const cp = ent.startsWith('#x') ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10);
    // Keep invalid references (surrogates, out of range, NUL) as written rather than inventing characters.
    if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return whole;
    return String.fromCodePoint(cp);
  });
}

export type XmlNode = Record<string, unknown>;

/**
 * Parse untrusted XML: refuse DOCTYPE/ENTITY, check well-formedness, parse with namespaces prefixes removed,
 * attributes as `@_name`, no entity expansion, no number coercion (codes like `0012` must stay strings).
 * `arrays` lists the element local names that are always returned as arrays.
 */
export function parseSafeXml(bytes: Buffer, opts: { arrays: ReadonlySet<string>; failCode: XdmErrorCode; what: string; stopNodes?: string[] }): XmlNode {
  const text = decodeXml(bytes);
  if (text === null) throw new XdmError(opts.failCode, `${opts.what}: unsupported XML encoding`);
  if (hasDoctypeOrEntity(text)) throw new XdmError('doctype', `${opts.what}: DOCTYPE or ENTITY declaration`);
  let valid: ReturnType<typeof XMLValidator.validate>;
  try {
    valid = XMLValidator.validate(text);
  } catch (e) {
    throw new XdmError(opts.failCode, `${opts.what}: XML validator failed: ${String(e)}`, {}, { cause: e });
  }
  if (valid !== true) {
    throw new XdmError(opts.failCode, `${opts.what}: malformed XML at line ${valid.err.line}: ${valid.err.msg}`);
  }
  const parser = new XMLParser({
    removeNSPrefix: true,
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    processEntities: false,
    htmlEntities: false,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    stopNodes: opts.stopNodes ?? [],
    isArray: (name: string, _jPath: unknown, _isLeaf: boolean, isAttribute: boolean) => !isAttribute && opts.arrays.has(name),
  });
  try {
    return parser.parse(text) as XmlNode;
  } catch (e) {
    throw new XdmError(opts.failCode, `${opts.what}: XML parser failed: ${String(e)}`, {}, { cause: e });
  }
}

// ---- small accessors over the parser's output ---------------------------------------------------------------

export function asNode(v: unknown): XmlNode | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as XmlNode) : null;
}

/** Child elements by local name, always as an array of nodes (text-only children become `{ '#text': … }`). */
export function children(node: XmlNode | null, name: string): XmlNode[] {
  if (!node) return [];
  const v = node[name];
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return list.map((x) => (typeof x === 'string' ? { '#text': x } : asNode(x))).filter((x): x is XmlNode => x !== null);
}

export function child(node: XmlNode | null, name: string): XmlNode | null {
  return children(node, name)[0] ?? null;
}

/** Attribute value, entity-decoded and trimmed; null when absent or empty. */
export function attr(node: XmlNode | null, name: string): string | null {
  const v = node?.[`@_${name}`];
  if (typeof v !== 'string') return null;
  const s = xmlText(v).trim();
  return s === '' ? null : s;
}

/** Text content of an element, entity-decoded and trimmed; null when absent or empty. */
export function text(node: XmlNode | null): string | null {
  const v = node?.['#text'];
  if (typeof v !== 'string') return null;
  const s = xmlText(v).trim();
  return s === '' ? null : s;
}

/**
 * Local name of the root element, read from the first bytes only (for sniffing and to tell a CDA apart
 * before a full parse). Skips the declaration, processing instructions, comments and a DOCTYPE. Returns null
 * when the text does not start like XML or the root is beyond the given bytes.
 */
export function rootElementName(head: Buffer): string | null {
  const s = decodeXml(head);
  if (s === null) return null;
  let i = 0;
  const n = s.length;
  while (i < n) {
    while (i < n && /\s/.test(s[i] ?? '')) i++;
    if (s[i] !== '<') return null;
    if (s.startsWith('<?', i)) {
      const end = s.indexOf('?>', i + 2);
      if (end < 0) return null;
      i = end + 2;
    } else if (s.startsWith('<!--', i)) {
      const end = s.indexOf('-->', i + 4);
      if (end < 0) return null;
      i = end + 3;
    } else if (/^<!DOCTYPE/i.test(s.slice(i, i + 9))) {
      // An internal subset may contain '>', so skip to the matching ']' first when there is one.
      const bracket = s.indexOf('[', i);
      const close = s.indexOf('>', i);
      if (close < 0) return null;
      if (bracket >= 0 && bracket < close) {
        const endSubset = s.indexOf(']', bracket);
        if (endSubset < 0) return null;
        const after = s.indexOf('>', endSubset);
        if (after < 0) return null;
        i = after + 1;
      } else {
        i = close + 1;
      }
    } else {
      const m = /^<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)[\s/>]/.exec(s.slice(i, i + 300));
      return m?.[2] ?? null;
    }
  }
  return null;
}
