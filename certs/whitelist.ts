/**
 * The ANS whitelist of MSSanté domains (`listeblanchemssante.xml`): which operator certificate DNs may send
 * for which domain.
 *
 * Guarantees:
 * - Parsing accepts the quirks seen in the real file: with or without a namespace (prefixed or not), a single
 *   `Domaine`, DNs with `L=` instead of `ST=` or with spaces after commas, multi-line contact fields, XML
 *   entities and character references. Domains are lower-cased; DNs are compared in `normalizeDn` form.
 * - No DTD is ever processed: a document carrying `<!DOCTYPE` is refused, so entity-expansion and
 *   external-entity tricks cannot reach the parser.
 * - `isSenderAuthorised` fails closed: an unknown domain, an unparseable or empty peer DN, or a DN listed only
 *   for other domains is never 'ok'.
 *
 * Failure semantics: `parseWhitelist` throws `WhitelistFormatError` when the document is not well-formed XML,
 * declares a DTD, has a root other than ListeBlancheMSSante, or yields no usable entry. Individual entries
 * with no domain, an unparseable DN or repeated Nom/DN elements are left out and reported in `skipped` (one
 * bad line in a 6 500-entry list must not take every domain offline, and must not be silently trusted
 * either). `buildWhitelistXml` throws on an empty domain, an unparseable DN or characters XML 1.0 cannot
 * carry.
 */
import { readFile } from 'node:fs/promises';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { DnParseError, normalizeDn } from './dn.js';

export const WHITELIST_NAMESPACE = 'https://listeblanche.mssante.fr/schema';

export class WhitelistFormatError extends Error {
  override readonly name = 'WhitelistFormatError';
}

export interface WhitelistEntry {
  /** Mail domain, lower-cased. */
  domain: string;
  /** Operator certificate DN as written in the file. */
  dn: string;
  /** `normalizeDn(dn)`. */
  normalizedDn: string;
  description?: string;
  responsable?: string;
  support?: string;
  /** DateMAJ: an ISO timestamp in the published file; a bare date is taken as 00:00 UTC. */
  updatedAt?: Date;
}

export interface SkippedEntry {
  /** 0-based position of the `Domaine` element in the file. */
  index: number;
  domain?: string;
  dn?: string;
  reason: string;
}

export interface Whitelist {
  generatedAt: Date | null;
  entries: WhitelistEntry[];
  /** Lower-cased domain → set of normalised operator DNs. */
  byDomain: Map<string, Set<string>>;
  /** Entries that could not be used; meant for alerting, never for authorisation. */
  skipped: SkippedEntry[];
}

export type SenderDecision = 'ok' | 'domain-not-listed' | 'dn-not-listed-for-domain';

export interface WhitelistInputEntry {
  domain: string;
  dn: string;
  description?: string;
  responsable?: string;
  support?: string;
  /** DateMAJ; defaults to the generation date. */
  updatedAt?: Date;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  // Keep every value a string: OU-like numbers and dates must not be turned into numbers.
  parseTagValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Decodes the predefined entities and &#NN; / &#xHH; references; DOCTYPEs are refused before we get here.
  processEntities: true,
  htmlEntities: true,
  isArray: (name) => name === 'Domaine',
});

function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'object' && '#text' in value) return text((value as Record<string, unknown>)['#text']);
  return undefined;
}

function optionalText(value: unknown): string | undefined {
  const t = text(value)?.trim();
  return t ? t : undefined;
}

function parseDate(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const date = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Lower-cases a domain and drops a trailing root dot, so that `Hopital-A.mssante.fr.` finds its entry. */
export function normalizeDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/\.$/, '');
}

export function parseWhitelist(xml: string): Whitelist {
  const source = xml.replace(/^\uFEFF/, '');
  if (/<!DOCTYPE/i.test(source)) {
    throw new WhitelistFormatError('Whitelist declares a DTD (<!DOCTYPE>); refused, DTDs are never processed');
  }
  const validation = XMLValidator.validate(source);
  if (validation !== true) {
    const { msg, line, col } = validation.err;
    throw new WhitelistFormatError(`Whitelist is not well-formed XML: ${msg} (line ${line}, column ${col})`);
  }
  const doc = parser.parse(source) as Record<string, unknown>;
  const roots = Object.keys(doc);
  if (roots.length !== 1 || roots[0] !== 'ListeBlancheMSSante') {
    throw new WhitelistFormatError(`Whitelist root element must be ListeBlancheMSSante, found ${roots.length ? roots.join(', ') : 'none'}`);
  }
  const root = doc.ListeBlancheMSSante;
  const rootObj = (typeof root === 'object' && root !== null ? root : {}) as Record<string, unknown>;
  const generatedAt = parseDate(optionalText(rootObj.DateDeGeneration)) ?? null;
  const liste = rootObj.ListeDomaines;
  const domaines = typeof liste === 'object' && liste !== null ? (liste as Record<string, unknown>).Domaine : undefined;
  const items = Array.isArray(domaines) ? (domaines as unknown[]) : [];

  const entries: WhitelistEntry[] = [];
  const skipped: SkippedEntry[] = [];
  const byDomain = new Map<string, Set<string>>();

  items.forEach((item, index) => {
    const fields = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    // Two names or two DNs in one entry make its meaning ambiguous: neither is trusted.
    const repeated = ['Nom', 'DNCertificatOperateur'].filter((name) => Array.isArray(fields[name]));
    if (repeated.length > 0) {
      skipped.push({ index, reason: `several ${repeated.join(' and ')} elements` });
      return;
    }
    const rawDomain = optionalText(fields.Nom);
    const dn = optionalText(fields.DNCertificatOperateur);
    if (!rawDomain) {
      skipped.push({ index, dn, reason: 'missing Nom' });
      return;
    }
    const domain = normalizeDomain(rawDomain);
    if (!dn) {
      skipped.push({ index, domain, reason: 'missing DNCertificatOperateur' });
      return;
    }
    let normalizedDn: string;
    try {
      normalizedDn = normalizeDn(dn);
    } catch (err) {
      skipped.push({ index, domain, dn, reason: err instanceof DnParseError ? err.message : String(err) });
      return;
    }
    if (normalizedDn === '') {
      skipped.push({ index, domain, dn, reason: 'empty DNCertificatOperateur' });
      return;
    }
    const entry: WhitelistEntry = { domain, dn, normalizedDn };
    const description = optionalText(fields.Description);
    const responsable = optionalText(fields.ResponsableContact);
    const support = optionalText(fields.SupportContact);
    const updatedAt = parseDate(optionalText(fields.DateMAJ));
    if (description !== undefined) entry.description = description;
    if (responsable !== undefined) entry.responsable = responsable;
    if (support !== undefined) entry.support = support;
    if (updatedAt !== undefined) entry.updatedAt = updatedAt;
    entries.push(entry);
    let set = byDomain.get(domain);
    if (!set) byDomain.set(domain, (set = new Set()));
    set.add(normalizedDn);
  });

  if (entries.length === 0) {
    const detail = items.length === 0 ? 'no Domaine element' : `all ${items.length} Domaine elements unusable`;
    throw new WhitelistFormatError(`Whitelist has no usable entry (${detail})`);
  }
  return { generatedAt, entries, byDomain, skipped };
}

export function isSenderAuthorised(list: Whitelist, domain: string, peerDn: string): SenderDecision {
  const dns = list.byDomain.get(normalizeDomain(domain));
  if (!dns || dns.size === 0) return 'domain-not-listed';
  let normalised: string;
  try {
    normalised = normalizeDn(peerDn);
  } catch {
    return 'dn-not-listed-for-domain';
  }
  return normalised !== '' && dns.has(normalised) ? 'ok' : 'dn-not-listed-for-domain';
}

// XML 1.0 Char production: anything else cannot be represented, even escaped.
const INVALID_XML_CHARS =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function escapeXml(value: string): string {
  if (INVALID_XML_CHARS.test(value)) throw new WhitelistFormatError('Value contains characters XML 1.0 cannot carry');
  return (
    value
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
      // A literal CR would be turned into LF by any XML parser.
      .replace(/\r/g, '&#13;')
  );
}

const isoSeconds = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Writes the layout of the published file (declaration and root on one line, 4-space indentation, every
 * element present even when empty, DateMAJ as an ISO timestamp like the real list; parsers accept a bare date).
 */
export function buildWhitelistXml(entries: WhitelistInputEntry[], generatedAt: Date = new Date()): string {
  if (Number.isNaN(generatedAt.getTime())) throw new WhitelistFormatError('generatedAt is not a valid date');
  const lines = [
    `<?xml version="1.0" encoding="UTF-8"?><ListeBlancheMSSante xmlns="${WHITELIST_NAMESPACE}">`,
    `    <DateDeGeneration>${isoSeconds(generatedAt)}</DateDeGeneration>`,
    '    <ListeDomaines>',
  ];
  for (const entry of entries) {
    const domain = normalizeDomain(entry.domain);
    if (!domain) throw new WhitelistFormatError('Whitelist entry with an empty domain');
    let normalised: string;
    try {
      normalised = normalizeDn(entry.dn);
    } catch (err) {
      if (!(err instanceof DnParseError)) throw err;
      throw new WhitelistFormatError(`Invalid DN for domain ${domain}: ${err.message}`);
    }
    if (normalised === '') throw new WhitelistFormatError(`Empty DN for domain ${domain}`);
    const updatedAt = entry.updatedAt ?? generatedAt;
    if (Number.isNaN(updatedAt.getTime())) throw new WhitelistFormatError(`Invalid updatedAt for domain ${domain}`);
    lines.push(
      '        <Domaine>',
      `            <Nom>${escapeXml(domain)}</Nom>`,
      `            <Description>${escapeXml(entry.description ?? '')}</Description>`,
      `            <DNCertificatOperateur>${escapeXml(entry.dn.trim())}</DNCertificatOperateur>`,
      `            <ResponsableContact>${escapeXml(entry.responsable ?? '')}</ResponsableContact>`,
      `            <SupportContact>${escapeXml(entry.support ?? '')}</SupportContact>`,
      `            <DateMAJ>${isoSeconds(updatedAt)}</DateMAJ>`,
      '        </Domaine>',
    );
  }
  lines.push('    </ListeDomaines>', '</ListeBlancheMSSante>', '');
  return lines.join('\n');
}

export async function loadWhitelistFile(path: string): Promise<Whitelist> {
  return parseWhitelist(await readFile(path, 'utf8'));
}
