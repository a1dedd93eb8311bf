import { describe, expect, it } from 'vitest';
import { DataGuard } from '../../gateway/ingress/data-guard.js';

const feed = (g: DataGuard, ...parts: string[]) => {
  let v = null;
  for (const p of parts) v = g.inspect(Buffer.from(p, 'latin1')) ?? v;
  return v;
};

describe('DataGuard', () => {
  it('accepts CRLF-only data, even with CR and LF split across chunks', () => {
    expect(feed(new DataGuard(1e6, 1e6), 'Subject: a\r', '\nX: b\r\n\r\nbody\r', '\n')).toBeNull();
  });
  it('flags a bare LF in the body', () => {
    expect(feed(new DataGuard(1e6, 1e6), 'Subject: a\r\n\r\nline\nnext\r\n')).toBe('bare-lf');
  });
  it('flags a bare LF at the start of a chunk after a chunk that did not end in CR', () => {
    expect(feed(new DataGuard(1e6, 1e6), 'Subject: a\r\n\r\nline', '\nnext')).toBe('bare-lf');
  });
  it('flags a message over its size limit', () => {
    expect(feed(new DataGuard(10, 1e6), 'Subject: a\r\n', 'more')).toBe('too-big');
  });
  it('flags a header block over its limit, but not a long body', () => {
    expect(feed(new DataGuard(1e6, 20), `Subject: ${'a'.repeat(30)}\r\n\r\nbody`)).toBe('header-too-big');
    expect(feed(new DataGuard(1e6, 20), 'S: a\r\n\r\n', 'b'.repeat(100), '\r\n')).toBeNull();
  });
  it('flags a bare CR, also when the CR ends a chunk and the next one does not start with LF', () => {
    expect(feed(new DataGuard(1e6, 1e6), 'Subject: a\r\n\r\nline\rnext\r\n')).toBe('bare-cr');
    expect(feed(new DataGuard(1e6, 1e6), 'Subject: a\r\n\r\nline\r', 'next\r\n')).toBe('bare-cr');
    expect(feed(new DataGuard(1e6, 1e6), 'Subject: a\rX: b\r\n\r\n')).toBe('bare-cr');
  });
  it('collects From and Reply-To from the header block only, unfolded, whatever the chunking', () => {
    const text = 'Received: x\r\nfrom: Dr A\r\n <a@x.fr>\r\nSubject: s\r\nReply-To: <r@x.fr>\r\n\r\nFrom: body@y.fr\r\n';
    for (const size of [1, 3, 7, text.length]) {
      const g = new DataGuard(1e6, 1e6);
      for (let i = 0; i < text.length; i += size) expect(g.inspect(Buffer.from(text.slice(i, i + size), 'latin1'))).toBeNull();
      expect(g.headerComplete).toBe(true);
      const f = g.authorFields();
      expect(f.from.map((v) => v.replace(/\s+/g, ' '))).toEqual(['Dr A <a@x.fr>']);
      expect(f.replyTo).toEqual(['<r@x.fr>']);
    }
  });
});
