/**
 * IHE XDM `IHE_XDM/SUBSETxx/METADATA.XML` reader (ebRIM 3.0 `SubmitObjectsRequest`, DOMAIN.md §5).
 *
 * Guarantees:
 * - The XML goes through `parseSafeXml`: DOCTYPE/ENTITY refused (`doctype`), no entity expansion, namespace
 *   prefixes ignored (producers use lcm:/rim:/none, or wrap the request in xdsb:ProvideAndRegister…).
 * - Every `ExtrinsicObject` is a document entry. Its classifications and external identifiers are collected
 *   both nested in it and at the top of the RegistryObjectList (ebRIM allows both, linked by
 *   `classifiedObject` / `registryObject`).
 * - Patient identifiers are collected from EVERY place XDS puts one (document entries, the submission set,
 *   folders), so that the caller can refuse the archive when any of them names another patient.
 *   `sourcePatientId` is deliberately ignored: it is the producer's local id (IPP), not an INS.
 * - Each document entry must name its file (Slot `URI`) as a plain relative name inside the subset folder;
 *   a URI with `..`, a leading `/`, a backslash, a scheme or a control character is `metadata-invalid`
 *   (it would otherwise let the metadata point at any entry of the archive, or outside it).
 * - Anything structurally missing (no RegistryObjectList, no document entry, no URI, two values for a
 *   single-valued slot) throws XdmError `metadata-invalid`; nothing is guessed.
 */
import { XdmError } from './errors.js';
import { attr, child, children, parseSafeXml, text, type XmlNode } from './xml.js';

/** IHE XDS identification / classification schemes (ITI TF-3 §4.2.5). */
export const XDS = {
  classCode: 'urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a',
  typeCode: 'urn:uuid:f0306f51-975f-434e-a61c-c59651d33983',
  documentPatientId: 'urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427',
  submissionSetPatientId: 'urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446',
  folderPatientId: 'urn:uuid:f64ffdf0-4b97-4e06-b79f-a52b38ec2f8a',
} as const;

/** INS assigning-authority OIDs (DOMAIN.md §4). Test and demo OIDs must not reach production: callers gate on `oid`. */
export const INS_OIDS = {
  nir: '1.2.250.1.213.1.4.8',
  nia: '1.2.250.1.213.1.4.9',
  nirTest: '1.2.250.1.213.1.4.10',
  nirDemo: '1.2.250.1.213.1.4.11',
} as const;
const INS_OID_SET: ReadonlySet<string> = new Set(Object.values(INS_OIDS));

export function isInsOid(oid: string): boolean {
  return INS_OID_SET.has(oid.replace(/^urn:oid:/i, ''));
}

/** Matricule shape only (15 characters, Corsica 2A/2B); the key is the caller's concern (access/rules/ins.ts). */
const MATRICULE = /^[0-9]{5}(?:[0-9]{2}|2[AB])[0-9]{8}$/i;

/**
 * INS from an XDS patientId in HL7 CX form, `matricule^^^&OID&ISO`. Returns the upper-cased matricule and
 * the OID, or null when the value is not an INS (other assigning authority, malformed, not 15 characters).
 */
export function patientInsFromXdsId(value: string): { ins: string; oid: string } | null {
  if (typeof value !== 'string') return null;
  const comps = value.trim().split('^');
  const id = comps[0]?.trim() ?? '';
  const authority = comps[3] ?? '';
  const [, universalId = '', universalIdType = ''] = authority.split('&');
  const oid = universalId.trim().replace(/^urn:oid:/i, '');
  if (!INS_OID_SET.has(oid)) return null;
  // CX.4.3 says what kind of id CX.4.2 is; XDS requires ISO. Tolerate it being omitted, refuse anything else.
  if (universalIdType.trim() !== '' && universalIdType.trim().toUpperCase() !== 'ISO') return null;
  if (!MATRICULE.test(id)) return null;
  return { ins: id.toUpperCase(), oid };
}

export interface XdsCode {
  /** `nodeRepresentation`. */
  code: string;
  /** Slot `codingScheme` (an OID such as 2.16.840.1.113883.6.1 for LOINC), when given. */
  codingScheme: string | null;
  /** Name/LocalizedString, when given. */
  displayName: string | null;
}

export interface XdmDocumentEntry {
  /** ExtrinsicObject@id (symbolic or urn:uuid). */
  id: string;
  /** Slot `URI`: the file name inside the subset folder, as written in the metadata. */
  uri: string;
  /** `<subset folder>/<uri>`; readXdmZip replaces it with the archive's own spelling when only the case differs. */
  path: string;
  mimeType: string | null;
  title: string | null;
  classCode: XdsCode | null;
  typeCode: XdsCode | null;
  /** XDSDocumentEntry.patientId (CX), raw. */
  patientId: string | null;
  creationTime: string | null;
  /** SHA-1, lower-case hex, as declared. */
  hash: string | null;
  size: number | null;
}

export interface XdmSubmissionSet {
  /** Subset folder, e.g. `IHE_XDM/SUBSET01`. */
  folder: string;
  /** XDSSubmissionSet.patientId (CX), raw. */
  patientId: string | null;
  /** Every other patientId found outside document entries (folders, extra submission-set ids). */
  otherPatientIds: string[];
  documents: XdmDocumentEntry[];
}

const ARRAYS: ReadonlySet<string> = new Set([
  'ExtrinsicObject',
  'RegistryPackage',
  'Classification',
  'ExternalIdentifier',
  'Slot',
  'Value',
  'LocalizedString',
  'Association',
  'ObjectRef',
  'SubmitObjectsRequest',
  'RegistryObjectList',
]);

function invalid(detail: string): XdmError {
  return new XdmError('metadata-invalid', detail);
}

/** Values of a Slot, with the XDS rule for long values split as `1|…`, `2|…` (ITI TF-3 §4.2.3.2.24) undone. */
function slotValues(owner: XmlNode, name: string): string[] {
  const slots = children(owner, 'Slot').filter((s) => attr(s, 'name') === name);
  if (slots.length > 1) throw invalid(`duplicate slot ${name}`);
  const slot = slots[0];
  if (!slot) return [];
  return children(child(slot, 'ValueList'), 'Value')
    .map((v) => text(v))
    .filter((v): v is string => v !== null);
}

function singleSlot(owner: XmlNode, name: string): string | null {
  const values = slotValues(owner, name);
  if (values.length > 1) throw invalid(`slot ${name} has ${values.length} values`);
  return values[0] ?? null;
}

function uriSlot(owner: XmlNode): string | null {
  const values = slotValues(owner, 'URI');
  if (values.length <= 1) return values[0] ?? null;
  const parts = values.map((v) => /^(\d+)\|(.*)$/s.exec(v));
  if (parts.some((p) => p === null)) throw invalid('slot URI has several values that are not numbered parts');
  return parts
    .map((p) => ({ n: Number(p![1]), s: p![2] ?? '' }))
    .sort((a, b) => a.n - b.n)
    .map((p) => p.s)
    .join('');
}

function localizedName(owner: XmlNode): string | null {
  return attr(child(child(owner, 'Name'), 'LocalizedString'), 'value');
}

function codeOf(classifications: XmlNode[], scheme: string, what: string): XdsCode | null {
  const matching = classifications.filter((c) => attr(c, 'classificationScheme') === scheme);
  if (matching.length > 1) throw invalid(`${what}: ${matching.length} classifications`);
  const c = matching[0];
  if (!c) return null;
  const code = attr(c, 'nodeRepresentation');
  if (!code) throw invalid(`${what}: classification without nodeRepresentation`);
  return { code, codingScheme: singleSlot(c, 'codingScheme'), displayName: localizedName(c) };
}

function identifiers(list: XmlNode[], scheme: string): string[] {
  return list
    .filter((e) => attr(e, 'identificationScheme') === scheme)
    .map((e) => attr(e, 'value'))
    .filter((v): v is string => v !== null);
}

/** A URI inside the subset folder: relative, no `..`/`.` segment, no backslash, colon or control character. */
function safeRelativeUri(uri: string): boolean {
  // eslint-disable-next-line no-control-regex
  if (/[\\:\u0000-\u001f\u007f]/.test(uri) || uri.startsWith('/') || uri.length > 255) return false;
  return uri.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

function findRegistryObjectList(root: XmlNode): XmlNode | null {
  const direct = child(root, 'RegistryObjectList');
  if (direct) return direct;
  const sor = child(root, 'SubmitObjectsRequest') ?? child(child(root, 'ProvideAndRegisterDocumentSetRequest'), 'SubmitObjectsRequest');
  return child(sor, 'RegistryObjectList');
}

/**
 * Parse one METADATA.XML. `folder` is the subset folder it was found in (`IHE_XDM/SUBSET01`), used to build
 * each document's path. Throws XdmError (`doctype`, `metadata-invalid`).
 */
export function parseXdmMetadata(xml: Buffer, folder: string): XdmSubmissionSet {
  const root = parseSafeXml(xml, { arrays: ARRAYS, failCode: 'metadata-invalid', what: `${folder}/METADATA.XML` });
  const list = findRegistryObjectList(root);
  if (!list) throw invalid('no RegistryObjectList (expected SubmitObjectsRequest)');

  const topClassifications = children(list, 'Classification');
  const topIdentifiers = children(list, 'ExternalIdentifier');

  const documents: XdmDocumentEntry[] = [];
  for (const eo of children(list, 'ExtrinsicObject')) {
    const id = attr(eo, 'id');
    if (!id) throw invalid('ExtrinsicObject without id');
    const classifications = [...children(eo, 'Classification'), ...topClassifications.filter((c) => attr(c, 'classifiedObject') === id)];
    const extIds = [...children(eo, 'ExternalIdentifier'), ...topIdentifiers.filter((e) => attr(e, 'registryObject') === id)];

    const uri = uriSlot(eo);
    if (!uri) throw invalid(`document ${id}: no URI slot`);
    if (!safeRelativeUri(uri)) throw invalid(`document ${id}: unsafe URI ${uri}`);

    const patientIds = identifiers(extIds, XDS.documentPatientId);
    if (new Set(patientIds).size > 1) throw invalid(`document ${id}: several patientIds`);

    const sizeText = singleSlot(eo, 'size');
    let size: number | null = null;
    if (sizeText !== null) {
      if (!/^[0-9]{1,15}$/.test(sizeText)) throw invalid(`document ${id}: size is not a number`);
      size = Number(sizeText);
    }
    const hash = singleSlot(eo, 'hash');
    if (hash !== null && !/^[0-9a-fA-F]{40}$/.test(hash)) throw invalid(`document ${id}: hash is not SHA-1 hex`);

    documents.push({
      id,
      uri,
      path: `${folder}/${uri}`,
      mimeType: attr(eo, 'mimeType'),
      title: localizedName(eo),
      classCode: codeOf(classifications, XDS.classCode, `document ${id} classCode`),
      typeCode: codeOf(classifications, XDS.typeCode, `document ${id} typeCode`),
      patientId: patientIds[0] ?? null,
      creationTime: singleSlot(eo, 'creationTime'),
      hash: hash?.toLowerCase() ?? null,
      size,
    });
  }
  if (documents.length === 0) throw invalid('no document entry (ExtrinsicObject)');

  // Submission set and folders are RegistryPackages; their patientIds sit inside them or at the top level.
  const packageIdentifiers: XmlNode[] = [...topIdentifiers];
  for (const rp of children(list, 'RegistryPackage')) packageIdentifiers.push(...children(rp, 'ExternalIdentifier'));
  const setIds = identifiers(packageIdentifiers, XDS.submissionSetPatientId);
  const folderIds = identifiers(packageIdentifiers, XDS.folderPatientId);

  return {
    folder,
    patientId: setIds[0] ?? null,
    otherPatientIds: [...setIds.slice(1), ...folderIds],
    documents,
  };
}
