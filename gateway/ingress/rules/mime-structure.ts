/**
 * The MIME structure of a message, counted while DATA streams (SPEC §3 limits), so that a message with too many
 * parts or too deep a nesting is refused before 250 (550 5.6.0) instead of being accepted and then dropped by the
 * worker with a DSN the patient never hears of.
 *
 * What it counts: nodes as the worker's parser does (the message itself, plus one per body part, at any depth),
 * and the depth of nested multiparts (the message's own multipart is depth 1). It follows the boundaries declared
 * in each part's Content-Type, as mailsplit does; an embedded message/rfc822 is one opaque part here (the worker
 * still checks it with its own parser, which stays the backstop).
 *
 * Bounded and linear: lines that cannot be boundary lines are skipped with one native search each; only header
 * lines and lines starting with "--" are looked at, each capped (MAX_LINE); at most MAX_BOUNDARIES boundaries are
 * kept. Pure: no I/O; bytes in, counts out. Expects CRLF or LF line ends (DataGuard refuses bare ones first).
 */
export const MAX_LINE = 8 * 1024;
const MAX_BOUNDARIES = 64;
const LF = 0x0a;
const DASH = 0x2d;

export type MimeViolation = 'mime-parts' | 'mime-depth';

export class MimeStructureScan {
  /** Nodes seen so far: the message, and every body part. */
  nodes = 1;
  /** Deepest multipart nesting seen. */
  maxDepth = 0;
  violation: MimeViolation | null = null;

  private mode: 'header' | 'body' = 'header';
  /** Where the current line stands: at its start, being kept, being skipped, or one "-" kept at its start. */
  private line: 'start' | 'keep' | 'skip' | 'dash' = 'start';
  private kept: Buffer[] = [];
  private keptBytes = 0;
  private contentType: string | null = null;
  private inContentType = false;
  private readonly boundaries: string[] = [];

  constructor(
    private readonly maxNodes: number,
    private readonly maxDepthAllowed: number,
  ) {}

  feed(chunk: Buffer): MimeViolation | null {
    let i = 0;
    const n = chunk.length;
    while (i < n && !this.violation) {
      if (this.line === 'keep') {
        const lf = chunk.indexOf(LF, i);
        this.keep(chunk.subarray(i, lf === -1 ? n : lf));
        if (lf === -1) return null;
        this.endLine();
        i = lf + 1;
        continue;
      }
      if (this.line === 'skip') {
        const lf = chunk.indexOf(LF, i);
        if (lf === -1) return null;
        this.line = 'start';
        i = lf + 1;
        continue;
      }
      if (this.line === 'dash') {
        if (chunk[i] === DASH) {
          this.line = 'keep';
          this.keep(Buffer.from('-'));
        } else this.line = 'skip';
        continue;
      }
      // At the start of a line.
      if (this.mode === 'header') {
        this.line = 'keep';
        continue;
      }
      if (chunk[i] === DASH) {
        if (i + 1 >= n) {
          this.line = 'dash';
          return null;
        }
        this.line = chunk[i + 1] === DASH ? 'keep' : 'skip';
        continue;
      }
      // Not a boundary line: jump to the next line that starts with "--".
      const next = chunk.indexOf('\n--', i);
      if (next === -1) {
        if (chunk[n - 1] === LF) this.line = 'start';
        else if (n >= 2 && chunk[n - 1] === DASH && chunk[n - 2] === LF) this.line = 'dash';
        else this.line = 'skip';
        return null;
      }
      i = next + 1;
    }
    return this.violation;
  }

  private keep(bytes: Buffer): void {
    if (this.keptBytes >= MAX_LINE) return;
    const part = bytes.subarray(0, MAX_LINE - this.keptBytes);
    this.kept.push(part);
    this.keptBytes += part.length;
  }

  private endLine(): void {
    let text = Buffer.concat(this.kept).toString('latin1');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    this.kept = [];
    this.keptBytes = 0;
    this.line = 'start';
    if (this.mode === 'header') this.headerLine(text);
    else this.bodyLine(text);
  }

  private headerLine(text: string): void {
    if (text === '') {
      this.endOfHeaders();
      return;
    }
    if (text[0] === ' ' || text[0] === '\t') {
      if (this.inContentType && this.contentType !== null && this.contentType.length < MAX_LINE) this.contentType += ` ${text.trim()}`;
      return;
    }
    const colon = text.indexOf(':');
    this.inContentType = colon > 0 && text.slice(0, colon).trim().toLowerCase() === 'content-type';
    if (this.inContentType) this.contentType = text.slice(colon + 1).trim();
  }

  private endOfHeaders(): void {
    const boundary = multipartBoundary(this.contentType);
    this.contentType = null;
    this.inContentType = false;
    this.mode = 'body';
    if (boundary === null) return;
    if (this.boundaries.length >= MAX_BOUNDARIES) {
      this.violation = 'mime-depth';
      return;
    }
    this.boundaries.push(boundary);
    this.maxDepth = Math.max(this.maxDepth, this.boundaries.length);
    if (this.maxDepth > this.maxDepthAllowed) this.violation = 'mime-depth';
  }

  private bodyLine(text: string): void {
    if (!text.startsWith('--')) return;
    for (let k = this.boundaries.length - 1; k >= 0; k--) {
      const b = this.boundaries[k]!;
      if (!text.startsWith(b, 2)) continue;
      const rest = text.slice(2 + b.length);
      if (rest.startsWith('--') && rest.slice(2).trim() === '') {
        this.boundaries.length = k; // this multipart (and any left open inside it) is closed
        return;
      }
      if (rest.trim() === '') {
        this.boundaries.length = k + 1;
        if (++this.nodes > this.maxNodes) this.violation = 'mime-parts';
        this.mode = 'header';
        return;
      }
    }
  }
}

/** The boundary of a multipart Content-Type value, or null (not multipart, no usable boundary). */
export function multipartBoundary(contentType: string | null): string | null {
  if (contentType === null) return null;
  const value = contentType.slice(0, MAX_LINE);
  const semi = value.indexOf(';');
  const type = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
  if (!type.startsWith('multipart/')) return null;
  for (const param of value.slice(semi + 1).split(';')) {
    const eq = param.indexOf('=');
    if (eq === -1 || param.slice(0, eq).trim().toLowerCase() !== 'boundary') continue;
    let b = param.slice(eq + 1).trim();
    if (b.startsWith('"')) b = b.slice(1, b.indexOf('"', 1) === -1 ? undefined : b.indexOf('"', 1));
    // RFC 2046 §5.1.1: 1 to 70 characters.
    return b.length >= 1 && b.length <= 70 ? b : null;
  }
  return null;
}
