/**
 * Documents deposited by an organisation with its IGC-Santé certificate (SPEC §6.3): a hospital's pre-admission
 * documents, an insurer's "historique des soins" or vaccination certificate. The organisation is the author
 * (author kind 'establishment' or 'insurer', its structure id in `author_organisation`).
 *
 * Guarantees:
 * - Each deposit carries an idempotency key, unique per organisation. The key's row is inserted in the same
 *   statement as the document, its activity event and the patient's notification: after a crash at any point
 *   either all four exist or none, so a retried batch files exactly what is missing and nothing twice.
 * - A key already used answers 'already-filed' with the first document's id when the retry carries the same
 *   content (SHA-256) for the same patient; with other content or another patient it is refused ('key-reused'),
 *   never silently mapped to a document the caller did not send.
 * - `checkDeposit` runs before any byte is stored: unknown, closed or opposed patients, a block of the
 *   establishment's FINESS, and documents outside ORGANISATION_DEPOSIT_GRID are refused without storing the
 *   file. Every refusal of a known patient is recorded in that patient's history, like a professional's.
 *   Refusals about the patient say only 'refused' (no oracle on who exists or what they chose).
 * - Two requests racing on one key: one files, the other finds the key at commit (unique violation) and answers
 *   'already-filed'; its stored blob is left unreferenced and collected by the orphan collector.
 */
import { and, eq, sql } from 'drizzle-orm';
import { organisationMayDeposit } from '../config/index.js';
import { cteStatement, schema, type Db } from '../db/index.js';
import { type DocumentToFile, fileDocument } from '../vault/index.js';
import { activityInsert, notifyPatientCte, type ActivityEvent, type ActivityKind } from './activity.js';
import { patientByIns, ProAccessRefused, type ProAccessDeps } from './professional-access.js';
import { blockRefusal, reasonText } from './rules/access-decision.js';
import type { OrganisationIdentity } from './rules/organisation.js';
import { accessSnapshot } from './settings.js';

export type DepositRefusal = 'refused' | 'grid' | 'key-reused';

export type DepositOutcome = { status: 'filed' | 'already-filed'; documentId: string } | { status: 'refused'; reason: DepositRefusal };

export interface PriorDeposit {
  documentId: string;
  ins: string;
  sha256: string;
}

/** The document an earlier request filed under this key, if any. */
export async function priorDeposit(db: Db, org: OrganisationIdentity, key: string): Promise<PriorDeposit | null> {
  const od = schema.organisationDeposits;
  const [row] = await db
    .select({ documentId: od.documentId, ins: schema.patients.ins, sha256: schema.documents.sha256 })
    .from(od)
    .innerJoin(schema.documents, eq(schema.documents.id, od.documentId))
    .innerJoin(schema.patients, eq(schema.patients.id, schema.documents.patientId))
    .where(and(eq(od.organisationId, org.structureId), eq(od.idempotencyKey, key)));
  return row ?? null;
}

/** What a retry with this key and content gets: the first document, or a refusal when the key meant another. */
export function retriedDeposit(prior: PriorDeposit, retry: { ins: string; sha256: string }): DepositOutcome {
  return prior.ins === retry.ins.trim() && prior.sha256 === retry.sha256
    ? { status: 'already-filed', documentId: prior.documentId }
    : { status: 'refused', reason: 'key-reused' };
}

function event(patientId: string, org: OrganisationIdentity, kind: ActivityKind, reason: string | null): ActivityEvent {
  return {
    patientId,
    kind,
    actor: org.structureId,
    actorKind: 'organisation',
    actorRpps: null,
    detail: { displayName: org.name, profession: null, organisation: org.name, reason },
  };
}

/**
 * Whether the organisation may deposit this document for this patient; the patient's id when it may. Checked
 * before the file is stored.
 */
export async function checkDeposit(
  deps: ProAccessDeps,
  org: OrganisationIdentity,
  ins: string,
  doc: { typeCode: string | null },
): Promise<{ ok: true; patientId: string } | { ok: false; outcome: DepositOutcome }> {
  let patientId: string;
  try {
    patientId = await patientByIns(deps.db, ins);
  } catch (err) {
    if (err instanceof ProAccessRefused) return { ok: false, outcome: { status: 'refused', reason: 'refused' } };
    throw err;
  }
  const settings = await accessSnapshot(deps.db, patientId);
  const blocked = blockRefusal(settings, { finess: org.finess });
  const allowed = organisationMayDeposit(org.kind, doc);
  if (blocked || !allowed) {
    const reason = blocked ? reasonText(blocked) : 'Dépôt refusé : ce type de document ne peut pas être déposé par cet organisme';
    const e = event(patientId, org, 'access-refused', reason);
    await deps.db.execute(
      cteStatement(
        [
          ['ae', activityInsert(deps.keyring, e)],
          ['np', notifyPatientCte(patientId)],
        ],
        sql`SELECT 1`,
      ),
    );
    return { ok: false, outcome: { status: 'refused', reason: blocked ? 'refused' : 'grid' } };
  }
  return { ok: true, patientId };
}

export interface OrganisationDocument extends DocumentToFile {
  key: string;
  hiddenFromPatient: boolean;
  /** Hidden until this date, then revealed by itself (scheduled-reveal.ts). */
  revealAt: Date | null;
}

/** Files a checked deposit with its key, activity event and notification in one statement. */
export async function fileDeposit(deps: ProAccessDeps, org: OrganisationIdentity, patientId: string, doc: OrganisationDocument): Promise<DepositOutcome> {
  const e = event(patientId, org, 'document-added', null);
  try {
    const documentId = await fileDocument(deps.db, deps.keyring, {
      patientId,
      rubric: doc.rubric,
      meta: { filename: doc.filename, title: doc.title, declaredType: doc.declaredType, typeCode: doc.typeCode, authorName: org.name },
      mediaType: doc.mediaType,
      stored: doc.stored,
      authorKind: org.kind,
      authorRpps: null,
      authorOrganisation: org.structureId,
      originKind: 'upload',
      hiddenFromPatient: doc.hiddenFromPatient,
      revealAt: doc.revealAt,
      extra: [
        ['od', sql`INSERT INTO organisation_deposits (organisation_id, idempotency_key, document_id) SELECT ${org.structureId}, ${doc.key}, id FROM doc`],
        ['ae', activityInsert(deps.keyring, e, new Date(), undefined, sql`(SELECT id FROM doc)`)],
        // A hidden document is announced when it is revealed, not before.
        ...(doc.hiddenFromPatient ? [] : [['np', notifyPatientCte(patientId)] as const]),
      ],
    });
    return { status: 'filed', documentId };
  } catch (err) {
    if (!isKeyClash(err)) throw err;
    const prior = await priorDeposit(deps.db, org, doc.key);
    if (!prior) throw err;
    const [p] = await deps.db.select({ ins: schema.patients.ins }).from(schema.patients).where(eq(schema.patients.id, patientId));
    return retriedDeposit(prior, { ins: p?.ins ?? '', sha256: doc.stored.sha256 });
  }
}

function isKeyClash(err: unknown): boolean {
  for (let e: unknown = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const x = e as { code?: string; constraint?: string; constraint_name?: string };
    if (x.code === '23505' && (x.constraint ?? x.constraint_name ?? '').startsWith('organisation_deposits')) return true;
  }
  return false;
}
