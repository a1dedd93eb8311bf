/**
 * Minimal ZIP writer for tests (PKWARE APPNOTE 6.3: local file headers, central directory, end record).
 *
 * It writes what a real producer writes, and, on request, what a hostile one would: sizes, CRC, flags,
 * names and attributes can each be forged independently in the local header and the central directory,
 * because the reader under test must not trust any of them. Not for production: no ZIP64, no data
 * descriptors, everything in memory.
 */
import zlib from 'node:zlib';

export interface ZipEntrySpec {
  /** Entry name; a Buffer writes the bytes as they are (e.g. a backslash or invalid UTF-8). */
  name: string | Buffer;
  /** Uncompressed content (ignored for the sizes/CRC when they are forged). */
  data?: Buffer;
  method?: 'store' | 'deflate';
  /** Compressed bytes to write instead of compressing `data` (a bomb built by streaming). */
  compressed?: Buffer;
  /** Forged values, written to both headers unless stated otherwise. */
  uncompressedSize?: number;
  compressedSize?: number;
  crc32?: number;
  /** General purpose bit flags; UTF-8 names (bit 11) are always set. */
  flags?: number;
  /** Defaults to a regular file, rw-r--r--, made on Unix. */
  externalAttributes?: number;
  versionMadeBy?: number;
  /** Compression method number to write instead of 0/8 (e.g. 12 for bzip2). */
  methodNumber?: number;
}

const UTF8_NAMES = 0x0800;
const DOS_TIME = (12 << 11) | (30 << 5); // 12:30:00
const DOS_DATE = ((2024 - 1980) << 9) | (3 << 5) | 12; // 2024-03-12

export function buildZip(specs: ZipEntrySpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const spec of specs) {
    const name = typeof spec.name === 'string' ? Buffer.from(spec.name, 'utf8') : spec.name;
    const data = spec.data ?? Buffer.alloc(0);
    const method = spec.methodNumber ?? (spec.method === 'deflate' ? 8 : 0);
    const body = spec.compressed ?? (method === 8 ? zlib.deflateRawSync(data) : data);
    const crc = spec.crc32 ?? zlib.crc32(data);
    const usize = spec.uncompressedSize ?? data.length;
    const csize = spec.compressedSize ?? body.length;
    const flags = (spec.flags ?? 0) | UTF8_NAMES;

    const lfh = Buffer.alloc(30);
    lfh.writeUInt32LE(0x04034b50, 0);
    lfh.writeUInt16LE(20, 4);
    lfh.writeUInt16LE(flags, 6);
    lfh.writeUInt16LE(method, 8);
    lfh.writeUInt16LE(DOS_TIME, 10);
    lfh.writeUInt16LE(DOS_DATE, 12);
    lfh.writeUInt32LE(crc >>> 0, 14);
    lfh.writeUInt32LE(csize >>> 0, 18);
    lfh.writeUInt32LE(usize >>> 0, 22);
    lfh.writeUInt16LE(name.length, 26);
    lfh.writeUInt16LE(0, 28);
    locals.push(lfh, name, body);

    const cdh = Buffer.alloc(46);
    cdh.writeUInt32LE(0x02014b50, 0);
    cdh.writeUInt16LE(spec.versionMadeBy ?? (3 << 8) | 20, 4);
    cdh.writeUInt16LE(20, 6);
    cdh.writeUInt16LE(flags, 8);
    cdh.writeUInt16LE(method, 10);
    cdh.writeUInt16LE(DOS_TIME, 12);
    cdh.writeUInt16LE(DOS_DATE, 14);
    cdh.writeUInt32LE(crc >>> 0, 16);
    cdh.writeUInt32LE(csize >>> 0, 20);
    cdh.writeUInt32LE(usize >>> 0, 24);
    cdh.writeUInt16LE(name.length, 28);
    cdh.writeUInt16LE(0, 30); // extra
    cdh.writeUInt16LE(0, 32); // comment
    cdh.writeUInt16LE(0, 34); // disk
    cdh.writeUInt16LE(0, 36); // internal attributes
    cdh.writeUInt32LE((spec.externalAttributes ?? 0o100644 << 16) >>> 0, 38);
    cdh.writeUInt32LE(offset, 42);
    centrals.push(cdh, name);

    offset += lfh.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(0, 4);
  eocd.writeUInt16LE(0, 6);
  eocd.writeUInt16LE(specs.length, 8);
  eocd.writeUInt16LE(specs.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  eocd.writeUInt16LE(0, 20);
  return Buffer.concat([...locals, cd, eocd]);
}

/** Raw-deflate `bytes` zeros without ever holding them in memory; returns the compressed stream and its CRC. */
export async function deflatedZeros(bytes: number): Promise<{ compressed: Buffer; crc32: number }> {
  const chunk = Buffer.alloc(1024 * 1024);
  const deflate = zlib.createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (b: Buffer) => out.push(b));
  const done = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve);
    deflate.on('error', reject);
  });
  let crc = 0;
  for (let left = bytes; left > 0; left -= chunk.length) {
    const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
    crc = zlib.crc32(part, crc);
    if (!deflate.write(part)) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  return { compressed: Buffer.concat(out), crc32: crc };
}
