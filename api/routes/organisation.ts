/**
 * The organisation API (SPEC §6.3): hospital systems and the insurer, identified by their IGC-Santé organisation
 * certificate on the mutual-TLS listener (PRO_API_MTLS_PORT), deposit documents as the organisation.
 *
 * Identity: the TLS layer verifies the chain (and the CRLs); `requireOrganisation` then reads the structure id
 * from the verified subject (access/rules/organisation.ts). No certificate, an unverified one or one naming no
 * health organisation: 401/403 problem+json saying which, before any byte of the body is read.
 *
 * Bulk pre-admission, `POST /v1/organisation/documents`, multipart/form-data streamed part by part: each document
 * is a `document` field (JSON: key, ins, title, typeCode or rubric, hiddenFromPatient, revealAt) followed by its `file`
 * part. Nothing is held whole in memory: each file streams to the encrypted store as it arrives. The answer lists
 * one result per document, in order (filed / already-filed / refused / failed, with a code from DEPOSIT_RESULTS
 * and a reason), once the whole body is read. A document refused or failed never stops the batch; a crash or a
 * lost connection mid-batch leaves whole documents only, and resending the same batch files what is missing and
 * nothing twice (idempotency key per document: access/organisation-deposits.ts).
 */
import { createHash } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { pipeline } from 'node:stream/promises';
import { Writable, type Readable } from 'node:stream';
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import {
  checkDeposit,
  fileDeposit,
  isIdempotencyKey,
  organisationFromSubject,
  priorDeposit,
  revealDate,
  retriedDeposit,
  type DepositOutcome,
  type OrganisationIdentity,
} from '../../access/index.js';
import { describePeer } from '../../certs/index.js';
import { chosenRubric } from '../../config/index.js';
import { takeAttachment } from '../../vault/index.js';
import type { ApiContext } from '../context.js';
import { ProblemSchema } from '../problem.js';
import { problem } from '../problems.js';

/** Why a document of a batch was not filed: its code, whether a resend may succeed, and the reason given. */
export const DEPOSIT_RESULTS = {
  'invalid-metadata': {
    code: 'API-ORG-10',
    retry: false,
    detail: 'Métadonnées invalides : un champ `document` JSON avec key (1 à 200 caractères) et ins doit précéder chaque fichier.',
  },
  'missing-file': { code: 'API-ORG-11', retry: false, detail: 'Aucun fichier ne suit ces métadonnées.' },
  'unknown-rubric': { code: 'API-ORG-12', retry: false, detail: 'Rubrique inconnue.' },
  'too-large': { code: 'API-ORG-13', retry: false, detail: 'Le document dépasse la taille maximale.' },
  'type-refused': { code: 'API-ORG-14', retry: false, detail: "Ce type de fichier n'est pas accepté." },
  infected: { code: 'API-ORG-15', retry: false, detail: 'Le document contient un virus et a été refusé.' },
  'scanner-unavailable': {
    code: 'API-ORG-16',
    retry: true,
    detail: "L'analyse antivirus est indisponible ; renvoyez le lot plus tard (rien n'est classé en double).",
  },
  refused: { code: 'API-ORG-17', retry: false, detail: 'Accès refusé.' },
  grid: { code: 'API-ORG-18', retry: false, detail: 'Ce type de document ne peut pas être déposé par cet organisme (grille des dépôts).' },
  'key-reused': { code: 'API-ORG-19', retry: false, detail: "Cette clé d'idempotence a déjà servi pour un autre document." },
  'too-many-documents': { code: 'API-ORG-20', retry: false, detail: 'Trop de documents dans ce lot : envoyez le reste dans un autre lot.' },
  'empty-file': { code: 'API-ORG-21', retry: false, detail: 'Le fichier est vide.' },
  'invalid-reveal-date': {
    code: 'API-ORG-22',
    retry: false,
    detail: 'Date de mise à disposition refusée (revealAt) : une date (AAAA-MM-JJ) ou une date et heure ISO 8601 avec son fuseau, à venir, un an au plus.',
  },
} as const;

export type DepositProblem = keyof typeof DEPOSIT_RESULTS;

export interface DepositResult {
  index: number;
  key: string | null;
  status: 'filed' | 'already-filed' | 'refused' | 'failed';
  documentId: string | null;
  code: string | null;
  detail: string | null;
}

const ResultSchema = Type.Object({
  index: Type.Integer(),
  key: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal('filed'), Type.Literal('already-filed'), Type.Literal('refused'), Type.Literal('failed')]),
  documentId: Type.Union([Type.String(), Type.Null()]),
  code: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Union([Type.String(), Type.Null()]),
});

interface DocumentFields {
  key: string;
  ins: string;
  title: string | null;
  typeCode: string | null;
  rubric: string | null;
  hiddenFromPatient: boolean;
  /** As sent: checked against the clock when the document is deposited. */
  revealAt: string | null;
}

const optionalText = (v: unknown, max: number): string | null | undefined =>
  v === undefined || v === null ? null : typeof v === 'string' && v.length <= max ? v.trim() || null : undefined;

/**
 * The metadata of one document, or null when it is not what DEPOSIT_RESULTS['invalid-metadata'] describes. The
 * field is JSON text; @fastify/multipart has already parsed it when the part said `application/json`.
 */
export function parseDocumentFields(raw: unknown): DocumentFields | null {
  let v: unknown = raw;
  if (typeof raw === 'string') {
    try {
      v = JSON.parse(raw);
    } catch {
      return null;
    }
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  if (!isIdempotencyKey(o.key) || typeof o.ins !== 'string' || o.ins.length > 15) return null;
  const title = optionalText(o.title, 300);
  const typeCode = optionalText(o.typeCode, 64);
  const rubric = optionalText(o.rubric, 64);
  const revealAt = optionalText(o.revealAt, 40);
  if (title === undefined || typeCode === undefined || rubric === undefined || revealAt === undefined) return null;
  if (o.hiddenFromPatient !== undefined && typeof o.hiddenFromPatient !== 'boolean') return null;
  return { key: o.key, ins: o.ins, title, typeCode, rubric, hiddenFromPatient: o.hiddenFromPatient === true, revealAt };
}

/** The organisation the request's verified client certificate names; a problem otherwise. */
export function requireOrganisation(ctx: ApiContext, req: FastifyRequest): OrganisationIdentity {
  const peer = describePeer(req.raw.socket as TLSSocket);
  if (!peer) throw problem('organisationCertificateRequired');
  if (!peer.authorized) throw problem('organisationCertificateRefused', { detail: `Certificat refusé : ${peer.authorizationError ?? 'non vérifié'}.` });
  // The subject as written (describePeer's DN is normalised for comparisons, lower-cased).
  const subject = (req.raw.socket as TLSSocket).getPeerCertificate().subject as unknown as Record<string, string | string[] | undefined>;
  const values = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  const ou = values(subject?.OU);
  const o = values(subject?.O)[0] ?? null;
  const r = organisationFromSubject({ ou, o }, ctx.config.organisations.insurers);
  if (!r.ok) throw problem('organisationNotHealth', { detail: `Ce certificat ne désigne pas un organisme autorisé (${r.reason}).` });
  return r.organisation;
}

const result = (index: number, key: string | null, outcome: DepositOutcome): DepositResult =>
  outcome.status === 'refused'
    ? refusedResult(index, key, outcome.reason)
    : { index, key, status: outcome.status, documentId: outcome.documentId, code: null, detail: null };

function refusedResult(index: number, key: string | null, problem: DepositProblem): DepositResult {
  const p = DEPOSIT_RESULTS[problem];
  return { index, key, status: p.retry ? 'failed' : 'refused', documentId: null, code: p.code, detail: p.detail };
}

/** Reads a file part to its end without keeping it, returning its SHA-256 (a retried document is compared). */
async function hashAndDiscard(file: Readable): Promise<string> {
  const h = createHash('sha256');
  await pipeline(
    file,
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        h.update(chunk);
        cb();
      },
    }),
  );
  return h.digest('hex');
}

/** One document of a batch: its metadata (already parsed) and its file part, read to the end in every case. */
async function depositOne(ctx: ApiContext, org: OrganisationIdentity, index: number, fields: DocumentFields, part: MultipartFile): Promise<DepositResult> {
  const rubric = chosenRubric(fields);
  if (rubric === null) {
    part.file.resume();
    return refusedResult(index, fields.key, 'unknown-rubric');
  }
  const reveal = fields.revealAt === null ? null : revealDate(fields.revealAt, new Date(), ctx.config.limits.maxRevealDelayMs);
  if (reveal && !reveal.ok) {
    part.file.resume();
    return refusedResult(index, fields.key, 'invalid-reveal-date');
  }
  const prior = await priorDeposit(ctx.db, org, fields.key);
  if (prior) return result(index, fields.key, retriedDeposit(prior, { ins: fields.ins, sha256: await hashAndDiscard(part.file) }));
  const checked = await checkDeposit(ctx, org, fields.ins, { typeCode: fields.typeCode });
  if (!checked.ok) {
    part.file.resume();
    return result(index, fields.key, checked.outcome);
  }
  const intake = await takeAttachment(part.file, { declaredType: part.mimetype, filename: part.filename, maxZipBytes: 0 }, ctx);
  const refusal: DepositProblem | null = part.file.truncated
    ? 'too-large'
    : intake.stored.size === 0
      ? 'empty-file'
      : intake.sniff.verdict === 'refused'
        ? 'type-refused'
        : intake.scan.verdict === 'infected'
          ? 'infected'
          : intake.scan.verdict === 'error'
            ? 'scanner-unavailable'
            : null;
  // A refused file leaves only an unreferenced blob, which the orphan collector removes.
  if (refusal) return refusedResult(index, fields.key, refusal);
  const outcome = await fileDeposit(ctx, org, checked.patientId, {
    key: fields.key,
    stored: intake.stored,
    filename: part.filename,
    title: fields.title ?? part.filename,
    mediaType: intake.sniff.mediaType,
    declaredType: part.mimetype,
    rubric,
    typeCode: fields.typeCode,
    hiddenFromPatient: fields.hiddenFromPatient || reveal !== null,
    revealAt: reveal?.ok ? reveal.at : null,
  });
  if (outcome.status === 'filed') ctx.kickOutbox();
  return result(index, fields.key, outcome);
}

export const organisationRoutes =
  (ctx: ApiContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    const problems = { 401: ProblemSchema, 403: ProblemSchema };
    app.addHook('onRequest', async (req) => {
      (req as FastifyRequest & { organisation?: OrganisationIdentity }).organisation = requireOrganisation(ctx, req);
    });
    const orgOf = (req: FastifyRequest) => (req as FastifyRequest & { organisation: OrganisationIdentity }).organisation;

    app.get(
      '/v1/organisation',
      {
        schema: {
          tags: ['organisation'],
          summary: 'Who the client certificate identifies (a connection check for hospital IT teams)',
          response: {
            200: Type.Object({ structureId: Type.String(), kind: Type.String(), finess: Type.Union([Type.String(), Type.Null()]), name: Type.String() }),
            ...problems,
          },
        },
      },
      async (req) => orgOf(req),
    );

    app.post(
      '/v1/organisation/documents',
      {
        schema: {
          tags: ['organisation'],
          summary:
            'Deposit many documents for many patients (bulk pre-admission): multipart/form-data, for each document a `document` field (JSON {key, ins, title?, typeCode?, rubric?, hiddenFromPatient?, revealAt?}) then its `file` part; one result per document, in order; the idempotency key of each document makes a resent batch file nothing twice',
          consumes: ['multipart/form-data'],
          response: {
            200: Type.Object({
              results: Type.Array(ResultSchema),
              summary: Type.Object({ filed: Type.Integer(), alreadyFiled: Type.Integer(), refused: Type.Integer(), failed: Type.Integer() }),
            }),
            400: ProblemSchema,
            ...problems,
          },
        },
      },
      async (req) => {
        if (!req.isMultipart()) throw problem('organisationNotMultipart');
        const org = orgOf(req);
        const max = ctx.config.limits.organisationBatchMaxDocuments;
        const results: DepositResult[] = [];
        let pending: { fields: DocumentFields | null; index: number } | null = null;
        const close = () => {
          // Metadata with no file after it.
          if (pending)
            results.push(
              pending.fields ? refusedResult(pending.index, pending.fields.key, 'missing-file') : refusedResult(pending.index, null, 'invalid-metadata'),
            );
          pending = null;
        };
        for await (const part of req.parts()) {
          if (part.type === 'field') {
            close();
            if (part.fieldname !== 'document') continue;
            pending = { fields: parseDocumentFields(part.value), index: results.length };
            continue;
          }
          const index = pending?.index ?? results.length;
          const fields: DocumentFields | null = pending?.fields ?? null;
          pending = null;
          if (index >= max) {
            part.file.resume();
            results.push(refusedResult(index, fields?.key ?? null, 'too-many-documents'));
          } else if (!fields) {
            part.file.resume();
            results.push(refusedResult(index, null, 'invalid-metadata'));
          } else {
            results.push(await depositOne(ctx, org, index, fields, part));
          }
        }
        close();
        const count = (s: DepositResult['status']) => results.filter((r) => r.status === s).length;
        req.log.info({ organisation: org.structureId, documents: results.length, filed: count('filed') }, 'organisation batch');
        return { results, summary: { filed: count('filed'), alreadyFiled: count('already-filed'), refused: count('refused'), failed: count('failed') } };
      },
    );
  };
