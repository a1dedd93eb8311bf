/**
 * Media-type sniffing for attachments and uploads (SPEC §5: "media type (sniffed, not trusted from the
 * sender)"; "executables and unknown binary types are refused").
 *
 * Guarantees:
 * - The returned `mediaType` is always what the CONTENT is, never the declared type or the file name.
 * - `refused` for: executables and scripts by content (PE `MZ`, ELF, Mach-O, Java class, `#!`), by sniffed
 *   type (file-type's exe/elf/mach-o/jar/apk/msi…), by declared type (application/x-msdownload…) or by file
 *   name (.exe, .bat, .js, .ps1, .jar…); active web content (HTML, SVG: scripts); any recognised type that is
 *   not in ALLOWED_MEDIA_TYPES (e.g. legacy OLE .doc/.xls with macros, archives other than ZIP, video); and
 *   unknown binary (no type found and not text). Refusing by declared type or name even when the content is
 *   harmless is deliberate: the sender meant an executable, and the patient's client might trust the name.
 * - `mismatch` when the content is allowed but the declared type (parameters ignored, aliases such as
 *   image/jpg = image/jpeg folded) or the file extension says something else; `mediaType` stays the sniffed
 *   one. `application/octet-stream` or no declared type is not a mismatch: it claims nothing.
 * - Never throws on any input: a crash of file-type on crafted bytes counts as "not recognised".
 * - Only the head is examined. Give at least 4100 bytes (file-type's minimum); for ZIP-based office files
 *   more helps (the entry naming the format may come after the first 4 KiB), otherwise they sniff as ZIP.
 *
 * Allowed: PDF, JPEG, PNG, GIF, TIFF, WebP, DICOM, ZIP (IHE XDM), XML and CDA, plain text and CSV, HL7 v2,
 * RTF, ODT, DOCX, XLSX.
 */
import { fileTypeFromBuffer } from 'file-type';
import { rootElementName } from './xdm/xml.js';

export type SniffVerdict = 'ok' | 'mismatch' | 'refused';

export interface SniffResult {
  mediaType: string;
  verdict: SniffVerdict;
  reason?: string;
}

export const MEDIA = {
  pdf: 'application/pdf',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  tiff: 'image/tiff',
  webp: 'image/webp',
  dicom: 'application/dicom',
  zip: 'application/zip',
  xml: 'application/xml',
  cda: 'application/cda+xml', // IANA-registered (2021) for HL7 CDA R2
  text: 'text/plain',
  csv: 'text/csv',
  // HL7 v2 "ER7" (pipe-delimited) has no IANA type; this is the one HL7 uses for FHIR attachments.
  hl7v2: 'x-application/hl7-v2+er7',
  rtf: 'application/rtf',
  odt: 'application/vnd.oasis.opendocument.text',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  unknown: 'application/octet-stream',
} as const;

export const ALLOWED_MEDIA_TYPES: ReadonlySet<string> = new Set(Object.values(MEDIA).filter((m) => m !== MEDIA.unknown));

/** Types whose mere declaration means "executable or script". */
const DANGEROUS_TYPES: ReadonlySet<string> = new Set([
  'application/x-msdownload',
  'application/x-msdos-program',
  'application/x-dosexec',
  'application/x-executable',
  'application/x-elf',
  'application/x-mach-binary',
  'application/x-sharedlib',
  'application/vnd.microsoft.portable-executable',
  'application/x-msi',
  'application/x-ms-installer',
  'application/x-ole-storage', // .msi is an OLE compound file
  'application/java-archive',
  'application/x-java-archive',
  'application/java-vm',
  'application/x-java-class',
  'application/vnd.android.package-archive',
  'application/x-apple-diskimage',
  'application/x-sh',
  'application/x-shellscript',
  'text/x-shellscript',
  'application/x-bat',
  'application/x-msdos-batch',
  'application/javascript',
  'text/javascript',
  'application/x-javascript',
  'application/ecmascript',
  'text/vbscript',
  'application/x-vbscript',
  'application/x-powershell',
  'application/hta',
  'application/x-ms-shortcut',
  'application/x-xpinstall',
  'application/x-shockwave-flash',
]);

/** File extensions of executables, scripts and installers (Windows runs them by extension). */
const DANGEROUS_EXTENSIONS: ReadonlySet<string> = new Set([
  'exe',
  'com',
  'dll',
  'sys',
  'cpl',
  'scr',
  'pif',
  'msi',
  'msp',
  'mst',
  'bat',
  'cmd',
  'js',
  'jse',
  'mjs',
  'vbs',
  'vbe',
  'wsf',
  'wsh',
  'ws',
  'ps1',
  'psm1',
  'psd1',
  'hta',
  'lnk',
  'reg',
  'inf',
  'jar',
  'class',
  'apk',
  'app',
  'dmg',
  'pkg',
  'sh',
  'bash',
  'zsh',
  'csh',
  'ksh',
  'command',
  'elf',
  'bin',
  'run',
  'appimage',
  'deb',
  'rpm',
  'xpi',
  'iso',
  'img',
  'vhd',
  'vhdx',
  'chm',
  'url',
  'scf',
  'gadget',
  'msc',
  'application',
  // Active web content: opened in a browser, it runs scripts whatever the bytes look like.
  'html',
  'htm',
  'xhtml',
  'xht',
  'shtml',
  'mht',
  'mhtml',
  'svg',
  'svgz',
]);

/** Declared-type aliases, folded to our canonical names before comparing. */
const ALIASES: Record<string, string> = {
  'image/jpg': MEDIA.jpeg,
  'image/pjpeg': MEDIA.jpeg,
  'image/x-png': MEDIA.png,
  'image/tif': MEDIA.tiff,
  'image/x-tiff': MEDIA.tiff,
  'application/x-pdf': MEDIA.pdf,
  'application/acrobat': MEDIA.pdf,
  'applications/vnd.pdf': MEDIA.pdf,
  'text/pdf': MEDIA.pdf,
  'text/x-pdf': MEDIA.pdf,
  'application/x-dicom': MEDIA.dicom,
  'application/dicom+dcm': MEDIA.dicom,
  'application/x-zip-compressed': MEDIA.zip,
  'application/x-zip': MEDIA.zip,
  'multipart/x-zip': MEDIA.zip,
  'text/xml': MEDIA.xml,
  'application/hl7-cda+xml': MEDIA.cda,
  'text/rtf': MEDIA.rtf,
  'application/x-rtf': MEDIA.rtf,
  'text/x-csv': MEDIA.csv,
  'application/csv': MEDIA.csv,
  'text/comma-separated-values': MEDIA.csv,
  'application/x-hl7': MEDIA.hl7v2,
  'application/hl7-v2': MEDIA.hl7v2,
  'application/edi-hl7': MEDIA.hl7v2,
  'text/x-hl7': MEDIA.hl7v2,
};

/** Families inside which a declared and a sniffed type are not a mismatch. */
function family(mime: string): string {
  if (mime === MEDIA.xml || mime === MEDIA.cda) return 'xml'; // a CDA is XML; "xml" describes it correctly
  if (mime === MEDIA.text || mime === MEDIA.csv) return 'text'; // CSV cannot be told from text by content
  return mime;
}

const EXTENSIONS: Record<string, string> = {
  pdf: MEDIA.pdf,
  jpg: MEDIA.jpeg,
  jpeg: MEDIA.jpeg,
  jpe: MEDIA.jpeg,
  png: MEDIA.png,
  gif: MEDIA.gif,
  tif: MEDIA.tiff,
  tiff: MEDIA.tiff,
  webp: MEDIA.webp,
  dcm: MEDIA.dicom,
  zip: MEDIA.zip,
  xml: MEDIA.xml,
  txt: MEDIA.text,
  csv: MEDIA.csv,
  hl7: MEDIA.hl7v2,
  rtf: MEDIA.rtf,
  odt: MEDIA.odt,
  docx: MEDIA.docx,
  xlsx: MEDIA.xlsx,
};

/**
 * Declared type without parameters, lower-cased, aliases folded. Null when it claims nothing: absent,
 * octet-stream, or not `type/subtype` in RFC 2045 token characters (a malformed header is sloppiness, not a
 * claim, and must not be echoed into `reason`, which may end up in a notice or a log line).
 */
export function normaliseMediaType(declared: string | null): string | null {
  if (declared === null) return null;
  const base = declared.split(';')[0]!.trim().toLowerCase();
  if (!/^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,128}$/.test(base)) return null;
  if (base === 'application/octet-stream' || base === 'binary/octet-stream' || base === 'application/unknown') return null;
  return ALIASES[base] ?? base;
}

function extensionOf(filename: string | null): string | null {
  if (!filename) return null;
  // Trailing dots and spaces are ignored by Windows ("x.exe." runs x.exe), so strip them before reading.
  let end = filename.trimEnd().length;
  while (end > 0 && (filename[end - 1] === '.' || filename[end - 1] === ' ')) end--; // linear, unlike /[. ]+$/
  const name = filename.slice(0, end).trim();
  const slash = Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'));
  const base = name.slice(slash + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : null;
}

function startsWith(head: Buffer, bytes: number[], offset = 0): boolean {
  if (head.length < offset + bytes.length) return false;
  return bytes.every((b, i) => head[offset + i] === b);
}

/** Executable or script by its first bytes, whatever file-type says. */
function executableMagic(head: Buffer): { mediaType: string; reason: string } | null {
  if (startsWith(head, [0x4d, 0x5a])) return { mediaType: 'application/x-msdownload', reason: 'PE/DOS executable (MZ)' };
  if (startsWith(head, [0x7f, 0x45, 0x4c, 0x46])) return { mediaType: 'application/x-elf', reason: 'ELF executable' };
  const be = head.length >= 4 ? head.readUInt32BE(0) : 0;
  if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe].includes(be)) return { mediaType: 'application/x-mach-binary', reason: 'Mach-O executable' };
  // 0xCAFEBABE is both a Mach-O universal binary and a Java class file: refused either way.
  if (be === 0xcafebabe) return { mediaType: 'application/x-mach-binary', reason: 'Mach-O universal binary or Java class' };
  const i = startsWith(head, [0xef, 0xbb, 0xbf]) ? 3 : 0;
  if (head[i] === 0x23 && head[i + 1] === 0x21) return { mediaType: 'text/x-shellscript', reason: 'script (#!)' };
  return null;
}

/**
 * Text: no NUL and no C0 control other than TAB, LF, VT, FF, CR, SUB (DOS end of file) and ESC. Bytes ≥ 0x80
 * are accepted without requiring valid UTF-8: French text in windows-1252 is common in older software and
 * HL7 v2 feeds, and the head may cut a UTF-8 sequence. Random binary data fails this test on its first few
 * hundred bytes with overwhelming probability.
 */
function looksLikeText(head: Buffer): boolean {
  if (head.length === 0) return true;
  if (startsWith(head, [0xff, 0xfe]) || startsWith(head, [0xfe, 0xff])) {
    // UTF-16 with a BOM: text if it decodes with no replacement character and no control characters.
    const s = new TextDecoder(head[0] === 0xff ? 'utf-16le' : 'utf-16be').decode(head.subarray(2, head.length - (head.length % 2)));
    // eslint-disable-next-line no-control-regex
    return !/[\u0000-\u0008\u000e-\u001a\u001c-\u001f\ufffd]/.test(s.slice(0, -1));
  }
  for (const b of head) {
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0b && b !== 0x0c && b !== 0x0d && b !== 0x1a && b !== 0x1b) return false;
    if (b === 0x7f) return false;
  }
  return true;
}

function textPrefix(head: Buffer): string {
  let s = head.subarray(0, 512).toString('latin1');
  if (s.startsWith('\u00ef\u00bb\u00bf')) s = s.slice(3);
  return s.trimStart();
}

/** Own detection for what file-type does not do (text-based formats) or does loosely. */
function sniffText(head: Buffer): { mediaType: string; refuse?: string } | null {
  if (!looksLikeText(head)) return null;
  const root = rootElementName(head);
  if (root !== null) {
    const r = root.toLowerCase();
    if (r === 'html') return { mediaType: 'text/html', refuse: 'HTML (active content)' };
    if (r === 'svg') return { mediaType: 'image/svg+xml', refuse: 'SVG (active content)' };
    return { mediaType: root === 'ClinicalDocument' ? MEDIA.cda : MEDIA.xml };
  }
  const p = textPrefix(head);
  if (/^<\?xml[\s?]/.test(p)) return { mediaType: MEDIA.xml };
  if (/^<!doctype\s+html|^<html[\s>]/i.test(p)) return { mediaType: 'text/html', refuse: 'HTML (active content)' };
  // HL7 v2: a message (MSH) or batch/file header, then the field separator and the 4 encoding characters.
  if (/^(MSH|FHS|BHS)\|[^\r\n|]{4}\|/.test(p)) return { mediaType: MEDIA.hl7v2 };
  if (p.startsWith('{\\rtf')) return { mediaType: MEDIA.rtf };
  return { mediaType: MEDIA.text };
}

/** Sniff the media type of `head` (the first 4100 bytes or more) and judge it. Never throws. */
export async function sniffMediaType(head: Buffer, declared: string | null, filename: string | null): Promise<SniffResult> {
  const ext = extensionOf(filename);
  const declaredType = normaliseMediaType(declared);

  // 1. Content that executes, whatever it is called.
  const magic = executableMagic(head);
  if (magic) return { mediaType: magic.mediaType, verdict: 'refused', reason: magic.reason };

  // 2. What the content is.
  let sniffed: string | null = null;
  let refuse: string | undefined;
  const dicom = head.length >= 132 && head.toString('latin1', 128, 132) === 'DICM';
  if (dicom) {
    sniffed = MEDIA.dicom;
  } else {
    let ft: { mime: string } | undefined;
    try {
      ft = await fileTypeFromBuffer(head);
    } catch {
      ft = undefined;
    }
    if (ft && ft.mime !== 'application/xml') {
      sniffed = ft.mime;
      if (DANGEROUS_TYPES.has(sniffed)) return { mediaType: sniffed, verdict: 'refused', reason: `executable content (${sniffed})` };
    } else {
      // file-type reports XML only by its declaration and does not know CDA, text or HL7: ours decides.
      const t = sniffText(head);
      if (t) {
        sniffed = t.mediaType;
        refuse = t.refuse;
      }
    }
  }
  if (sniffed === null) return { mediaType: MEDIA.unknown, verdict: 'refused', reason: 'unknown binary content' };
  if (refuse) return { mediaType: sniffed, verdict: 'refused', reason: refuse };
  if (!ALLOWED_MEDIA_TYPES.has(sniffed)) return { mediaType: sniffed, verdict: 'refused', reason: `type not accepted (${sniffed})` };

  // 3. What the sender says it is: refuse declared executables and executable names even over harmless bytes.
  if (declaredType && DANGEROUS_TYPES.has(declaredType)) {
    return { mediaType: sniffed, verdict: 'refused', reason: `declared as executable (${declaredType})` };
  }
  if (ext && DANGEROUS_EXTENSIONS.has(ext)) return { mediaType: sniffed, verdict: 'refused', reason: `executable file name (.${ext})` };

  // CSV cannot be sniffed; text that the sender calls CSV (by type or name) is kept as CSV.
  let mediaType = sniffed;
  if (
    sniffed === MEDIA.text &&
    (declaredType === MEDIA.csv || (declaredType === 'application/vnd.ms-excel' && ext === 'csv') || (!declaredType && ext === 'csv'))
  ) {
    mediaType = MEDIA.csv;
  }

  // 4. Mismatches: keep the sniffed type, say why.
  if (declaredType && family(declaredType) !== family(mediaType) && !(mediaType === MEDIA.csv && declaredType === 'application/vnd.ms-excel')) {
    return { mediaType, verdict: 'mismatch', reason: `declared ${declaredType}, content is ${mediaType}` };
  }
  const extType = ext ? EXTENSIONS[ext] : undefined;
  if (extType && family(extType) !== family(mediaType)) {
    return { mediaType, verdict: 'mismatch', reason: `file name says .${ext}, content is ${mediaType}` };
  }
  return { mediaType, verdict: 'ok' };
}

/** Text-based types a browser could be tricked into rendering as markup. */
const TEXT_TYPES: ReadonlySet<string> = new Set([MEDIA.text, MEDIA.csv, MEDIA.xml, MEDIA.cda, MEDIA.hl7v2, MEDIA.rtf]);
/** Elements that make a text HTML or SVG (followed by white space, `>` or `/` to count as a tag). */
const MARKUP_TAGS = [
  '!doctype html',
  'html',
  'head',
  'body',
  'script',
  'svg',
  'iframe',
  'frame',
  'object',
  'embed',
  'img',
  'style',
  'link',
  'meta',
  'form',
  'base',
];
const LONGEST_TAG = Math.max(...MARKUP_TAGS.map((t) => t.length)) + 2;

/**
 * Looks for HTML or SVG tags ANYWHERE in a content fed chunk by chunk (the sniffer only reads the head): a text
 * document with a script after its first 16 KiB is active content all the same. Linear: one pass over the `<`
 * bytes, a few bytes compared case-insensitively after each; a tag cut between two chunks is seen.
 */
export class MarkupScan {
  found: string | null = null;
  private carry = Buffer.alloc(0);

  feed(chunk: Buffer): void {
    if (this.found) return;
    const buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    let i = buf.indexOf(0x3c);
    while (i !== -1) {
      if (i + LONGEST_TAG > buf.length) break; // decided with the next chunk
      const tag = matchTag(buf, i + 1);
      if (tag) {
        this.found = tag;
        return;
      }
      i = buf.indexOf(0x3c, i + 1);
    }
    this.carry = i === -1 ? Buffer.alloc(0) : Buffer.from(buf.subarray(i));
  }

  /** The end of the content: a tag in the last bytes counts too. */
  end(): string | null {
    if (!this.found) {
      for (let i = this.carry.indexOf(0x3c); i !== -1 && !this.found; i = this.carry.indexOf(0x3c, i + 1)) this.found = matchTag(this.carry, i + 1, true);
    }
    return this.found;
  }
}

function matchTag(buf: Buffer, at: number, atEnd = false): string | null {
  for (const tag of MARKUP_TAGS) {
    if (at + tag.length > buf.length) continue;
    let ok = true;
    for (let k = 0; k < tag.length && ok; k++) ok = (buf[at + k]! | 0x20) === tag.charCodeAt(k) || buf[at + k] === tag.charCodeAt(k);
    if (!ok) continue;
    const next = buf[at + tag.length];
    if (next === undefined ? atEnd : next === 0x3e || next === 0x2f || next === 0x20 || next === 0x09 || next === 0x0a || next === 0x0d) return tag;
  }
  return null;
}

/** The first markup tag in a content held in memory (an XDM document, a ZIP member), or null. */
export function markupIn(content: Buffer): string | null {
  const scan = new MarkupScan();
  scan.feed(content);
  return scan.end();
}

/** The sniff verdict once the whole content was scanned for markup: text with HTML or SVG tags is refused. */
export function withMarkupVerdict(sniff: SniffResult, markupTag: string | null): SniffResult {
  if (markupTag === null || sniff.verdict === 'refused' || !TEXT_TYPES.has(sniff.mediaType)) return sniff;
  return { mediaType: 'text/html', verdict: 'refused', reason: `HTML or SVG markup in text content (<${markupTag}>)` };
}
