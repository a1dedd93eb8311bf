// The patient archive past 65 535 entries (vault/archive.ts, yazl): a patient with 65 600 current documents gets
// one streamed ZIP written in the ZIP64 format (the classic end record says 0xFFFF entries and points to the ZIP64
// one), and yauzl reads back every entry: the real count, names, sizes, CRCs and the bytes of a few of them.
// The documents are inserted directly (one statement per 5 000 rows, four small blobs shared between them) on
// real PostgreSQL, and the archive is the real one: documentsArchive pages through them and decrypts each blob.
import crypto from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import yauzl from 'yauzl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestIns } from '../../access/rules/ins.js';
import { openDatabase, type Database } from '../../db/index.js';
import { archiveEntryName, documentsArchive } from '../../vault/archive.js';
import { documentContext } from '../../vault/documents.js';
import { BlobStore, parseKeyFile, sealValue } from '../../vault/index.js';
import { createTestDatabase } from '../support/harness.js';

const COUNT = 65_600; // past the 65 535 entries a classic ZIP can count
const keyring = parseKeyFile(crypto.randomBytes(32).toString('base64'));
let database: Database;
let dir: string;
let patientId: string;
const contents = [0, 1, 2, 3].map((k) => Buffer.from(`Compte rendu de test numéro ${k}\n`.repeat(k + 1)));

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mesgw-zip64-'));
  database = await openDatabase({ databaseUrl: await createTestDatabase(), dataDir: dir, poolSize: 4 });
  const pool = database.pool;
  const ins = makeTestIns(6401);
  patientId = crypto.randomUUID();
  await pool.query(`INSERT INTO patients (id, ins, state, identity) VALUES ($1, $2, 'active', $3)`, [
    patientId,
    ins,
    sealValue(keyring, { familyName: 'TEST-ZIP' }, `patient-identity:${ins}`),
  ]);
  const blobs = new BlobStore(database.db, keyring, 64 * 1024);
  const blobIds: string[] = [];
  for (const c of contents) {
    const stored = await blobs.write(Readable.from([c]), 'document');
    await blobs.persistNow(stored);
    blobIds.push(stored.blobId);
  }
  for (let start = 0; start < COUNT; start += 5000) {
    const n = Math.min(5000, COUNT - start);
    const ids = Array.from({ length: n }, () => crypto.randomUUID());
    const k = (i: number) => (start + i) % contents.length;
    // Every 1000th title repeats the previous one: numbered names ("… (2).txt") are part of the count.
    const title = (i: number) => `Résultat ${String(start + i - ((start + i) % 1000 === 999 ? 1 : 0)).padStart(5, '0')}`;
    await pool.query(
      `INSERT INTO documents (id, patient_id, blob_id, rubric, meta, media_type, size, sha256, author_kind, origin_kind, created_at)
       SELECT id, $2::uuid, blob, 'autres-documents', meta, 'text/plain', size, 'x', 'professional', 'upload', now() - make_interval(secs => seq)
       FROM unnest($1::uuid[], $3::uuid[], $4::bytea[], $5::bigint[], $6::int[]) AS t(id, blob, meta, size, seq)`,
      [
        ids,
        patientId,
        ids.map((_, i) => blobIds[k(i)]),
        ids.map((id, i) => sealValue(keyring, { filename: 'resultat.txt', title: title(i), declaredType: 'text/plain' }, documentContext(id))),
        ids.map((_, i) => contents[k(i)]!.length),
        ids.map((_, i) => start + i),
      ],
    );
  }
  await pool.query('ANALYZE documents'); // what autovacuum does after a bulk load: the page query plans on real statistics
}, 180_000);

afterAll(async () => {
  await database?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => yauzl.open(file, { lazyEntries: true, autoClose: false }, (err, zip) => (err ? reject(err) : resolve(zip!))));
}

function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    zip.openReadStream(entry, (err, stream) => {
      if (err) return reject(err);
      const parts: Buffer[] = [];
      stream!.on('data', (d: Buffer) => parts.push(d));
      stream!.on('end', () => resolve(Buffer.concat(parts)));
      stream!.on('error', reject);
    }),
  );
}

describe('the patient archive past 65 535 entries', () => {
  it('is streamed as ZIP64 and yauzl reads back every entry with its CRC', async () => {
    const file = path.join(dir, 'archive.zip');
    await pipeline(documentsArchive(database.db, keyring, new BlobStore(database.db, keyring, 64 * 1024), patientId), createWriteStream(file));

    // ZIP64: the classic end-of-central-directory record cannot count the entries and defers to the ZIP64 one.
    const bytes = await fs.readFile(file);
    const eocd = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    expect(eocd).toBeGreaterThan(0);
    expect(bytes.readUInt16LE(eocd + 10)).toBe(0xffff); // total entries: "see the ZIP64 record"
    const locator = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x07]));
    expect(locator).toBe(eocd - 20);
    const zip64End = Number(bytes.readBigUInt64LE(locator + 8));
    expect(bytes.readUInt32LE(zip64End)).toBe(0x06064b50);
    expect(Number(bytes.readBigUInt64LE(zip64End + 32))).toBe(COUNT); // total entries in the ZIP64 record

    const zip = await openZip(file);
    try {
      expect(zip.entryCount).toBe(COUNT);
      const names = new Set<string>();
      const wrong: string[] = [];
      const sample = new Map<string, yauzl.Entry>();
      await new Promise<void>((resolve, reject) => {
        zip.on('entry', (entry: yauzl.Entry) => {
          names.add(entry.fileName);
          const k = contents.findIndex((c) => c.length === entry.uncompressedSize);
          if (k < 0 || entry.crc32 !== zlib.crc32(contents[k]!) || entry.compressionMethod !== 0) wrong.push(entry.fileName);
          if (names.size <= 3 || names.size % 20_000 === 0 || names.size > COUNT - 3) sample.set(entry.fileName, entry);
          zip.readEntry();
        });
        zip.on('end', () => resolve());
        zip.on('error', reject);
        zip.readEntry();
      });
      expect(wrong).toEqual([]); // every entry: one of the four contents by size, its CRC, stored
      expect(names.size).toBe(COUNT); // unique names, numbered duplicates included
      expect(names.has('autres-documents/Résultat 00998 (2).txt')).toBe(true);
      expect(sample.size).toBeGreaterThanOrEqual(8);
      for (const [name, entry] of sample) {
        const data = await readEntry(zip, entry);
        expect(
          contents.some((c) => c.equals(data)),
          name,
        ).toBe(true);
        expect(zlib.crc32(data), name).toBe(entry.crc32);
      }
    } finally {
      zip.close();
    }
  }, 300_000);
});

describe('archive entry names', () => {
  it('numbers 20 000 documents of one title in linear time ("Résultats.pdf", "Résultats (2).pdf", …)', () => {
    const used = new Set<string>();
    const started = performance.now();
    const names = Array.from({ length: 20_000 }, () => archiveEntryName('resultats-de-biologie', { title: 'Résultats', filename: 'r.pdf' }, used));
    expect(performance.now() - started).toBeLessThan(5_000); // numbering by trial from 2 each time took minutes
    expect(names.slice(0, 3)).toEqual([
      'resultats-de-biologie/Résultats.pdf',
      'resultats-de-biologie/Résultats (2).pdf',
      'resultats-de-biologie/Résultats (3).pdf',
    ]);
    expect(names.at(-1)).toBe('resultats-de-biologie/Résultats (20000).pdf');
    expect(new Set(names).size).toBe(20_000);
    // a title that already looks numbered still gets a free name
    expect(archiveEntryName('resultats-de-biologie', { title: 'Résultats (2)', filename: 'r.pdf' }, used)).toBe('resultats-de-biologie/Résultats (20001).pdf');
  });
});
