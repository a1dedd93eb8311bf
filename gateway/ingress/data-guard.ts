/**
 * Checks the DATA byte stream as it passes, without buffering it: bare LF and bare CR line endings (SMTP
 * smuggling defence: every LF must follow a CR, every CR must precede an LF), the size of the header block, the
 * message size, the MIME part count and nesting depth (rules/mime-structure.ts); and collects the author fields (From, Reply-To) of the header block for the end-of-header
 * check (rules/author-fields.ts). The first violation is remembered and reported; the caller stops storing and
 * drains the rest.
 */
import { AuthorFieldCapture, type AuthorFields } from './rules/author-fields.js';
import { MimeStructureScan, type MimeViolation } from './rules/mime-structure.js';

export type DataViolation = 'bare-lf' | 'bare-cr' | 'header-too-big' | 'too-big' | MimeViolation;

export class DataGuard {
  private prev = 0x0a; // as if preceded by a line end, so a leading LF alone is caught
  private inHeader = true;
  private headerBytes = 0;
  private state = 0; // progress through "\r\n\r\n" (end of header block)
  private readonly authors = new AuthorFieldCapture();
  private readonly mime: MimeStructureScan | null;
  bytes = 0;
  violation: DataViolation | null = null;

  constructor(
    private readonly maxBytes: number,
    private readonly maxHeaderBytes: number,
    /** MIME limits checked while streaming (rules/mime-structure.ts); none when omitted. */
    mime?: { maxParts: number; maxDepth: number },
  ) {
    this.mime = mime ? new MimeStructureScan(mime.maxParts, mime.maxDepth) : null;
  }

  /** Whether the blank line that ends the header block has been seen. */
  get headerComplete(): boolean {
    return !this.inHeader;
  }

  /** From and Reply-To as the header block gave them (complete once `headerComplete`, or at the end of data). */
  authorFields(): AuthorFields {
    return this.authors.result();
  }

  /** Inspects one chunk; returns the violation (the first one seen) or null. */
  inspect(chunk: Buffer): DataViolation | null {
    if (this.violation) return this.violation;
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) return (this.violation = 'too-big');
    let idx = chunk.indexOf(0x0a);
    while (idx !== -1) {
      const before = idx > 0 ? chunk[idx - 1] : this.prev;
      if (before !== 0x0d) return (this.violation = 'bare-lf');
      idx = chunk.indexOf(0x0a, idx + 1);
    }
    if (this.prev === 0x0d && chunk.length > 0 && chunk[0] !== 0x0a) return (this.violation = 'bare-cr');
    idx = chunk.indexOf(0x0d);
    while (idx !== -1 && idx < chunk.length - 1) {
      if (chunk[idx + 1] !== 0x0a) return (this.violation = 'bare-cr');
      idx = chunk.indexOf(0x0d, idx + 1);
    }
    if (this.inHeader) {
      let i = 0;
      for (; i < chunk.length; i++) {
        const b = chunk[i];
        this.state = b === (this.state % 2 === 0 ? 0x0d : 0x0a) ? this.state + 1 : b === 0x0d ? 1 : 0;
        if (this.state === 4) {
          this.inHeader = false;
          break;
        }
        if (++this.headerBytes > this.maxHeaderBytes) return (this.violation = 'header-too-big');
      }
      this.authors.feed(chunk, 0, i);
    }
    if (chunk.length > 0) this.prev = chunk[chunk.length - 1]!;
    const mime = this.mime?.feed(chunk);
    if (mime) return (this.violation = mime);
    return null;
  }
}
