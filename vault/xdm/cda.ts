/**
 * CDA R2 header reader, and the `X-MSS-CODECDA` value recomputed from an XDM archive.
 *
 * Guarantees:
 * - `cdaHeader` reads only the header: the body (`component`) is not parsed into objects, so a CDA wrapping
 *   a large base64 PDF costs one string, not a tree. DOCTYPE/ENTITY is refused (`doctype`); malformed XML, a
 *   root other than `ClinicalDocument`, or several different patient INS in `recordTarget` are `cda-invalid`.
 * - `patientIns` is the upper-cased matricule of the `recordTarget/patientRole/id` whose `root` is an INS OID
 *   (NIR, NIA, test, demo: `patientInsOid` says which, see INS_OIDS in metadata.ts; callers refuse test/demo OIDs in production), or null.
 * - `mssCodeCdaHeader` never trusts the `X-MSS-CODECDA` header of the incoming message (DOMAIN.md §8.9): it
 *   recomputes it from the CDA documents listed in the archive's metadata, in metadata order, one value per
 *   distinct code (the header says which document types are present; repeating a code adds nothing and would
 *   lengthen an unfoldable header), comma-separated, null when there is no CDA. Codes that are not plain
 *   tokens (letters, digits, `.`, `_`, `-`) are left out rather than copied into a mail header.
 */
import { XdmError } from './errors.js';
import { isInsOid, type XdmSubmissionSet } from './metadata.js';
import { attr, child, children, parseSafeXml, rootElementName, text } from './xml.js';

export interface CdaHeader {
  /** ClinicalDocument/code@code: the document type (CI-SIS typeCode, mostly LOINC). */
  code: string | null;
  codeSystem: string | null;
  title: string | null;
  /** Matricule INS of the patient (upper case), when the header carries one. */
  patientIns: string | null;
  /** OID of that INS (see INS_OIDS in metadata.ts). */
  patientInsOid: string | null;
}

const ARRAYS: ReadonlySet<string> = new Set(['recordTarget', 'id']);
const MATRICULE = /^[0-9]{5}(?:[0-9]{2}|2[AB])[0-9]{8}$/i;
const SAFE_CODE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** True when the bytes are XML whose root element is `ClinicalDocument` (any namespace prefix). */
export function isCdaDocument(bytes: Buffer): boolean {
  return rootElementName(bytes.subarray(0, 8192)) === 'ClinicalDocument';
}

/** Read the header of a CDA document. Throws XdmError (`doctype`, `cda-invalid`). */
export function cdaHeader(xml: Buffer): CdaHeader {
  const root = parseSafeXml(xml, { arrays: ARRAYS, failCode: 'cda-invalid', what: 'CDA', stopNodes: ['ClinicalDocument.component'] });
  const doc = child(root, 'ClinicalDocument');
  if (!doc) throw new XdmError('cda-invalid', 'root element is not ClinicalDocument');

  const code = child(doc, 'code');
  const found = new Map<string, string>();
  for (const rt of children(doc, 'recordTarget')) {
    for (const id of children(child(rt, 'patientRole'), 'id')) {
      const root = attr(id, 'root');
      const ext = attr(id, 'extension');
      if (root && ext && isInsOid(root) && MATRICULE.test(ext)) found.set(ext.toUpperCase(), root.replace(/^urn:oid:/i, ''));
    }
  }
  if (found.size > 1) throw new XdmError('cda-invalid', `recordTarget carries ${found.size} different INS`);
  const [ins] = found.entries();

  return {
    code: attr(code, 'code'),
    codeSystem: attr(code, 'codeSystem'),
    title: text(child(doc, 'title')),
    patientIns: ins?.[0] ?? null,
    patientInsOid: ins?.[1] ?? null,
  };
}

/** Join CDA type codes into an `X-MSS-CODECDA` value (distinct, safe tokens, in order); null when none. */
export function codeCdaValue(codes: Iterable<string | null>): string | null {
  const out: string[] = [];
  for (const c of codes) if (c !== null && SAFE_CODE.test(c) && !out.includes(c)) out.push(c);
  return out.length > 0 ? out.join(',') : null;
}

/** `X-MSS-CODECDA` recomputed from the CDA documents of the archive. Throws XdmError on an invalid CDA. */
export function mssCodeCdaHeader(archive: { entries: Map<string, Buffer>; submissionSets: XdmSubmissionSet[] }): string | null {
  const codes: (string | null)[] = [];
  for (const set of archive.submissionSets) {
    for (const d of set.documents) {
      const content = archive.entries.get(d.path);
      if (content && isCdaDocument(content)) codes.push(cdaHeader(content).code);
    }
  }
  return codeCdaValue(codes);
}
