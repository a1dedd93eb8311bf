/**
 * The patient's archive: every current document, decrypted, in one ZIP streamed as it is read (stored entries
 * with data descriptors, CRC-32 computed on the fly), so that even a large record is never held in memory.
 * Entries are named `<rubric>/<title>` (deduplicated, path characters replaced). Offered before closure.
 */
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { Db } from '../db/index.js';
import type { BlobStore } from './blob-store.js';
import type { Keyring } from './keyring.js';
import { currentDocuments, documentContent, readMeta } from './documents.js';

function dosDateTime(d: Date): { time: number; date: number } {
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    date: ((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

function safeName(s: string): string {
  // eslint-disable-next-line no-control-regex -- controls and separators must not reach a file name
  return s.replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, '_').trim().slice(0, 150) || 'document';
}

export function documentsArchive(db: Db, keyring: Keyring, blobs: BlobStore, patientId: string): Readable {
  async function* zip(): AsyncGenerator<Buffer> {
    const central: Buffer[] = [];
    let offset = 0;
    let count = 0;
    const used = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await currentDocuments(db, patientId, { limit: 200, cursor, includeHidden: false });
      for (const row of page.rows) {
        const meta = readMeta(keyring, row);
        let name = `${row.rubric}/${safeName(meta.title || meta.filename)}`;
        const ext = /\.[a-z0-9]{1,5}$/i.exec(meta.filename)?.[0] ?? '';
        if (ext && !name.toLowerCase().endsWith(ext.toLowerCase())) name += ext;
        for (let i = 2; used.has(name); i++) name = name.replace(/( \(\d+\))?(\.[^./]*)?$/, (_m, _n, e: string | undefined) => ` (${i})${e ?? ''}`);
        used.add(name);
        const nameBuf = Buffer.from(name, 'utf8');
        const { time, date } = dosDateTime(row.createdAt);
        const local = Buffer.alloc(30);
        local.writeUInt32LE(0x04034b50, 0);
        local.writeUInt16LE(20, 4);
        local.writeUInt16LE(0x0808, 6); // data descriptor follows; names are UTF-8
        local.writeUInt16LE(0, 8); // stored
        local.writeUInt16LE(time, 10);
        local.writeUInt16LE(date, 12);
        local.writeUInt16LE(nameBuf.length, 26);
        const headerOffset = offset;
        yield local;
        yield nameBuf;
        offset += local.length + nameBuf.length;
        let crc = 0;
        let size = 0;
        for await (const chunk of documentContent(blobs, row)) {
          const b = chunk as Buffer;
          crc = zlib.crc32(b, crc);
          size += b.length;
          yield b;
        }
        offset += size;
        const desc = Buffer.alloc(16);
        desc.writeUInt32LE(0x08074b50, 0);
        desc.writeUInt32LE(crc >>> 0, 4);
        desc.writeUInt32LE(size, 8);
        desc.writeUInt32LE(size, 12);
        yield desc;
        offset += desc.length;
        const cd = Buffer.alloc(46);
        cd.writeUInt32LE(0x02014b50, 0);
        cd.writeUInt16LE(20, 4);
        cd.writeUInt16LE(20, 6);
        cd.writeUInt16LE(0x0808, 8);
        cd.writeUInt16LE(0, 10);
        cd.writeUInt16LE(time, 12);
        cd.writeUInt16LE(date, 14);
        cd.writeUInt32LE(crc >>> 0, 16);
        cd.writeUInt32LE(size, 20);
        cd.writeUInt32LE(size, 24);
        cd.writeUInt16LE(nameBuf.length, 28);
        cd.writeUInt32LE(headerOffset, 42);
        central.push(cd, nameBuf);
        count++;
      }
      cursor = page.next ?? undefined;
    } while (cursor);
    const cdBuf = Buffer.concat(central);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(count, 8);
    end.writeUInt16LE(count, 10);
    end.writeUInt32LE(cdBuf.length, 12);
    end.writeUInt32LE(offset, 16);
    yield cdBuf;
    yield end;
  }
  return Readable.from(zip());
}
