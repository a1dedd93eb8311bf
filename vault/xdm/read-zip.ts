/**
 * Bounded reader for an IHE XDM archive (`IHE_XDM.ZIP`) received from an untrusted sender.
 *
 * Guarantees (all refusals throw XdmError; nothing partial is ever returned):
 * - Caps (defaults in DEFAULT_XDM_CAPS, each overridable): entry count, uncompressed size per entry and in
 *   total, compression ratio per entry. They are checked against the central directory first (cheap early
 *   refusal), then ENFORCED WHILE INFLATING: the inflater's output is counted and the read is aborted at the
 *   first byte past `min(declared size, entry cap, remaining total, ratio limit)`. A header lying about its
 *   size therefore costs at most that many bytes of memory and CPU (`size-mismatch`), never the real size.
 * - Decompression is ours (yauzl hands us the raw bytes): stored and deflate only (`unsupported` otherwise);
 *   the CRC-32 is checked (`corrupt`), which yauzl does not do.
 * - Names: yauzl with `strictFileNames` refuses absolute paths, `..` and backslashes; we check again (defence
 *   in depth) and also refuse control characters, `:` (drive letters, NTFS streams), empty or `.` segments,
 *   over-long names and names equal after Unicode NFC and case folding (`path`): two spellings of one name
 *   would let an extractor and this reader see different files.
 * - No symlinks or special files (Unix mode in the external attributes; `symlink`), no encrypted entries
 *   (`encrypted`), no overlapping entries (`corrupt`: the overlapping-file zip bomb and parser-confusion trick).
 * - Structure: at least one `IHE_XDM/<folder>/METADATA.XML` (`no-metadata`), each parsed (metadata.ts), each
 *   document it lists present in the archive (`metadata-invalid`), and matching its declared SHA-1 and size
 *   when those are given (`integrity`). INDEX.HTM and README.TXT are required by IHE but carry nothing we
 *   use, so their absence is tolerated; other unreferenced entries are read (they count in the caps) and kept
 *   in `entries` but are never filed by the classifier.
 * - Anything yauzl or zlib reports that is not one of the above becomes `not-zip` (cannot open) or `corrupt`.
 */
import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import yauzl from 'yauzl';
import { XdmError, type XdmErrorCode, type XdmMessageParams } from './errors.js';
import { parseXdmMetadata, type XdmSubmissionSet } from './metadata.js';

const MiB = 1024 * 1024;

export interface XdmCaps {
  /** Entries in the central directory, directories included. */
  maxEntries: number;
  /** Sum of the uncompressed sizes of all entries. */
  maxTotalBytes: number;
  /** Uncompressed size of one entry. */
  maxEntryBytes: number;
  /** Uncompressed / compressed size of one entry. */
  maxRatio: number;
  /** Entries smaller than this are exempt from the ratio cap (see DEFAULT_XDM_CAPS). */
  ratioExemptBelowBytes: number;
}

export const DEFAULT_XDM_CAPS: Readonly<XdmCaps> = Object.freeze({
  // An XDM carries a handful of documents (ANS examples: 1 to 10) plus INDEX.HTM/README.TXT/METADATA.XML.
  maxEntries: 200,
  // Mon espace santé refuses messages over 25 MB; base64 inflates by 4/3, so a legitimate archive is under
  // ~19 MB compressed. Twice the message size decompressed leaves room for XML that compresses well.
  maxTotalBytes: 50 * MiB,
  maxEntryBytes: 25 * MiB,
  // PDF and images barely compress (1–2:1), XML reaches 10–20:1; deflate's ceiling is ~1030:1, which only
  // degenerate content (zeros) reaches. 100:1 is far above any real document and far below a bomb.
  maxRatio: 100,
  // Small repetitive files (a blank-page TIFF, padded text) can exceed 100:1 legitimately; below 1 MiB the
  // absolute size is harmless, so the ratio cap would refuse real mail without protecting anything.
  ratioExemptBelowBytes: 1 * MiB,
});

export interface XdmArchive {
  /** File entries by normalised (NFC) path, as spelled in the archive; directories are not listed. */
  entries: Map<string, Buffer>;
  submissionSets: XdmSubmissionSet[];
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

function msgParams(caps: XdmCaps): XdmMessageParams {
  return {
    maxEntries: caps.maxEntries,
    maxEntryMiB: Math.floor(caps.maxEntryBytes / MiB),
    maxTotalMiB: Math.floor(caps.maxTotalBytes / MiB),
    maxRatio: caps.maxRatio,
  };
}

/** yauzl reports everything as plain Error; map the messages we know to our codes, the rest to `corrupt`. */
function fromYauzl(e: unknown, caps: XdmCaps): XdmError {
  if (e instanceof XdmError) return e;
  const m = e instanceof Error ? e.message : String(e);
  let code: XdmErrorCode = 'corrupt';
  if (/^(invalid characters in fileName|absolute path|invalid relative path)\b/.test(m)) code = 'path';
  else if (/strong encryption|encrypted/.test(m)) code = 'encrypted';
  else if (/size mismatch|too many bytes|not enough bytes/.test(m)) code = 'size-mismatch';
  else if (/unsupported compression method/.test(m)) code = 'unsupported';
  return new XdmError(code, `zip: ${m}`, msgParams(caps), { cause: e });
}

function checkName(name: string): string | null {
  if (name.length === 0 || name.length > 512) return 'empty or over-long name';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\:]/.test(name)) return 'control character, backslash or colon';
  if (name.startsWith('/')) return 'absolute path';
  const segments = name.replace(/\/$/, '').split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return 'empty, . or .. segment';
  return null;
}

/** Unix file type from the external attributes, when the entry was made on a Unix-like host. */
function unixFileType(entry: yauzl.Entry): number | null {
  const mode = (entry.externalFileAttributes >>> 16) & 0xffff;
  // Hosts: 3 = Unix, 19 = OS X. Others (0 = MS-DOS…) keep DOS attributes in the low byte, upper bits zero;
  // still honour a non-zero mode there, since some writers set it regardless of the host byte.
  const host = entry.versionMadeBy >>> 8;
  if (mode === 0 && host !== 3 && host !== 19) return null;
  return mode & S_IFMT;
}

interface Range {
  start: number;
  end: number;
  name: string;
}

async function readEntry(zipfile: yauzl.ZipFile, entry: yauzl.Entry, caps: XdmCaps, remainingTotal: number): Promise<Buffer> {
  const declared = entry.uncompressedSize;
  const ratioLimit =
    declared < caps.ratioExemptBelowBytes ? Number.POSITIVE_INFINITY : Math.max(caps.ratioExemptBelowBytes, entry.compressedSize * caps.maxRatio);
  // Every bound at once; because the declared size was already checked against the caps, in practice the
  // first one hit is `declared`, i.e. a lying header, which is exactly what this counter is here to catch.
  const bounds: { limit: number; code: XdmErrorCode }[] = [
    { limit: declared, code: 'size-mismatch' },
    { limit: caps.maxEntryBytes, code: 'too-large' },
    { limit: remainingTotal, code: 'too-large' },
    { limit: ratioLimit, code: 'ratio' },
  ];
  const tightest = bounds.reduce((a, b) => (b.limit < a.limit ? b : a));

  const raw = await zipfile.openReadStreamPromise(entry, { decodeFileData: false });
  const chunks: Buffer[] = [];
  let count = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      count += chunk.length;
      if (count > tightest.limit) {
        cb(
          new XdmError(
            tightest.code,
            `${entry.fileName}: stopped inflating after ${count} bytes (limit ${tightest.limit}, declared ${declared})`,
            msgParams(caps),
          ),
        );
        return;
      }
      chunks.push(chunk);
      cb();
    },
  });
  try {
    if (entry.compressionMethod === 8) {
      await pipeline(raw, zlib.createInflateRaw(), sink);
    } else {
      await pipeline(raw, sink);
    }
  } catch (e) {
    if (e instanceof XdmError) throw e;
    throw new XdmError('corrupt', `${entry.fileName}: ${e instanceof Error ? e.message : String(e)}`, msgParams(caps), { cause: e });
  }
  if (count !== declared) {
    throw new XdmError('size-mismatch', `${entry.fileName}: ${count} bytes, declared ${declared}`, msgParams(caps));
  }
  const data = Buffer.concat(chunks, count);
  if (zlib.crc32(data) >>> 0 !== entry.crc32 >>> 0) {
    throw new XdmError('corrupt', `${entry.fileName}: CRC-32 mismatch`, msgParams(caps));
  }
  return data;
}

function findEntry(entries: Map<string, Buffer>, path: string): string | null {
  const exact = path.normalize('NFC');
  if (entries.has(exact)) return exact;
  // XDM names come from ISO 9660 tools and are upper case, but metadata writers are not always consistent;
  // case-insensitive lookup is unambiguous because names equal after case folding are refused.
  const folded = exact.toUpperCase();
  for (const k of entries.keys()) if (k.toUpperCase() === folded) return k;
  return null;
}

/** Read, bound and check an XDM archive. See the header for what is guaranteed. */
export async function readXdmZip(zip: Buffer, caps?: Partial<XdmCaps>): Promise<XdmArchive> {
  const c: XdmCaps = { ...DEFAULT_XDM_CAPS, ...caps };
  const params = msgParams(c);
  const entries = await readZipEntries(zip, c);

  // ---- XDM structure ----
  const metadataPaths = [...entries.keys()].filter((k) => /^IHE_XDM\/[^/]+\/METADATA\.XML$/i.test(k)).sort();
  if (metadataPaths.length === 0) throw new XdmError('no-metadata', 'no IHE_XDM/<subset>/METADATA.XML entry', params);

  const submissionSets: XdmSubmissionSet[] = [];
  for (const mp of metadataPaths) {
    const folder = mp.slice(0, mp.lastIndexOf('/'));
    const set = parseXdmMetadata(entries.get(mp)!, folder);
    for (const doc of set.documents) {
      const key = findEntry(entries, doc.path);
      if (key === null || key.toUpperCase() === mp.toUpperCase()) {
        throw new XdmError('metadata-invalid', `${doc.id}: ${doc.path} is not in the archive`, params);
      }
      doc.path = key;
      const content = entries.get(key)!;
      if (doc.size !== null && doc.size !== content.length) {
        throw new XdmError('integrity', `${key}: ${content.length} bytes, metadata says ${doc.size}`, params);
      }
      if (doc.hash !== null && crypto.createHash('sha1').update(content).digest('hex') !== doc.hash) {
        throw new XdmError('integrity', `${key}: SHA-1 differs from metadata`, params);
      }
    }
    submissionSets.push(set);
  }
  return { entries, submissionSets };
}

/**
 * Every file entry of a ZIP, inflated under the caps (paths, links, encryption, sizes, ratio, overlaps: see the
 * header), by normalised name. Used for XDM archives and for the member check of plain ZIP attachments.
 */
export async function readZipEntries(zip: Buffer, caps?: Partial<XdmCaps>): Promise<Map<string, Buffer>> {
  const c: XdmCaps = { ...DEFAULT_XDM_CAPS, ...caps };
  const params = msgParams(c);

  let zipfile: yauzl.ZipFile;
  try {
    zipfile = await yauzl.fromBufferPromise(zip, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true, decodeStrings: true });
  } catch (e) {
    throw new XdmError('not-zip', `zip: ${e instanceof Error ? e.message : String(e)}`, params, { cause: e });
  }

  // eachEntry() listens for errors only while iterating; a late one must not become an uncaught 'error' event.
  zipfile.on('error', () => undefined);
  const entries = new Map<string, Buffer>();
  try {
    if (zipfile.entryCount > c.maxEntries) {
      throw new XdmError('too-many-entries', `${zipfile.entryCount} entries`, params);
    }
    const seen = new Set<string>();
    const ranges: Range[] = [];
    let declaredTotal = 0;
    let actualTotal = 0;
    let n = 0;
    for await (const entry of zipfile.eachEntry()) {
      n++;
      if (n > c.maxEntries) throw new XdmError('too-many-entries', `more than ${c.maxEntries} entries`, params);

      const name = entry.fileName.normalize('NFC');
      const bad = checkName(name);
      if (bad) throw new XdmError('path', `${name}: ${bad}`, params);
      const folded = name.replace(/\/$/, '').toUpperCase();
      if (seen.has(folded)) throw new XdmError('path', `${name}: duplicate name`, params);
      seen.add(folded);

      const type = unixFileType(entry);
      const isDir = name.endsWith('/');
      if (type !== null && type !== S_IFREG && !(isDir && type === S_IFDIR)) {
        const kind = type === S_IFLNK ? 'symbolic link' : `special file (type 0o${type.toString(8)})`;
        throw new XdmError('symlink', `${name}: ${kind}`, params);
      }
      // Bit 0 of the flags: encrypted (traditional or strong, bit 6 implies bit 0).
      if (entry.isEncrypted()) throw new XdmError('encrypted', `${name}: encrypted entry`, params);
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
        throw new XdmError('unsupported', `${name}: compression method ${entry.compressionMethod}`, params);
      }

      // Early refusal from the central directory; the same bounds are enforced again while inflating.
      if (entry.uncompressedSize > c.maxEntryBytes) throw new XdmError('too-large', `${name}: declares ${entry.uncompressedSize} bytes`, params);
      declaredTotal += entry.uncompressedSize;
      if (declaredTotal > c.maxTotalBytes) throw new XdmError('too-large', `declared total ${declaredTotal} bytes`, params);
      if (entry.uncompressedSize >= c.ratioExemptBelowBytes && entry.uncompressedSize > entry.compressedSize * c.maxRatio) {
        throw new XdmError('ratio', `${name}: declares ${entry.uncompressedSize} bytes from ${entry.compressedSize}`, params);
      }

      // Overlap check: the local header plus data of every entry must be disjoint from the others'.
      const { fileDataStart } = await zipfile.readLocalFileHeaderPromise(entry, { minimal: true });
      const range: Range = { start: entry.relativeOffsetOfLocalHeader, end: fileDataStart + entry.compressedSize, name };
      if (range.end > zip.length) throw new XdmError('corrupt', `${name}: data beyond the end of the archive`, params);
      const clash = ranges.find((r) => range.start < r.end && r.start < range.end);
      if (clash) throw new XdmError('corrupt', `${name}: overlaps ${clash.name}`, params);
      ranges.push(range);

      if (isDir) {
        if (entry.uncompressedSize !== 0) throw new XdmError('corrupt', `${name}: directory with content`, params);
        continue;
      }
      const data = await readEntry(zipfile, entry, c, c.maxTotalBytes - actualTotal);
      actualTotal += data.length;
      entries.set(name, data);
    }
  } catch (e) {
    throw fromYauzl(e, c);
  } finally {
    zipfile.close();
  }

  return entries;
}
