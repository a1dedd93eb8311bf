// The worker's parser under limits, on a real database (attachments are streamed into the vault as parsed).
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveLimits } from '../../config/index.js';
import { openDatabase, type Database } from '../../db/index.js';
import { parseAndStore, PermanentDeliveryError } from '../../mailbox/index.js';
import { BlobStore, parseKeyFile } from '../../vault/index.js';
import { VirusScanner } from '../../vault/scan/clamd.js';
import { createTestDatabase } from '../support/harness.js';

let database: Database;
let deps: Parameters<typeof parseAndStore>[1] & { db: Database['db']; keyring: ReturnType<typeof parseKeyFile> };

beforeAll(async () => {
  database = await openDatabase({ databaseUrl: await createTestDatabase(), dataDir: '/nonexistent' });
  const keyring = parseKeyFile(crypto.randomBytes(32).toString('base64'));
  deps = { db: database.db, keyring, blobs: new BlobStore(database.db, keyring, 64 * 1024), limits: resolveLimits({}), scanner: new VirusScanner(null) };
});
afterAll(async () => {
  await database?.close();
});

function multipart(parts: number): string {
  const b = 'BOUNDARY-xyz';
  let s = `From: "Dr Test" <dr.test@hopital-a.mssante.fr>\r\nReply-To: secretariat@hopital-a.mssante.fr\r\nSubject: =?UTF-8?Q?R=C3=A9sultats?=\r\nMessage-ID: <m1@hopital-a.mssante.fr>\r\nX-MSS-MES: FIN\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="${b}"\r\n\r\n`;
  s += `--${b}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour\r\n`;
  for (let i = 0; i < parts; i++) {
    s += `--${b}\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="doc-${i}.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(`%PDF-${i}`).toString('base64')}\r\n`;
  }
  return `${s}--${b}--\r\n`;
}

describe('parseAndStore', () => {
  it('extracts content, headers the mailbox needs, and every attachment', async () => {
    const { content, attachments } = await parseAndStore(Readable.from([Buffer.from(multipart(3))]), deps);
    expect(content.subject).toBe('Résultats');
    expect(content.fromName).toBe('Dr Test');
    expect(content.replyTo).toBe('secretariat@hopital-a.mssante.fr');
    expect(content.text.trim()).toBe('Bonjour');
    expect(content.headers['x-mss-mes']).toBe('FIN');
    expect(attachments.map((a) => a.filename)).toEqual(['doc-0.pdf', 'doc-1.pdf', 'doc-2.pdf']);
    expect(attachments[1]!.stored.size).toBe(Buffer.from('%PDF-1').length);
  });

  it('fails permanently past the MIME part limit', async () => {
    const limited = { ...deps, limits: { ...deps.limits, maxMimeParts: 4 } };
    await expect(parseAndStore(Readable.from([Buffer.from(multipart(6))]), limited)).rejects.toBeInstanceOf(PermanentDeliveryError);
  });

  it('fails permanently past the attachment limit', async () => {
    const limited = { ...deps, limits: { ...deps.limits, maxAttachmentsPerMessage: 2 } };
    await expect(parseAndStore(Readable.from([Buffer.from(multipart(3))]), limited)).rejects.toBeInstanceOf(PermanentDeliveryError);
  });
});
