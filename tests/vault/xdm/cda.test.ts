import { describe, expect, it } from 'vitest';
import { cdaHeader, isCdaDocument, mssCodeCdaHeader, readXdmZip, XdmError, type XdmErrorCode } from '../../../vault/xdm/index.js';
import { cdaXml, OTHER_PATIENT, pdfBytes, RECIPIENT, xdmZip } from './fixtures.js';

function refusedWith(f: () => unknown, code: XdmErrorCode): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(XdmError);
  expect((caught as XdmError).code).toBe(code);
}

describe('cdaHeader', () => {
  it('reads code, codeSystem, title and the INS of recordTarget', () => {
    const h = cdaHeader(cdaXml({ code: '11502-2', title: 'Bilan sanguin du 12/03/2024' }));
    expect(h).toEqual({
      code: '11502-2',
      codeSystem: '2.16.840.1.113883.6.1',
      title: 'Bilan sanguin du 12/03/2024',
      patientIns: RECIPIENT,
      patientInsOid: '1.2.250.1.213.1.4.10',
    });
  });

  it('ignores patient ids that are not INS, and upper-cases a Corsican matricule', () => {
    expect(cdaHeader(cdaXml({ code: '11502-2', ins: null })).patientIns).toBeNull();
    expect(cdaHeader(cdaXml({ code: '11502-2', ins: '184052a12345678', oid: '1.2.250.1.213.1.4.8' }))).toMatchObject({
      patientIns: '184052A12345678',
      patientInsOid: '1.2.250.1.213.1.4.8',
    });
  });

  it('refuses DOCTYPE / ENTITY (XXE)', () => {
    refusedWith(() => cdaHeader(cdaXml({ code: '11502-2', doctype: true })), 'doctype');
  });

  it('refuses malformed XML, another root, and two different INS', () => {
    refusedWith(() => cdaHeader(Buffer.from('<ClinicalDocument><code code="x"></ClinicalDocument>')), 'cda-invalid');
    refusedWith(() => cdaHeader(Buffer.from('<?xml version="1.0"?><Other/>')), 'cda-invalid');
    const two = cdaXml({ code: '11502-2' })
      .toString('utf8')
      .replace(
        '</patientRole>',
        `</patientRole></recordTarget><recordTarget><patientRole><id root="1.2.250.1.213.1.4.10" extension="${OTHER_PATIENT}"/></patientRole>`,
      );
    refusedWith(() => cdaHeader(Buffer.from(two)), 'cda-invalid');
  });

  it('tells a CDA from other XML and from a PDF', () => {
    expect(isCdaDocument(cdaXml({ code: '11502-2' }))).toBe(true);
    expect(isCdaDocument(Buffer.from('<?xml version="1.0"?><!-- c --><hl7:ClinicalDocument xmlns:hl7="urn:hl7-org:v3"/>'))).toBe(true);
    expect(isCdaDocument(Buffer.from('<?xml version="1.0"?><SubmitObjectsRequest/>'))).toBe(false);
    expect(isCdaDocument(pdfBytes())).toBe(false);
  });
});

describe('mssCodeCdaHeader (X-MSS-CODECDA recomputed from the archive)', () => {
  it('lists the code of every CDA in metadata order, comma-separated', async () => {
    const docs = [
      { uri: 'DOC0001.XML', content: cdaXml({ code: '34112-3', title: 'CR hospitalier' }), mimeType: 'text/xml', typeCode: { code: '34112-3' } },
      { uri: 'DOC0002.PDF', content: pdfBytes(), mimeType: 'application/pdf', typeCode: { code: '34112-3' } },
      { uri: 'DOC0003.XML', content: cdaXml({ code: '11502-2' }), mimeType: 'text/xml' },
      { uri: 'DOC0004.XML', content: cdaXml({ code: '11502-2' }), mimeType: 'text/xml' },
    ];
    expect(mssCodeCdaHeader(await readXdmZip(xdmZip({ docs })))).toBe('34112-3,11502-2');
  });

  it('is null when the archive holds no CDA', async () => {
    const docs = [{ uri: 'DOC0001.PDF', content: pdfBytes(), mimeType: 'application/pdf' }];
    expect(mssCodeCdaHeader(await readXdmZip(xdmZip({ docs })))).toBeNull();
  });

  it('leaves out a code that is not a plain token (no header injection)', async () => {
    const evil = cdaXml({ code: '11502-2' }).toString('utf8').replace('code="11502-2"', 'code="11502-2&#13;&#10;Bcc: x@example.org"');
    const docs = [
      { uri: 'DOC0001.XML', content: Buffer.from(evil), mimeType: 'text/xml' },
      { uri: 'DOC0002.XML', content: cdaXml({ code: '34112-3' }), mimeType: 'text/xml' },
    ];
    expect(mssCodeCdaHeader(await readXdmZip(xdmZip({ docs })))).toBe('34112-3');
  });
});
