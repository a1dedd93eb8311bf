import { describe, expect, it } from 'vitest';
import { MarkupScan, markupIn, sniffMediaType, withMarkupVerdict } from '../../vault/sniff.js';
import { vetZipMembers } from '../../vault/zip-members.js';
import { pdfBytes } from './xdm/fixtures.js';
import { buildZip } from './xdm/zip-writer.js';

describe('vetZipMembers (plain ZIP attachments)', () => {
  it('accepts an archive of documents and says how much it inflated', async () => {
    const zip = buildZip([
      { name: 'bilan.pdf', data: pdfBytes('Bilan'), method: 'deflate' },
      { name: 'notes/', versionMadeBy: 20, externalAttributes: 0x10 },
      { name: 'notes/lisez-moi.txt', data: Buffer.from('Bonjour\n'), method: 'deflate' },
    ]);
    const v = await vetZipMembers(zip);
    expect(v.ok).toBe(true);
    expect(v.ok && v.inflatedBytes).toBe(pdfBytes('Bilan').length + 8);
  });
  it('refuses executables by content or by name, web pages, scripts, unknown binaries and nested archives', async () => {
    const cases: [string, Buffer][] = [
      ['setup.pdf', Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200, 1)])],
      ['ordonnance.pdf.exe', pdfBytes('x')],
      ['lire.js', Buffer.from('alert(1)\n')],
      ['page.htm', Buffer.from('Bonjour\n')],
      ['texte.txt', Buffer.from(`${'a\n'.repeat(10_000)}<svg onload=alert(1)>`)],
      ['blob.dat', Buffer.from([0, 1, 2, 3, 250, 251, 252, 0, 0, 9])],
      ['encore.zip', buildZip([{ name: 'a.txt', data: Buffer.from('a') }])],
    ];
    for (const [name, data] of cases) {
      const v = await vetZipMembers(
        buildZip([
          { name: 'ok.txt', data: Buffer.from('ok') },
          { name, data, method: 'deflate' },
        ]),
      );
      expect(v.ok, name).toBe(false);
    }
  });
  it('refuses what it cannot read: a path outside the archive, a corrupt archive', async () => {
    expect((await vetZipMembers(buildZip([{ name: '../evil.txt', data: Buffer.from('x') }]))).ok).toBe(false);
    expect((await vetZipMembers(Buffer.from('PK\u0003\u0004 not really a zip'))).ok).toBe(false);
  });
});

describe('markup anywhere in text', () => {
  it('finds a tag cut between two chunks, at the very end, in any case; ignores look-alikes', () => {
    const s = new MarkupScan();
    s.feed(Buffer.from('x'.repeat(20_000) + '<SCR'));
    s.feed(Buffer.from('IPT>'));
    expect(s.end()).toBe('script');
    expect(markupIn(Buffer.from('fin <html'))).toBe('html');
    expect(markupIn(Buffer.from('a <b>gras</b>, x < y, <htmlx>, <scripts>, <br/>'))).toBeNull();
    expect(markupIn(Buffer.from('<!DOCTYPE html>\n'))).toBe('!doctype html');
  });
  it('refuses text types carrying markup, leaves other types to the sniffer', async () => {
    const text = await sniffMediaType(Buffer.from('Bonjour\n'), 'text/plain', 'a.txt');
    expect(withMarkupVerdict(text, 'script')).toMatchObject({ verdict: 'refused', mediaType: 'text/html' });
    expect(withMarkupVerdict(text, null)).toBe(text);
    const pdf = await sniffMediaType(pdfBytes('p'), 'application/pdf', 'a.pdf');
    expect(withMarkupVerdict(pdf, 'img')).toBe(pdf);
  });
});
