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
});
