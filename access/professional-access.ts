/**
 * Professionals' access to a patient's documents (SPEC §6.4), through the professional API.
 *
 * Every decision goes through `decideAccess` (one pure function) with the patient's settings read fresh; every
 * access and every refusal is recorded in the patient's activity history together with a (grouped)
 * notification, in the same statement as what it describes. Refusals never say whether the patient or the
 * document exists: the caller answers one generic 403 (ProAccessRefused).
 */
import type { Readable } from 'node:stream';
import { eq, sql } from 'drizzle-orm';
import { type Cte, type Db, cteStatement, schema } from '../db/index.js';
import {
  type BlobStore,
  type DocumentToFile,
  type Keyring,
  currentDocuments,
  documentCursor,
  documentById,
  documentContent,
  fileDocument,
  readMeta,
  summarizeDocument,
  type DocumentMeta,
  type DocumentSummary,
} from '../vault/index.js';
import { activityInsert, notifyPatientCte, type ActivityKind } from './activity.js';
import { revealCtes } from './scheduled-reveal.js';
import { blockRefusal, decideAccess, reasonText, type AccessDecision, type AccessRequest } from './rules/access-decision.js';
import { parseIns } from './rules/ins.js';
import { mailAcceptance, isProfileState } from './rules/profile-state.js';
import { accessSnapshot } from './settings.js';

export interface ProIdentity {
  rpps: string;
  profession: string;
  name: string | null;
  organisation: string | null;
  /** FINESS of the establishment the professional acts for, when the token says so. */
  finess: string | null;
}

export type Emergency = NonNullable<AccessRequest['emergency']>;

export class ProAccessRefused extends Error {
  constructor() {
    super('Accès refusé.');
    this.name = 'ProAccessRefused';
  }
}

export interface ProAccessDeps {
  db: Db;
  keyring: Keyring;
  blobs: BlobStore;
}

export async function patientByIns(db: Db, rawIns: string): Promise<string> {
  const parsed = parseIns(rawIns);
  if (!parsed.ok) throw new ProAccessRefused();
  const [p] = await db.select({ id: schema.patients.id, state: schema.patients.state }).from(schema.patients).where(eq(schema.patients.ins, parsed.ins));
  // Closed, opposed, pending or unknown: the same refusal, like SMTP (no oracle on the patient's choices).
  if (!p || !isProfileState(p.state) || mailAcceptance(p.state) !== 'accept') throw new ProAccessRefused();
  return p.id;
}

function event(
  patientId: string,
  pro: ProIdentity,
  kind: ActivityKind,
  documentId: string | null,
  decision: AccessDecision | null,
  emergency?: Emergency | null,
) {
  return {
    patientId,
    kind: decision?.allowed && decision.reason === 'emergency' ? ('emergency-access' as const) : kind,
    actor: pro.rpps,
    actorKind: 'professional' as const,
    actorRpps: pro.rpps,
    documentId,
    detail: {
      displayName: pro.name ?? 'Professionnel de santé',
      profession: pro.profession,
      organisation: pro.organisation,
      finess: pro.finess,
      reason: decision ? reasonText(decision) : null,
      justification: emergency?.justification ?? null,
    },
  };
}

/** Runs the CTEs of one professional action (its change, its history event, its notification) as one statement. */
async function record(deps: ProAccessDeps, ctes: Cte[]): Promise<void> {
  await deps.db.execute(cteStatement(ctes, sql`SELECT 1`));
}

function recordParts(deps: ProAccessDeps, e: ReturnType<typeof event>): Cte[] {
  return [
    ['ae', activityInsert(deps.keyring, e)],
    ['np', notifyPatientCte(e.patientId)],
  ];
}

/** Rows read per page while filtering by the access rules (a page of visible documents may need several). */
const SCAN_PAGE = 200;

/**
 * The documents the professional may see, newest first, `limit` at most, with the cursor of the next page (null
 * at the end). Pages are read from the patient's documents and filtered by `decideAccess`; the cursor marks the
 * last document looked at, so the next page goes on after it whether that one was visible or not.
 */
export async function listDocumentsForPro(
  deps: ProAccessDeps,
  pro: ProIdentity,
  ins: string,
  emergency: Emergency | null,
  limit: number,
  cursor?: string,
): Promise<{ items: DocumentSummary[]; next: string | null }> {
  const patientId = await patientByIns(deps.db, ins);
  const settings = await accessSnapshot(deps.db, patientId);
  const blocked = blockRefusal(settings, pro);
  if (blocked) {
    await record(deps, recordParts(deps, event(patientId, pro, 'access-refused', null, blocked)));
    throw new ProAccessRefused();
  }
  const visible: DocumentSummary[] = [];
  let lastDecision: AccessDecision | null = null;
  let at = cursor;
  let next: string | null = null;
  scan: for (;;) {
    const page = await currentDocuments(deps.db, patientId, { limit: SCAN_PAGE, includeHidden: true, cursor: at });
    for (const [k, r] of page.rows.entries()) {
      const meta = readMeta(deps.keyring, r);
      const d = decideAccess({
        professional: { rpps: pro.rpps, profession: pro.profession, finess: pro.finess },
        document: { authorRpps: r.authorRpps, masked: r.masked, maskedByAuthor: r.maskedByAuthor, typeCode: meta.typeCode ?? null, rubric: r.rubric },
        patientSettings: settings,
        emergency,
      });
      if (d.allowed) {
        lastDecision = d;
        visible.push(summarizeDocument(deps.keyring, r));
        if (visible.length >= limit) {
          // More may follow: after this row in this page, or in the next page.
          next = k < page.rows.length - 1 || page.next ? documentCursor(r) : null;
          break scan;
        }
      }
    }
    if (!page.next) break;
    at = page.next;
  }
  await record(deps, recordParts(deps, event(patientId, pro, 'document-listed', null, lastDecision, emergency)));
  return { items: visible, next };
}

export async function readDocumentForPro(
  deps: ProAccessDeps,
  pro: ProIdentity,
  ins: string,
  documentId: string,
  emergency: Emergency | null,
): Promise<{ meta: DocumentMeta; size: number; stream: Readable }> {
  const patientId = await patientByIns(deps.db, ins);
  const settings = await accessSnapshot(deps.db, patientId);
  const row = await documentById(deps.db, patientId, documentId);
  const meta = row ? readMeta(deps.keyring, row) : null;
  const d: AccessDecision = row
    ? decideAccess({
        professional: { rpps: pro.rpps, profession: pro.profession, finess: pro.finess },
        document: { authorRpps: row.authorRpps, masked: row.masked, maskedByAuthor: row.maskedByAuthor, typeCode: meta?.typeCode ?? null, rubric: row.rubric },
        patientSettings: settings,
        emergency,
      })
    : { allowed: false, reason: 'grid' };
  if (!row || !d.allowed) {
    await record(deps, recordParts(deps, event(patientId, pro, 'access-refused', row ? row.id : null, d, emergency)));
    throw new ProAccessRefused();
  }
  await record(deps, recordParts(deps, event(patientId, pro, 'document-read', row.id, d, emergency)));
  return { meta: meta!, size: row.size, stream: documentContent(deps.blobs, row) };
}

/**
 * A professional adds a document; with `replaces`, it becomes the new version of a document they authored (the
 * old one is superseded, not deleted: the version chain stays readable).
 */
export async function addDocumentForPro(
  deps: ProAccessDeps,
  pro: ProIdentity,
  ins: string,
  doc: DocumentToFile & { replaces: string | null; hiddenFromPatient?: boolean; revealAt?: Date | null },
): Promise<string> {
  const patientId = await patientByIns(deps.db, ins);
  const settings = await accessSnapshot(deps.db, patientId);
  const previous = doc.replaces ? await documentById(deps.db, patientId, doc.replaces) : null;
  const blocked = blockRefusal(settings, pro);
  if (blocked || (doc.replaces && (!previous || previous.authorRpps !== pro.rpps))) {
    await record(deps, recordParts(deps, event(patientId, pro, 'access-refused', previous?.id ?? null, blocked ?? { allowed: false, reason: 'grid' })));
    throw new ProAccessRefused();
  }
  // A reveal date implies hidden until then.
  const hidden = doc.hiddenFromPatient === true || doc.revealAt != null;
  const e = event(patientId, pro, 'document-added', null, null);
  return fileDocument(deps.db, deps.keyring, {
    hiddenFromPatient: hidden,
    revealAt: doc.revealAt ?? null,
    patientId,
    rubric: doc.rubric,
    meta: { filename: doc.filename, title: doc.title, declaredType: doc.declaredType, typeCode: doc.typeCode, authorName: pro.name },
    mediaType: doc.mediaType,
    stored: doc.stored,
    authorKind: 'professional',
    authorRpps: pro.rpps,
    originKind: 'upload',
    previousVersionId: previous?.id ?? null,
    extra: [
      ['ae', activityInsert(deps.keyring, e, new Date(), undefined, sql`(SELECT id FROM doc)`)],
      // A hidden document is announced when it is revealed, not before.
      ...(hidden ? [] : [['np', notifyPatientCte(patientId)] as const]),
      // A hidden new version supersedes the old one only when it is revealed: until then the patient keeps the old.
      ...(previous && !hidden ? [['sv', sql`UPDATE documents SET superseded_at = now() WHERE id = ${previous.id} AND superseded_at IS NULL`] as const] : []),
    ],
  });
}

/**
 * A professional masks, unmasks or deletes a document they authored; anything else is refused (generic 403). The
 * author's mask is its own flag: unmasking never lifts a mask the patient set.
 */
export async function changeOwnDocumentForPro(
  deps: ProAccessDeps,
  pro: ProIdentity,
  ins: string,
  documentId: string,
  change: { masked: boolean } | { deleted: true } | { revealed: true },
): Promise<void> {
  const patientId = await patientByIns(deps.db, ins);
  const settings = await accessSnapshot(deps.db, patientId);
  const row = await documentById(deps.db, patientId, documentId);
  const blocked = blockRefusal(settings, pro);
  if (!row || blocked || row.authorRpps !== pro.rpps) {
    await record(deps, recordParts(deps, event(patientId, pro, 'access-refused', row ? row.id : null, blocked ?? { allowed: false, reason: 'grid' })));
    throw new ProAccessRefused();
  }
  if ('revealed' in change) {
    // The announcement consultation took place: the patient sees the document, is told of it, and its history
    // shows both steps from now on. Revealing a visible document changes nothing and records nothing.
    if (!row.hiddenFromPatient) return;
    const e = event(patientId, pro, 'document-revealed', row.id, { allowed: true, reason: 'author' });
    await record(deps, revealCtes(deps.keyring, patientId, row.id, e));
    return;
  }
  const kind: ActivityKind = 'deleted' in change ? 'document-deleted' : 'document-masked';
  const e = event(patientId, pro, kind, row.id, { allowed: true, reason: 'author' });
  const update =
    'deleted' in change
      ? sql`UPDATE documents SET deleted_at = now() WHERE id = ${row.id}`
      : sql`UPDATE documents SET masked_by_author = ${change.masked} WHERE id = ${row.id}`; // the patient's own mask is the patient's
  await record(deps, [['up', update], ...recordParts(deps, e)]);
}
