/**
 * The patient's documents (SPEC §5): listing by rubric, reading (decrypted, streamed), masking, filing uploads.
 * Every query is scoped by patient; a document of another patient is "not found". Superseded versions, deleted
 * documents and documents hidden from the patient (until an announcement consultation) are not listed to the
 * patient. Filing writes the encrypted blob (chunked, outside) and then the document row in one statement.
 */
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { and, desc, eq, isNull, sql, type SQL } from 'drizzle-orm';
import {
  type Cte,
  type Db,
  type DocumentAuthorKind,
  type DocumentOriginKind,
  afterPosition,
  cteStatement,
  decodeCursor,
  encodeCursor,
  keysetAt,
  schema,
  rowsOf,
} from '../db/index.js';
import type { Keyring } from './keyring.js';
import { openValue, sealValue } from './envelope.js';
import { inlineBlobCtes, type BlobStore, type StoredBlob } from './blob-store.js';
import type { RubricId } from './rubrics.js';

export interface DocumentMeta {
  filename: string;
  title?: string;
  declaredType: string;
  typeCode?: string | null;
  classCode?: string | null;
  authorName?: string | null;
  cda?: Record<string, unknown> | null;
  /** For an attachment of a message: its MIME Content-ID, without angle brackets (absent on older rows). */
  contentId?: string | null;
}

export const documentContext = (documentId: string) => `document:${documentId}`;

export interface DocumentSummary {
  id: string;
  rubric: string;
  title: string;
  mediaType: string;
  size: number;
  /** Masked to professionals by the patient (the patient's toggle). */
  masked: boolean;
  /** Masked to professionals by the author (the patient cannot lift it). */
  maskedByAuthor: boolean;
  createdAt: string;
  author: { kind: string; displayName: string };
}

export interface DocumentRow {
  id: string;
  patientId: string;
  rubric: string;
  meta: Buffer;
  mediaType: string;
  size: number;
  masked: boolean;
  maskedByAuthor: boolean;
  authorKind: string;
  authorRpps: string | null;
  authorOrganisation: string | null;
  blobId: string;
  createdAt: Date;
  hiddenFromPatient: boolean;
  /** The version this one replaced (null for a first version). */
  previousVersionId: string | null;
  /** `createdAt` to the microsecond, as listing cursors keep it (db/keyset.ts). */
  keysetAt: string;
}

export function readMeta(keyring: Keyring, row: { id: string; meta: Buffer }): DocumentMeta {
  return openValue<DocumentMeta>(keyring, row.meta, documentContext(row.id));
}

export function summarizeDocument(keyring: Keyring, r: DocumentRow): DocumentSummary {
  const meta = readMeta(keyring, r);
  const displayName = r.authorKind === 'patient' ? 'Moi' : meta.authorName?.trim() || (AUTHOR_FALLBACK_NAME[r.authorKind] ?? 'Professionnel de santé');
  return {
    id: r.id,
    rubric: r.rubric,
    title: meta.title?.trim() || meta.filename,
    mediaType: r.mediaType,
    size: r.size,
    masked: r.masked,
    maskedByAuthor: r.maskedByAuthor,
    createdAt: r.createdAt.toISOString(),
    author: { kind: r.authorKind, displayName },
  };
}

const columns = {
  id: schema.documents.id,
  patientId: schema.documents.patientId,
  rubric: schema.documents.rubric,
  meta: schema.documents.meta,
  mediaType: schema.documents.mediaType,
  size: schema.documents.size,
  masked: schema.documents.masked,
  maskedByAuthor: schema.documents.maskedByAuthor,
  authorKind: schema.documents.authorKind,
  authorRpps: schema.documents.authorRpps,
  authorOrganisation: schema.documents.authorOrganisation,
  blobId: schema.documents.blobId,
  createdAt: schema.documents.createdAt,
  hiddenFromPatient: schema.documents.hiddenFromPatient,
  previousVersionId: schema.documents.previousVersionId,
  keysetAt: keysetAt(schema.documents.createdAt),
};

export class InvalidDocumentCursorError extends Error {}

/** The cursor that continues a newest-first listing after `row` (opaque to clients; db/keyset.ts). */
export function documentCursor(row: { keysetAt: string; id: string }): string {
  return encodeCursor('documents', { at: row.keysetAt, id: row.id });
}

/**
 * Current (not superseded, not deleted) documents of a patient, newest first, `limit` at most, and the cursor of
 * the next page. The cursor keeps the creation time to the microsecond: every attachment of one message is filed
 * at one transaction time, and a millisecond cursor skipped those at a page boundary.
 */
export async function currentDocuments(
  db: Db,
  patientId: string,
  opts: { rubric?: string; cursor?: string; limit: number; includeHidden: boolean },
): Promise<{ rows: DocumentRow[]; next: string | null }> {
  const d = schema.documents;
  const conds: SQL[] = [eq(d.patientId, patientId), isNull(d.deletedAt), isNull(d.supersededAt)];
  if (!opts.includeHidden) conds.push(eq(d.hiddenFromPatient, false));
  if (opts.rubric) conds.push(eq(d.rubric, opts.rubric));
  if (opts.cursor) {
    const pos = decodeCursor('documents', opts.cursor);
    if (!pos) throw new InvalidDocumentCursorError('invalid cursor');
    conds.push(afterPosition(d.createdAt, d.id, pos, 'desc'));
  }
  const rows = await db
    .select(columns)
    .from(d)
    .where(and(...conds))
    .orderBy(desc(d.createdAt), desc(d.id))
    .limit(opts.limit + 1);
  const page = rows.slice(0, opts.limit);
  const last = page[page.length - 1];
  const next = rows.length > opts.limit && last ? documentCursor(last) : null;
  return { rows: page, next };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function documentById(db: Db, patientId: string, id: string): Promise<DocumentRow | null> {
  if (!UUID.test(id)) return null;
  const d = schema.documents;
  const [r] = await db
    .select(columns)
    .from(d)
    .where(and(eq(d.id, id), eq(d.patientId, patientId), isNull(d.deletedAt)));
  return r ?? null;
}

/** Versions kept in one chain at most (a chain is one document replaced again and again by its author). */
const MAX_VERSIONS = 100;

/**
 * Every version of a document (the one given, the ones it replaced and the ones that replaced it), newest first,
 * each with `current` true for the version in force; null when the document is not the patient's. Deleted
 * versions are left out, and so are versions hidden from the patient when `includeHidden` is false.
 */
export async function documentVersions(
  db: Db,
  keyring: Keyring,
  patientId: string,
  id: string,
  opts: { includeHidden: boolean },
): Promise<(DocumentSummary & { current: boolean })[] | null> {
  const start = await documentById(db, patientId, id);
  if (!start || (!opts.includeHidden && start.hiddenFromPatient)) return null;
  const res = (await db.execute(sql`
    WITH RECURSIVE back(id, previous_version_id, n) AS (
        SELECT id, previous_version_id, 1 FROM documents WHERE id = ${id}::uuid AND patient_id = ${patientId}::uuid
        UNION ALL SELECT d.id, d.previous_version_id, b.n + 1 FROM documents d JOIN back b ON d.id = b.previous_version_id
         WHERE d.patient_id = ${patientId}::uuid AND b.n < ${MAX_VERSIONS}),
      fwd(id, n) AS (
        SELECT id, 1 FROM documents WHERE id = ${id}::uuid AND patient_id = ${patientId}::uuid
        UNION ALL SELECT d.id, f.n + 1 FROM documents d JOIN fwd f ON d.previous_version_id = f.id
         WHERE d.patient_id = ${patientId}::uuid AND f.n < ${MAX_VERSIONS})
    SELECT id FROM back UNION SELECT id FROM fwd`)) as unknown;
  const ids = rowsOf<{ id: string }>(res).map((r) => r.id);
  const d = schema.documents;
  const rows = await db
    .select({ ...columns, supersededAt: d.supersededAt })
    .from(d)
    .where(
      and(
        eq(d.patientId, patientId),
        isNull(d.deletedAt),
        sql`${d.id} = ANY(${sql.param(ids)}::uuid[])`,
        opts.includeHidden ? sql`true` : eq(d.hiddenFromPatient, false),
      ),
    )
    .orderBy(desc(d.createdAt));
  return rows.map((r) => ({ ...summarizeDocument(keyring, r), current: r.supersededAt === null }));
}

export function documentContent(blobs: BlobStore, row: DocumentRow): Readable {
  return blobs.read(row.blobId);
}

export async function setDocumentMasked(db: Db, patientId: string, id: string, masked: boolean): Promise<boolean> {
  if (!UUID.test(id)) return false;
  const d = schema.documents;
  const res = await db
    .update(d)
    .set({ masked })
    .where(and(eq(d.id, id), eq(d.patientId, patientId), isNull(d.deletedAt)))
    .returning({ id: d.id });
  return res.length === 1;
}

export type { DocumentAuthorKind, DocumentOriginKind } from '../db/index.js';

/** The author's name shown when the document carries none, per kind. */
const AUTHOR_FALLBACK_NAME: Readonly<Record<string, string>> = {
  insurer: 'Assurance maladie',
  establishment: 'Établissement de santé',
  professional: 'Professionnel de santé',
};

/** A vetted file ready to be filed as a document (by a message's delivery, a professional, an organisation). */
export interface DocumentToFile {
  stored: StoredBlob;
  filename: string;
  title: string;
  mediaType: string;
  declaredType: string;
  rubric: RubricId;
  typeCode: string | null;
}

export interface NewDocument {
  patientId: string;
  rubric: RubricId;
  meta: DocumentMeta;
  mediaType: string;
  stored: StoredBlob;
  authorKind: DocumentAuthorKind;
  authorRpps: string | null;
  /** The depositing organisation's structure id (establishment or insurer with its certificate). */
  authorOrganisation?: string | null;
  originKind: DocumentOriginKind;
  /** The document this one replaces (version chain). */
  previousVersionId?: string | null;
  /** Hidden from the patient until its author reveals it (the announcement consultation, SPEC §5). */
  hiddenFromPatient?: boolean;
  /** When a hidden document becomes visible by itself (access/scheduled-reveal.ts); only with hiddenFromPatient. */
  revealAt?: Date | null;
  /**
   * Extra CTEs committed with the document (activity, notification); they may use `doc`. Their names must differ
   * from `doc`, `ub` and `uc` (db/cte.ts refuses a clash).
   */
  extra?: Cte[];
}

/** Files a document whose blob is already written (or inline); one statement. Returns its id. */
export async function fileDocument(db: Db, keyring: Keyring, n: NewDocument): Promise<string> {
  const id = crypto.randomUUID();
  const ctes: Cte[] = [
    ...(n.stored.inline ? inlineBlobCtes(n.stored.inline, 'u') : []),
    [
      'doc',
      sql`INSERT INTO documents (id, patient_id, blob_id, rubric, meta, media_type, size, sha256, author_kind, author_rpps, author_organisation, origin_kind, previous_version_id, hidden_from_patient, reveal_at)
               VALUES (${id}, ${n.patientId}, ${n.stored.blobId}, ${n.rubric}, ${sealValue(keyring, n.meta, documentContext(id))}, ${n.mediaType},
                       ${n.stored.size}, ${n.stored.sha256}, ${n.authorKind}, ${n.authorRpps}, ${n.authorOrganisation ?? null}, ${n.originKind}, ${n.previousVersionId ?? null}, ${n.hiddenFromPatient === true}, ${n.hiddenFromPatient === true && n.revealAt ? n.revealAt.toISOString() : null}::timestamptz) RETURNING id`,
    ],
    ...(n.extra ?? []),
  ];
  await db.execute(cteStatement(ctes, sql`SELECT 1`));
  return id;
}

/** Deletes (softly) a document the patient uploaded; documents from professionals are not the patient's to delete. */
export async function deleteOwnUpload(db: Db, patientId: string, id: string): Promise<'deleted' | 'not-found' | 'not-own'> {
  const row = await documentById(db, patientId, id);
  if (!row) return 'not-found';
  if (row.authorKind !== 'patient') return 'not-own';
  await db
    .update(schema.documents)
    .set({ deletedAt: sql`now()` })
    .where(eq(schema.documents.id, id));
  return 'deleted';
}

/** Files a document under another rubric (e.g. a message attachment the patient classifies). */
export async function setDocumentRubric(db: Db, patientId: string, id: string, rubric: RubricId): Promise<boolean> {
  if (!UUID.test(id)) return false;
  const d = schema.documents;
  const res = await db
    .update(d)
    .set({ rubric })
    .where(and(eq(d.id, id), eq(d.patientId, patientId), isNull(d.deletedAt)))
    .returning({ id: d.id });
  return res.length === 1;
}
