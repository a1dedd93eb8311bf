/**
 * Realistic IHE XDM test material, as a French hospital's software would send it to Mon espace santé:
 * INDEX.HTM, README.TXT, IHE_XDM/SUBSET01/METADATA.XML (ebRIM 3.0 SubmitObjectsRequest with lcm:/rim:
 * prefixes, document entries with classCode/typeCode/patientId, a submission set), CDA R2 documents and a
 * PDF. Every knob the tests need to break one thing at a time is a parameter.
 *
 * Patients are synthetic (makeTestIns) under the INS-NIR-TEST OID, as test data must be (DOMAIN.md §4).
 */
import crypto from 'node:crypto';
import { makeTestIns } from '../../../access/rules/ins.js';
import { buildZip, type ZipEntrySpec } from './zip-writer.js';

export const OID_TEST = '1.2.250.1.213.1.4.10';
export const LOINC = '2.16.840.1.113883.6.1';
export const CLASS_SCHEME = '1.2.250.1.213.1.1.4.1';
export const RECIPIENT = makeTestIns(11);
export const OTHER_PATIENT = makeTestIns(12);

export const cx = (ins: string, oid = OID_TEST) => `${ins}^^^&${oid}&ISO`;

export interface CdaSpec {
  code: string;
  displayName?: string;
  title?: string;
  ins?: string | null;
  oid?: string;
  doctype?: boolean;
}

export function cdaXml(s: CdaSpec): Buffer {
  const ins = s.ins === undefined ? RECIPIENT : s.ins;
  const patientIds = [
    `<id root="1.2.250.1.71.4.2.1" extension="IPP-000123"/>`,
    ...(ins === null ? [] : [`<id root="${s.oid ?? OID_TEST}" extension="${ins}"/>`]),
  ].join('\n        ');
  return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
${s.doctype ? '<!DOCTYPE ClinicalDocument [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n' : ''}<?xml-stylesheet type="text/xsl" href="CDA-FO.xsl"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <realmCode code="FR"/>
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <templateId root="2.16.840.1.113883.2.8.2.1"/>
  <id root="1.2.250.1.213.1.1.9" extension="CDA-${s.code}-0001"/>
  <code code="${s.code}" codeSystem="${LOINC}" displayName="${s.displayName ?? 'Document'}"/>
  <title>${s.title ?? 'Compte rendu'}</title>
  <effectiveTime value="20240312093000+0100"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <languageCode code="fr-FR"/>
  <recordTarget>
    <patientRole>
        ${patientIds}
      <patient>
        <name><given>Marie</given><family qualifier="BR">TEST</family></name>
        <administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/>
        <birthTime value="19790328"/>
      </patient>
    </patientRole>
  </recordTarget>
  <component>
    <nonXMLBody>
      <text mediaType="application/pdf" representation="B64">${Buffer.from('%PDF-1.4 body').toString('base64')}</text>
    </nonXMLBody>
  </component>
</ClinicalDocument>
`);
}

export function pdfBytes(label = 'Compte rendu'): Buffer {
  return Buffer.from(
    `%PDF-1.4
%\u00e2\u00e3\u00cf\u00d3
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >> endobj
4 0 obj << /Length 44 >> stream
BT /F1 12 Tf 72 770 Td (${label}) Tj ET
endstream endobj
trailer << /Root 1 0 R >>
%%EOF
`,
    'latin1',
  );
}

export interface DocSpec {
  id?: string;
  uri: string;
  content: Buffer;
  mimeType: string;
  title?: string;
  typeCode?: { code: string; scheme?: string; display?: string } | null;
  classCode?: { code: string; scheme?: string; display?: string } | null;
  /** CX value; null leaves the ExternalIdentifier out. Default: the recipient. */
  patientId?: string | null;
  /** Declared SHA-1 / size; default: the real ones; null leaves the slot out. */
  hash?: string | null;
  size?: number | null;
}

export interface MetadataSpec {
  docs: DocSpec[];
  /** Submission set patientId; default the recipient; null leaves it out. */
  setPatientId?: string | null;
  /** Put classifications and identifiers at the top of the RegistryObjectList instead of nested. */
  topLevel?: boolean;
  /** Use the default namespace instead of lcm:/rim: prefixes. */
  unprefixed?: boolean;
  doctype?: string;
}

function slot(p: string, name: string, ...values: string[]): string {
  return `<${p}Slot name="${name}"><${p}ValueList>${values.map((v) => `<${p}Value>${v}</${p}Value>`).join('')}</${p}ValueList></${p}Slot>`;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

export function metadataXml(m: MetadataSpec): Buffer {
  const p = m.unprefixed ? '' : 'rim:';
  const top: string[] = [];
  const objects = m.docs.map((d, i) => {
    const id = d.id ?? `Document${String(i + 1).padStart(2, '0')}`;
    const hash = d.hash === undefined ? crypto.createHash('sha1').update(d.content).digest('hex') : d.hash;
    const size = d.size === undefined ? d.content.length : d.size;
    const typeCode = d.typeCode === undefined ? { code: '11502-2', display: "CR d'examens biologiques" } : d.typeCode;
    const classCode = d.classCode === undefined ? { code: '10', display: 'Compte rendu' } : d.classCode;
    const patientId = d.patientId === undefined ? cx(RECIPIENT) : d.patientId;
    const cls = (scheme: string, c: { code: string; scheme?: string; display?: string }, n: string) =>
      `<${p}Classification id="${id}-${n}" classificationScheme="${scheme}" classifiedObject="${id}" nodeRepresentation="${esc(c.code)}" objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification">` +
      slot(p, 'codingScheme', c.scheme ?? (n === 'class' ? CLASS_SCHEME : LOINC)) +
      `<${p}Name><${p}LocalizedString charset="UTF8" xml:lang="fr-FR" value="${esc(c.display ?? c.code)}"/></${p}Name></${p}Classification>`;
    const inner: string[] = [];
    if (classCode) inner.push(cls('urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a', classCode, 'class'));
    if (typeCode) inner.push(cls('urn:uuid:f0306f51-975f-434e-a61c-c59651d33983', typeCode, 'type'));
    inner.push(
      `<${p}Classification id="${id}-format" classificationScheme="urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d" classifiedObject="${id}" nodeRepresentation="urn:ihe:iti:xds:2017:mimeTypeSufficient">${slot(p, 'codingScheme', '1.3.6.1.4.1.19376.1.2.3')}</${p}Classification>`,
    );
    if (patientId !== null) {
      inner.push(
        `<${p}ExternalIdentifier id="${id}-pid" identificationScheme="urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427" registryObject="${id}" value="${esc(patientId)}" objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier"><${p}Name><${p}LocalizedString value="XDSDocumentEntry.patientId"/></${p}Name></${p}ExternalIdentifier>`,
      );
    }
    inner.push(
      `<${p}ExternalIdentifier id="${id}-uid" identificationScheme="urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab" registryObject="${id}" value="1.2.250.1.999.1.1.${i + 1}"><${p}Name><${p}LocalizedString value="XDSDocumentEntry.uniqueId"/></${p}Name></${p}ExternalIdentifier>`,
    );
    if (m.topLevel) top.push(...inner);
    const slots = [
      slot(p, 'creationTime', '20240312093000'),
      ...(hash === null ? [] : [slot(p, 'hash', hash)]),
      slot(p, 'languageCode', 'fr-FR'),
      ...(size === null ? [] : [slot(p, 'size', String(size))]),
      slot(p, 'sourcePatientId', esc(`IPP-000123^^^&1.2.250.1.71.4.2.1&ISO`)),
      slot(p, 'URI', esc(d.uri)),
    ];
    return (
      `<${p}ExtrinsicObject id="${id}" mimeType="${d.mimeType}" objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1" status="urn:oasis:names:tc:ebxml-regrep:StatusType:Approved">` +
      slots.join('') +
      `<${p}Name><${p}LocalizedString charset="UTF8" xml:lang="fr-FR" value="${esc(d.title ?? 'Document')}"/></${p}Name>` +
      (m.topLevel ? '' : inner.join('')) +
      `</${p}ExtrinsicObject>`
    );
  });
  const setPid = m.setPatientId === undefined ? cx(RECIPIENT) : m.setPatientId;
  const pkg =
    `<${p}RegistryPackage id="SubmissionSet01" objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:RegistryPackage">` +
    slot(p, 'submissionTime', '20240312093500') +
    slot(p, 'intendedRecipient', esc(`^^^^^^^^^${RECIPIENT}@patient.mssante.fr`)) +
    `<${p}Name><${p}LocalizedString value="Envoi au patient"/></${p}Name>` +
    (setPid === null
      ? ''
      : `<${p}ExternalIdentifier id="ss-pid" identificationScheme="urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446" registryObject="SubmissionSet01" value="${esc(setPid)}"><${p}Name><${p}LocalizedString value="XDSSubmissionSet.patientId"/></${p}Name></${p}ExternalIdentifier>`) +
    `</${p}RegistryPackage>` +
    `<${p}Classification id="ss-class" classificationNode="urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd" classifiedObject="SubmissionSet01"/>` +
    m.docs
      .map(
        (d, i) =>
          `<${p}Association id="as${i + 1}" associationType="urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember" sourceObject="SubmissionSet01" targetObject="${d.id ?? `Document${String(i + 1).padStart(2, '0')}`}">${slot(p, 'SubmissionSetStatus', 'Original')}</${p}Association>`,
      )
      .join('');
  const open = m.unprefixed
    ? `<SubmitObjectsRequest xmlns="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"><RegistryObjectList xmlns="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">`
    : `<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><rim:RegistryObjectList>`;
  const close = m.unprefixed ? `</RegistryObjectList></SubmitObjectsRequest>` : `</rim:RegistryObjectList></lcm:SubmitObjectsRequest>`;
  return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${m.doctype ?? ''}${open}\n${objects.join('\n')}\n${top.join('\n')}\n${pkg}\n${close}\n`);
}

export const INDEX_HTM = Buffer.from(
  `<html><head><title>IHE XDM</title></head><body><p>Envoi de documents de santé</p><a href="IHE_XDM/SUBSET01/DOC0001.XML">CR de biologie</a></body></html>`,
);
export const README_TXT = Buffer.from('Centre hospitalier de Test\r\nLogiciel DPI 4.2\r\nContenu : documents de santé au format IHE XDM.\r\n');

/** The default realistic archive: a biology CDA (11502-2) plus its PDF rendering, for RECIPIENT. */
export function biologyDocs(): DocSpec[] {
  return [
    {
      uri: 'DOC0001.XML',
      content: cdaXml({ code: '11502-2', displayName: "CR d'examens biologiques", title: 'Bilan sanguin du 12/03/2024' }),
      mimeType: 'text/xml',
      title: 'Bilan sanguin du 12/03/2024',
    },
    {
      uri: 'DOC0002.PDF',
      content: pdfBytes('Bilan sanguin'),
      mimeType: 'application/pdf',
      title: 'Bilan sanguin (PDF)',
    },
  ];
}

export interface XdmSpec extends Partial<MetadataSpec> {
  method?: 'store' | 'deflate';
  /** Replace the METADATA.XML bytes. */
  metadata?: Buffer | null;
  /** Extra entries appended at the end. */
  extra?: ZipEntrySpec[];
  /** Document files to leave out of the archive (by URI). */
  omit?: string[];
}

/** Build an IHE_XDM.ZIP: INDEX.HTM, README.TXT, IHE_XDM/SUBSET01/{METADATA.XML, documents}. */
export function xdmZip(spec: XdmSpec = {}): Buffer {
  const docs = spec.docs ?? biologyDocs();
  const method = spec.method ?? 'deflate';
  const metadata = spec.metadata === undefined ? metadataXml({ ...spec, docs }) : spec.metadata;
  const entries: ZipEntrySpec[] = [
    { name: 'INDEX.HTM', data: INDEX_HTM, method },
    { name: 'README.TXT', data: README_TXT, method },
    { name: 'IHE_XDM/', versionMadeBy: 20, externalAttributes: 0x10 },
    { name: 'IHE_XDM/SUBSET01/', versionMadeBy: 20, externalAttributes: 0x10 },
  ];
  if (metadata) entries.push({ name: 'IHE_XDM/SUBSET01/METADATA.XML', data: metadata, method });
  for (const d of docs) {
    if (spec.omit?.includes(d.uri)) continue;
    entries.push({ name: `IHE_XDM/SUBSET01/${d.uri}`, data: d.content, method });
  }
  entries.push(...(spec.extra ?? []));
  return buildZip(entries);
}
