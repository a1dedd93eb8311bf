import { describe, expect, it } from 'vitest';
import { classifyXdm, type ClassifyResult } from '../../../vault/xdm/index.js';
import { biologyDocs, cdaXml, cx, OTHER_PATIENT, pdfBytes, RECIPIENT, xdmZip } from './fixtures.js';

function refusal(r: ClassifyResult) {
  if (r.ok) throw new Error(`expected a refusal, got ${r.documents.length} documents`);
  // Nothing else than the error: no partial list of documents to file.
  expect(Object.keys(r).sort()).toEqual(['error', 'ok']);
  return r.error;
}

function accepted(r: ClassifyResult) {
  if (!r.ok) throw new Error(`expected success, got ${r.error.message}`);
  return r;
}

describe('classifyXdm', () => {
  it('files a biology report under resultats-de-biologie, with its CDA header and X-MSS-CODECDA', async () => {
    const r = accepted(await classifyXdm(xdmZip(), RECIPIENT));
    expect(r.documents).toHaveLength(2);
    const [cda, pdf] = r.documents;
    expect(cda).toMatchObject({
      path: 'IHE_XDM/SUBSET01/DOC0001.XML',
      title: 'Bilan sanguin du 12/03/2024',
      mimeType: 'text/xml',
      rubric: 'resultats-de-biologie',
      typeCode: { code: '11502-2' },
      classCode: { code: '10' },
      patientOid: '1.2.250.1.213.1.4.10',
      cda: { code: '11502-2', patientIns: RECIPIENT },
    });
    expect(cda!.content).toEqual(biologyDocs()[0]!.content);
    expect(pdf).toMatchObject({ rubric: 'resultats-de-biologie', cda: null, mimeType: 'application/pdf' });
    expect(r.codeCda).toBe('11502-2');
  });

  it('compares the recipient INS case-insensitively (Corsican 2A/2B)', async () => {
    const corsican = '184052A12345678';
    const docs = [{ uri: 'DOC0001.PDF', content: pdfBytes(), mimeType: 'application/pdf', patientId: cx(corsican.toLowerCase()) }];
    const r = accepted(await classifyXdm(xdmZip({ docs, setPatientId: cx(corsican) }), corsican.toLowerCase()));
    expect(r.documents).toHaveLength(1);
  });

  it('falls back to the classCode, then to autres-documents', async () => {
    const docs = [
      { uri: 'A.PDF', content: pdfBytes('a'), mimeType: 'application/pdf', typeCode: { code: 'UNKNOWN-TYPE' }, classCode: { code: '31' } },
      { uri: 'B.PDF', content: pdfBytes('b'), mimeType: 'application/pdf', typeCode: null, classCode: null },
      { uri: 'C.PDF', content: pdfBytes('c'), mimeType: 'application/pdf', typeCode: { code: '57833-6' }, classCode: { code: '42' } },
    ];
    const r = accepted(await classifyXdm(xdmZip({ docs }), RECIPIENT));
    expect(r.documents.map((d) => d.rubric)).toEqual(['imagerie', 'autres-documents', 'ordonnances-et-soins']);
    expect(r.codeCda).toBeNull();
  });

  it('uses the CDA code when the metadata has no typeCode', async () => {
    const docs = [{ uri: 'DOC0001.XML', content: cdaXml({ code: '18748-4' }), mimeType: 'text/xml', typeCode: null, classCode: null }];
    const r = accepted(await classifyXdm(xdmZip({ docs }), RECIPIENT));
    expect(r.documents[0]!.rubric).toBe('imagerie');
  });

  it('recomputes X-MSS-CODECDA over several CDA documents', async () => {
    const docs = [
      { uri: 'DOC0001.XML', content: cdaXml({ code: '34112-3' }), mimeType: 'text/xml', typeCode: { code: '34112-3' } },
      { uri: 'DOC0002.XML', content: cdaXml({ code: '11502-2' }), mimeType: 'text/xml' },
      { uri: 'DOC0003.PDF', content: pdfBytes(), mimeType: 'application/pdf' },
    ];
    const r = accepted(await classifyXdm(xdmZip({ docs }), RECIPIENT));
    expect(r.codeCda).toBe('34112-3,11502-2');
    expect(r.documents.map((d) => d.rubric)).toEqual(['comptes-rendus', 'resultats-de-biologie', 'resultats-de-biologie']);
  });

  describe('patient identity: any identifier naming someone else refuses the whole archive', () => {
    it('refuses when one document entry names another patient, and returns nothing', async () => {
      const docs = biologyDocs();
      docs[1] = { ...docs[1]!, patientId: cx(OTHER_PATIENT) };
      const e = refusal(await classifyXdm(xdmZip({ docs }), RECIPIENT));
      expect(e.code).toBe('patient-mismatch');
      expect(e.fr).toMatch(/aucun document n'a été déposé/);
      expect(e.en).toMatch(/no document was filed/);
      // Neither INS is written to logs or notices.
      expect(`${e.message} ${e.senderNotice}`).not.toContain(OTHER_PATIENT);
      expect(`${e.message} ${e.senderNotice}`).not.toContain(RECIPIENT);
    });

    it('refuses when the submission set names another patient although every entry matches', async () => {
      const e = refusal(await classifyXdm(xdmZip({ setPatientId: cx(OTHER_PATIENT) }), RECIPIENT));
      expect(e.code).toBe('patient-mismatch');
    });

    it('refuses when the CDA recordTarget names another patient although the metadata matches', async () => {
      const docs = biologyDocs();
      docs[0] = { ...docs[0]!, content: cdaXml({ code: '11502-2', ins: OTHER_PATIENT }) };
      const e = refusal(await classifyXdm(xdmZip({ docs }), RECIPIENT));
      expect(e.code).toBe('patient-mismatch');
    });

    it('refuses a patientId that is not an INS (local IPP) even if the submission set matches', async () => {
      const docs = biologyDocs();
      docs[0] = { ...docs[0]!, patientId: 'IPP-000123^^^&1.2.250.1.71.4.2.1&ISO' };
      expect(refusal(await classifyXdm(xdmZip({ docs }), RECIPIENT)).code).toBe('patient-mismatch');
    });

    it('refuses when no patientId is given at all', async () => {
      const docs = biologyDocs().map((d) => ({ ...d, patientId: null }));
      expect(refusal(await classifyXdm(xdmZip({ docs, setPatientId: null }), RECIPIENT)).code).toBe('patient-missing');
    });

    it('accepts entries without their own patientId when the submission set names the recipient', async () => {
      const docs = biologyDocs().map((d) => ({ ...d, patientId: null }));
      expect(accepted(await classifyXdm(xdmZip({ docs }), RECIPIENT)).documents).toHaveLength(2);
    });
  });

  it('returns archive refusals as { ok: false } rather than throwing', async () => {
    expect(refusal(await classifyXdm(Buffer.from('not a zip'), RECIPIENT)).code).toBe('not-zip');
    const docs = biologyDocs();
    docs[0] = { ...docs[0]!, content: cdaXml({ code: '11502-2', doctype: true }) };
    expect(refusal(await classifyXdm(xdmZip({ docs }), RECIPIENT)).code).toBe('doctype');
    const xxe = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n';
    expect(refusal(await classifyXdm(xdmZip({ doctype: xxe }), RECIPIENT)).code).toBe('doctype');
  });
});
