import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_XDM_CAPS, readXdmZip, XdmError, type XdmErrorCode } from '../../../vault/xdm/index.js';
import { biologyDocs, INDEX_HTM, metadataXml, README_TXT, xdmZip } from './fixtures.js';
import { buildZip, deflatedZeros, type ZipEntrySpec } from './zip-writer.js';

const MiB = 1024 * 1024;

async function refusal(p: Promise<unknown>): Promise<XdmError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(XdmError);
    return e as XdmError;
  }
  throw new Error('expected a refusal, the archive was accepted');
}

async function expectCode(zip: Buffer, code: XdmErrorCode, caps?: Parameters<typeof readXdmZip>[1]): Promise<XdmError> {
  const e = await refusal(readXdmZip(zip, caps));
  expect(e.code).toBe(code);
  return e;
}

/** A valid XDM plus `extra` entries, so that each refusal below is caused by the extra entry only. */
const withExtra = (...extra: ZipEntrySpec[]) => xdmZip({ extra });

describe('readXdmZip: a realistic archive', () => {
  it('reads every entry and the submission set, stored or deflated', async () => {
    for (const method of ['store', 'deflate'] as const) {
      const a = await readXdmZip(xdmZip({ method }));
      expect([...a.entries.keys()].sort()).toEqual([
        'IHE_XDM/SUBSET01/DOC0001.XML',
        'IHE_XDM/SUBSET01/DOC0002.PDF',
        'IHE_XDM/SUBSET01/METADATA.XML',
        'INDEX.HTM',
        'README.TXT',
      ]);
      expect(a.entries.get('INDEX.HTM')).toEqual(INDEX_HTM);
      expect(a.entries.get('README.TXT')).toEqual(README_TXT);
      expect(a.submissionSets).toHaveLength(1);
      expect(a.submissionSets[0]!.folder).toBe('IHE_XDM/SUBSET01');
      expect(a.submissionSets[0]!.documents.map((d) => d.path)).toEqual(['IHE_XDM/SUBSET01/DOC0001.XML', 'IHE_XDM/SUBSET01/DOC0002.PDF']);
      expect(a.entries.get('IHE_XDM/SUBSET01/DOC0002.PDF')).toEqual(biologyDocs()[1]!.content);
    }
  });

  it('resolves a metadata URI whose case differs from the entry name', async () => {
    const docs = biologyDocs().map((d) => ({ ...d, uri: d.uri.toLowerCase() }));
    const zip = buildZip([
      { name: 'IHE_XDM/SUBSET01/METADATA.XML', data: metadataXml({ docs }), method: 'deflate' },
      { name: 'IHE_XDM/SUBSET01/DOC0001.XML', data: docs[0]!.content },
      { name: 'IHE_XDM/SUBSET01/DOC0002.PDF', data: docs[1]!.content },
    ]);
    const a = await readXdmZip(zip);
    expect(a.submissionSets[0]!.documents[0]!.path).toBe('IHE_XDM/SUBSET01/DOC0001.XML');
  });

  it('documents its default caps', () => {
    expect(DEFAULT_XDM_CAPS).toMatchObject({ maxEntries: 200, maxTotalBytes: 50 * MiB, maxEntryBytes: 25 * MiB, maxRatio: 100 });
  });
});

describe('readXdmZip: not a zip, bad structure', () => {
  it('refuses bytes that are not a zip', async () => {
    await expectCode(Buffer.from('%PDF-1.4 not a zip at all'), 'not-zip');
    await expectCode(Buffer.alloc(0), 'not-zip');
  });

  it('refuses an archive without METADATA.XML', async () => {
    await expectCode(xdmZip({ metadata: null }), 'no-metadata');
  });

  it('refuses metadata naming a document that is not in the archive', async () => {
    await expectCode(xdmZip({ omit: ['DOC0002.PDF'] }), 'metadata-invalid');
  });

  it('refuses a document whose SHA-1 or size differs from the metadata', async () => {
    const docs = biologyDocs();
    await expectCode(xdmZip({ docs: [docs[0]!, { ...docs[1]!, hash: crypto.createHash('sha1').update('other').digest('hex') }] }), 'integrity');
    await expectCode(xdmZip({ docs: [docs[0]!, { ...docs[1]!, size: docs[1]!.content.length + 1 }] }), 'integrity');
  });

  it('refuses a CRC-32 that does not match the content', async () => {
    await expectCode(withExtra({ name: 'NOTES.TXT', data: Buffer.from('hello'), crc32: 0x12345678 }), 'corrupt');
  });

  it('refuses an unsupported compression method', async () => {
    await expectCode(withExtra({ name: 'X.BZ2', data: Buffer.from('BZh9'), methodNumber: 12 }), 'unsupported');
  });

  it('refuses overlapping entries (two central-directory records pointing at the same data)', async () => {
    const zip = xdmZip();
    // Duplicate the first central-directory record under another name: its data overlaps INDEX.HTM's.
    const eocdAt = zip.length - 22;
    const cdOffset = zip.readUInt32LE(eocdAt + 16);
    const first = zip.subarray(cdOffset, cdOffset + 46 + zip.readUInt16LE(cdOffset + 28));
    const clone = Buffer.from(first);
    clone.write('INDEX.HTX', 46, 'latin1');
    const cd = Buffer.concat([zip.subarray(cdOffset, eocdAt), clone]);
    const eocd = Buffer.from(zip.subarray(eocdAt));
    eocd.writeUInt16LE(eocd.readUInt16LE(8) + 1, 8);
    eocd.writeUInt16LE(eocd.readUInt16LE(10) + 1, 10);
    eocd.writeUInt32LE(cd.length, 12);
    const forged = Buffer.concat([zip.subarray(0, cdOffset), cd, eocd]);
    const e = await expectCode(forged, 'corrupt');
    expect(e.detail).toMatch(/overlaps INDEX\.HTM/);
  });
});

describe('readXdmZip: zip bombs are stopped while inflating', () => {
  it('refuses an honest 100 MB entry from its header, before inflating anything', async () => {
    const { compressed, crc32 } = await deflatedZeros(100 * 1000 * 1000);
    const e = await expectCode(withExtra({ name: 'BOMB.BIN', compressed, method: 'deflate', uncompressedSize: 100 * 1000 * 1000, crc32 }), 'too-large');
    expect(e.detail).toMatch(/declares 100000000 bytes/);
  });

  it('refuses a 100 MB entry whose header lies (claims 2 MiB), stopping right after the claimed size', async () => {
    const { compressed } = await deflatedZeros(100 * 1000 * 1000);
    // The claimed size passes every header check: 2 MiB is under the caps and ~20:1 is under the ratio cap.
    expect(2 * MiB).toBeLessThan(compressed.length * 100);
    const started = Date.now();
    const e = await expectCode(withExtra({ name: 'BOMB.BIN', compressed, method: 'deflate', uncompressedSize: 2 * MiB }), 'size-mismatch');
    const stoppedAt = Number(/stopped inflating after (\d+) bytes/.exec(e.detail)?.[1]);
    expect(stoppedAt).toBeGreaterThan(2 * MiB);
    expect(stoppedAt).toBeLessThanOrEqual(2 * MiB + 64 * 1024); // one inflater chunk past the limit, not 100 MB
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses a header that claims MORE than the content holds', async () => {
    await expectCode(withExtra({ name: 'SHORT.TXT', data: Buffer.from('short'), method: 'deflate', uncompressedSize: 50 }), 'size-mismatch');
  });

  it('refuses a ratio above 100:1 on an entry under the size cap', async () => {
    const { compressed, crc32 } = await deflatedZeros(20 * MiB);
    await expectCode(withExtra({ name: 'ZEROS.BIN', compressed, method: 'deflate', uncompressedSize: 20 * MiB, crc32 }), 'ratio');
  });

  it('refuses a total above the cap even when each entry is under it', async () => {
    const blob = crypto.randomBytes(2 * MiB);
    const extra = [1, 2, 3].map((i) => ({ name: `BLOB${i}.BIN`, data: blob }));
    await expectCode(xdmZip({ extra }), 'too-large', { maxTotalBytes: 5 * MiB });
    await expect(readXdmZip(xdmZip({ extra }), { maxTotalBytes: 7 * MiB })).resolves.toBeDefined();
  });

  it('refuses a stored entry whose sizes disagree (yauzl validateEntrySizes)', async () => {
    await expectCode(withExtra({ name: 'STORED.TXT', data: Buffer.from('0123456789'), compressedSize: 10, uncompressedSize: 4 }), 'size-mismatch');
  });
});

describe('readXdmZip: names, links, encryption, count', () => {
  it('refuses ../ traversal', async () => {
    await expectCode(withExtra({ name: '../evil.txt', data: Buffer.from('x') }), 'path');
    await expectCode(withExtra({ name: 'IHE_XDM/SUBSET01/../../evil.txt', data: Buffer.from('x') }), 'path');
  });

  it('refuses absolute paths', async () => {
    await expectCode(withExtra({ name: '/etc/cron.d/evil', data: Buffer.from('x') }), 'path');
    await expectCode(withExtra({ name: 'C:/Windows/evil.txt', data: Buffer.from('x') }), 'path');
  });

  it('refuses backslashes', async () => {
    await expectCode(withExtra({ name: Buffer.from('IHE_XDM\\SUBSET01\\evil.txt', 'latin1'), data: Buffer.from('x') }), 'path');
    await expectCode(withExtra({ name: Buffer.from('..\\evil.txt', 'latin1'), data: Buffer.from('x') }), 'path');
  });

  it('refuses control characters, "." segments and names equal but for case', async () => {
    await expectCode(withExtra({ name: 'EVIL\u0007.TXT', data: Buffer.from('x') }), 'path');
    await expectCode(withExtra({ name: 'IHE_XDM/./EVIL.TXT', data: Buffer.from('x') }), 'path');
    const e = await expectCode(withExtra({ name: 'readme.txt', data: Buffer.from('x') }), 'path');
    expect(e.detail).toMatch(/duplicate/);
  });

  it('refuses a symbolic link, even one pointing inside the archive', async () => {
    const e = await expectCode(withExtra({ name: 'LINK.TXT', data: Buffer.from('README.TXT'), externalAttributes: (0o120777 << 16) >>> 0 }), 'symlink');
    expect(e.detail).toMatch(/symbolic link/);
  });

  it('refuses an encrypted entry', async () => {
    await expectCode(withExtra({ name: 'SECRET.PDF', data: Buffer.from('%PDF-1.4 encrypted'), method: 'deflate', flags: 0x0001 }), 'encrypted');
  });

  it('refuses more entries than the cap, from the central directory count', async () => {
    const many = Array.from({ length: 196 }, (_, i) => ({ name: `EXTRA/F${i}.TXT`, data: Buffer.from(String(i)) }));
    // 7 entries in the XDM (2 of them directories) + 196 = 203 > 200
    const e = await expectCode(xdmZip({ extra: many }), 'too-many-entries');
    expect(e.detail).toBe('203 entries'); // from the central directory's count, before reading any entry
    expect(e.fr).toMatch(/au plus 200/);
    expect(e.en).toMatch(/at most 200/);
    // Exactly at the cap passes.
    await expect(readXdmZip(xdmZip({ extra: many.slice(0, 193) }))).resolves.toBeDefined();
  });
});

describe('XdmError', () => {
  it('carries a fixed bilingual notice that never quotes the archive', async () => {
    const e = await expectCode(withExtra({ name: '../<script>alert(1)</script>.txt', data: Buffer.from('x') }), 'path');
    expect(e.senderNotice).toContain("L'archive IHE_XDM.ZIP contient un nom de fichier interdit");
    expect(e.senderNotice).toContain('The IHE_XDM.ZIP archive holds a forbidden file name');
    expect(e.senderNotice).not.toContain('script');
  });
});
