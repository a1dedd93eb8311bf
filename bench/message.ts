/**
 * The benchmark's message, built once per run: a short text part and one base64 application/pdf attachment of
 * random bytes, sized so that the whole message is close to the requested size. Every message shares the same
 * body Buffer; only a fixed-width prefix (Message-ID and Subject) differs, so all messages have exactly the
 * same size and producing one costs a few dozen bytes of formatting.
 */
import crypto from 'node:crypto';
import { Readable } from 'node:stream';

export interface BenchMessage {
  /** Exact size in bytes of every message (prefix + body). */
  readonly bytes: number;
  /** Size of the attachment before base64. */
  readonly attachmentBytes: number;
  /** The message as a stream of two chunks: its own header lines, then the shared body. */
  stream(index: number): Readable;
}

const CRLF = '\r\n';
const B64_LINE = 76; // RFC 2045 maximum line length of base64

export function buildMessage(opts: { targetBytes: number; senderDomain: string; runId: string }): BenchMessage {
  const prefix = (i: number) =>
    `Message-ID: <bench.${opts.runId}.${String(i).padStart(9, '0')}@${opts.senderDomain}>${CRLF}` +
    `Subject: Banc d'essai ${opts.runId} ${String(i).padStart(9, '0')}${CRLF}`;
  const prefixBytes = Buffer.byteLength(prefix(0));
  const boundary = `bench-${crypto.randomBytes(12).toString('hex')}`;
  const head = [
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `From: "Banc d'essai" <bench@${opts.senderDomain}>`,
    'To: undisclosed-recipients:;',
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 7bit',
    '',
    'Bonjour,',
    '',
    "Veuillez trouver ci-joint le compte rendu (message synthetique du banc d'essai, sans donnee reelle).",
    '',
    `--${boundary}`,
    'Content-Type: application/pdf; name="compte-rendu.pdf"',
    'Content-Disposition: attachment; filename="compte-rendu.pdf"',
    'Content-Transfer-Encoding: base64',
    '',
    '',
  ].join(CRLF);
  const tail = `--${boundary}--${CRLF}`;
  // Base64 budget: full lines of 76 characters + CRLF carry 57 bytes; a last partial line what fits.
  const budget = Math.max(0, opts.targetBytes - prefixBytes - Buffer.byteLength(head) - Buffer.byteLength(tail));
  const fullLines = Math.floor(budget / (B64_LINE + 2));
  const rest = budget - fullLines * (B64_LINE + 2);
  const lastChars = rest > 2 ? Math.floor((rest - 2) / 4) * 4 : 0;
  const rawBytes = Math.max(16, fullLines * 57 + (lastChars / 4) * 3);
  const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(rawBytes - 9)]);
  const b64 = pdf.toString('base64');
  const lines: string[] = [];
  for (let o = 0; o < b64.length; o += B64_LINE) lines.push(b64.slice(o, o + B64_LINE));
  const body = Buffer.from(head + lines.join(CRLF) + CRLF + tail, 'latin1');
  const bytes = prefixBytes + body.length;
  return {
    bytes,
    attachmentBytes: pdf.length,
    stream: (i) => Readable.from([Buffer.from(prefix(i), 'latin1'), body], { objectMode: false }),
  };
}
