import { describe, expect, it } from 'vitest';
import { INS_OIDS, parseXdmMetadata, patientInsFromXdsId, XdmError, type XdmErrorCode } from '../../../vault/xdm/index.js';
import { biologyDocs, cx, metadataXml, OTHER_PATIENT, RECIPIENT } from './fixtures.js';

function refusedWith(f: () => unknown, code: XdmErrorCode): XdmError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(XdmError);
    expect((e as XdmError).code).toBe(code);
    return e as XdmError;
  }
  throw new Error('expected a refusal');
}

describe('parseXdmMetadata', () => {
  it('extracts every field of a realistic ebRIM SubmitObjectsRequest (lcm:/rim: prefixes)', () => {
    const docs = biologyDocs();
    const set = parseXdmMetadata(metadataXml({ docs }), 'IHE_XDM/SUBSET01');
    expect(set.folder).toBe('IHE_XDM/SUBSET01');
    expect(set.patientId).toBe(cx(RECIPIENT));
    expect(set.otherPatientIds).toEqual([]);
    expect(set.documents).toHaveLength(2);
    const [cda, pdf] = set.documents;
    expect(cda).toMatchObject({
      id: 'Document01',
      uri: 'DOC0001.XML',
      path: 'IHE_XDM/SUBSET01/DOC0001.XML',
      mimeType: 'text/xml',
      title: 'Bilan sanguin du 12/03/2024',
      classCode: { code: '10', codingScheme: '1.2.250.1.213.1.1.4.1', displayName: 'Compte rendu' },
      typeCode: { code: '11502-2', codingScheme: '2.16.840.1.113883.6.1', displayName: "CR d'examens biologiques" },
      patientId: `${RECIPIENT}^^^&1.2.250.1.213.1.4.10&ISO`,
      creationTime: '20240312093000',
      size: docs[0]!.content.length,
    });
    expect(cda!.hash).toMatch(/^[0-9a-f]{40}$/);
    expect(pdf).toMatchObject({ uri: 'DOC0002.PDF', mimeType: 'application/pdf', title: 'Bilan sanguin (PDF)' });
  });

  it('reads the same data from unprefixed XML and from classifications placed at the top level', () => {
    for (const variant of [{ unprefixed: true }, { topLevel: true }]) {
      const set = parseXdmMetadata(metadataXml({ docs: biologyDocs(), ...variant }), 'IHE_XDM/SUBSET01');
      expect(set.documents[0]!.typeCode?.code).toBe('11502-2');
      expect(set.documents[0]!.classCode?.code).toBe('10');
      expect(set.documents[0]!.patientId).toBe(cx(RECIPIENT));
    }
  });

  it('keeps codes that look like numbers as strings (no number coercion)', () => {
    const docs = [{ ...biologyDocs()[1]!, typeCode: { code: '0012' }, classCode: { code: '010' } }];
    const set = parseXdmMetadata(metadataXml({ docs }), 'F');
    expect(set.documents[0]!.typeCode!.code).toBe('0012');
    expect(set.documents[0]!.classCode!.code).toBe('010');
  });

  it('ignores sourcePatientId (the producer IPP) and reports a differing submission-set patientId', () => {
    const set = parseXdmMetadata(metadataXml({ docs: biologyDocs(), setPatientId: cx(OTHER_PATIENT) }), 'F');
    expect(set.patientId).toBe(cx(OTHER_PATIENT));
    expect(JSON.stringify(set)).not.toContain('IPP-000123');
  });

  it('refuses DOCTYPE and ENTITY declarations (XXE, billion laughs), in UTF-8 and UTF-16', () => {
    const xxe = '<!DOCTYPE lcm:SubmitObjectsRequest [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n';
    refusedWith(() => parseXdmMetadata(metadataXml({ docs: biologyDocs(), doctype: xxe }), 'F'), 'doctype');
    const laughs = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n';
    refusedWith(() => parseXdmMetadata(metadataXml({ docs: biologyDocs(), doctype: laughs }), 'F'), 'doctype');
    const utf16 = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from(metadataXml({ docs: biologyDocs(), doctype: xxe }).toString('utf8').replace('encoding="UTF-8"', 'encoding="UTF-16"'), 'utf16le'),
    ]);
    refusedWith(() => parseXdmMetadata(utf16, 'F'), 'doctype');
  });

  it('parses UTF-16 metadata without a DOCTYPE', () => {
    const text = metadataXml({ docs: biologyDocs() }).toString('utf8').replace('encoding="UTF-8"', 'encoding="UTF-16"');
    const set = parseXdmMetadata(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]), 'F');
    expect(set.documents[0]!.typeCode!.code).toBe('11502-2');
  });

  it('refuses malformed XML, a missing RegistryObjectList, no document, no URI and unsafe URIs', () => {
    refusedWith(() => parseXdmMetadata(Buffer.from('<a><b></a>'), 'F'), 'metadata-invalid');
    refusedWith(() => parseXdmMetadata(Buffer.from('<?xml version="1.0"?><Other/>'), 'F'), 'metadata-invalid');
    refusedWith(() => parseXdmMetadata(metadataXml({ docs: [] }), 'F'), 'metadata-invalid');
    for (const uri of ['../../INDEX.HTM', '/etc/passwd', 'A\\B.PDF', 'file:DOC.PDF', './DOC.PDF']) {
      const e = refusedWith(() => parseXdmMetadata(metadataXml({ docs: [{ ...biologyDocs()[1]!, uri }] }), 'F'), 'metadata-invalid');
      expect(e.detail).toMatch(/unsafe URI/);
    }
  });

  it('refuses an unsupported encoding rather than guess', () => {
    const xml = Buffer.from('<?xml version="1.0" encoding="EBCDIC-CP-US"?><SubmitObjectsRequest/>');
    refusedWith(() => parseXdmMetadata(xml, 'F'), 'metadata-invalid');
  });

  it('decodes predefined entities and character references in attribute values', () => {
    const set = parseXdmMetadata(metadataXml({ docs: [{ ...biologyDocs()[1]!, title: "Résultat d'analyse <urgent> & suivi" }] }), 'F');
    expect(set.documents[0]!.title).toBe("Résultat d'analyse <urgent> & suivi");
    const withRef = metadataXml({ docs: [biologyDocs()[1]!] })
      .toString('utf8')
      .replace('value="Bilan sanguin (PDF)"', 'value="R&#233;sultat &#x2014; PDF"');
    expect(parseXdmMetadata(Buffer.from(withRef), 'F').documents[0]!.title).toBe('Résultat — PDF');
  });
});

describe('patientInsFromXdsId', () => {
  it('extracts the matricule and the OID for the four INS OIDs', () => {
    for (const oid of Object.values(INS_OIDS)) {
      expect(patientInsFromXdsId(`${RECIPIENT}^^^&${oid}&ISO`)).toEqual({ ins: RECIPIENT, oid });
    }
    expect(patientInsFromXdsId('248092000000001^^^&1.2.250.1.213.1.4.10&ISO')).toEqual({ ins: '248092000000001', oid: '1.2.250.1.213.1.4.10' });
  });

  it('upper-cases a Corsican matricule and tolerates urn:oid: and a missing type', () => {
    expect(patientInsFromXdsId('184052a12345678^^^&urn:oid:1.2.250.1.213.1.4.8')).toEqual({ ins: '184052A12345678', oid: '1.2.250.1.213.1.4.8' });
    expect(patientInsFromXdsId('184052a1234567^^^&1.2.250.1.213.1.4.8&ISO')).toBeNull(); // 14 characters
  });

  it('returns null for other assigning authorities, other id types and malformed values', () => {
    expect(patientInsFromXdsId('IPP-000123^^^&1.2.250.1.71.4.2.1&ISO')).toBeNull();
    expect(patientInsFromXdsId(`${RECIPIENT}^^^&1.2.250.1.213.1.4.2&ISO`)).toBeNull(); // old INS-C
    expect(patientInsFromXdsId(`${RECIPIENT}^^^&1.2.250.1.213.1.4.8&DNS`)).toBeNull();
    expect(patientInsFromXdsId(`${RECIPIENT}`)).toBeNull();
    expect(patientInsFromXdsId('')).toBeNull();
    expect(patientInsFromXdsId(`${RECIPIENT}X^^^&1.2.250.1.213.1.4.8&ISO`)).toBeNull();
  });
});
