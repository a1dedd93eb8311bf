import { describe, expect, it } from 'vitest';
import { MimeStructureScan, multipartBoundary } from '../../gateway/ingress/rules/mime-structure.js';

/** A multipart tree: `depth` levels of nesting, `width` leaves in the innermost one. */
function tree(depth: number, width: number): string {
  const open = (d: number): string => {
    const b = `b${d}`;
    if (d === depth) {
      const leaves = Array.from({ length: width }, (_, i) => `--${b}\r\nContent-Type: text/plain\r\n\r\nfeuille ${i}\r\n`).join('');
      return `Content-Type: multipart/mixed; boundary="${b}"\r\n\r\npreamble\r\n${leaves}--${b}--\r\nepilogue\r\n`;
    }
    return `Content-Type: multipart/mixed;\r\n boundary=${b}\r\n\r\n--${b}\r\n${open(d + 1)}--${b}\r\nContent-Type: text/plain\r\n\r\n--pas une limite\r\n--${b}--\r\n`;
  };
  return `From: a@b.fr\r\nSubject: arbre\r\nMIME-Version: 1.0\r\n${open(1)}`;
}

function scan(text: string, chunk: number, maxNodes = 1000, maxDepth = 20) {
  const s = new MimeStructureScan(maxNodes, maxDepth);
  const buf = Buffer.from(text, 'latin1');
  for (let i = 0; i < buf.length && !s.violation; i += chunk) s.feed(buf.subarray(i, i + chunk));
  return s;
}

/** Nodes as mailparser's splitter counts them (the worker's count, which the gateway's must match). */
async function parserNodes(text: string): Promise<number> {
  let nodes = 0;
  const { MailParser } = await import('mailparser');
  const parser = new MailParser();
  const hooked = parser as unknown as { processChunk: (d: { type: string }, cb: () => void) => void };
  const original = hooked.processChunk.bind(parser);
  hooked.processChunk = (d, cb) => {
    if (d.type === 'node') nodes++;
    original(d, cb);
  };
  parser.on('data', (d: { type: string; release?: () => void; content?: NodeJS.ReadableStream }) => {
    if (d.type === 'attachment') {
      d.content?.resume();
      d.content?.on('end', () => d.release?.());
    }
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('end', resolve).on('error', reject);
    parser.end(Buffer.from(text, 'latin1'));
  });
  return nodes;
}

describe('MimeStructureScan', () => {
  it.each([1, 2, 3, 7, 64, 1 << 20])('counts nodes and depth like the parser, whatever the chunking (%i bytes)', async (chunk) => {
    for (const [depth, width] of [
      [1, 3],
      [3, 2],
      [5, 1],
    ] as const) {
      const text = tree(depth, width);
      const s = scan(text, chunk);
      expect(s.violation).toBeNull();
      expect(s.maxDepth).toBe(depth);
      expect(s.nodes).toBe(await parserNodes(text));
    }
  });
  it('refuses too many parts and too deep a nesting as soon as it sees them', () => {
    expect(scan(tree(1, 50), 100, 20).violation).toBe('mime-parts');
    expect(scan(tree(25, 1), 100).violation).toBe('mime-depth');
    expect(scan(tree(4, 10), 100, 20, 4).violation).toBeNull();
  });
  it('treats a message without multipart as one node, and lines that merely look like boundaries as text', () => {
    const s = scan('From: a@b.fr\r\nContent-Type: text/plain\r\n\r\n--b0\r\n--b1--\r\n', 5);
    expect([s.nodes, s.maxDepth, s.violation]).toEqual([1, 0, null]);
  });
  it('finishes on 1 MiB of hostile input', () => {
    const dashes = scan(`Content-Type: multipart/mixed; boundary=x\r\n\r\n${'--y\r\n'.repeat(200_000)}`, 65536);
    expect(dashes.nodes).toBe(1);
    const longLine = scan(`Content-Type: multipart/mixed; boundary=x\r\n\r\n--${'x'.repeat(1 << 20)}\r\n`, 65536);
    expect(longLine.nodes).toBe(1);
    const headers = scan(`${'X-A: b\r\n'.repeat(100_000)}\r\n`, 65536);
    expect(headers.nodes).toBe(1);
  });
});

describe('multipartBoundary', () => {
  it.each([
    ['multipart/mixed; boundary="abc def"', 'abc def'],
    ['Multipart/Alternative; charset=x; BOUNDARY=b1', 'b1'],
    ['text/plain; boundary=b', null],
    ['multipart/mixed', null],
    [`multipart/mixed; boundary=${'b'.repeat(71)}`, null],
    [null, null],
  ])('%s', (ct, expected) => {
    expect(multipartBoundary(ct)).toBe(expected);
  });
});
