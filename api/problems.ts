/**
 * Every problem the API answers, in one table: HTTP status, stable code (API-xxx, searchable by support), English
 * title, the French detail shown to the patient, and when it is sent. Routes throw a problem by its name
 * (`problem('messageNotFound')`); domain errors carry their reason (PatientAccessError, SendRefusedError,
 * InvalidCursorError, ProAccessRefused...) and `problemOf` maps them here, so a status or a code is written
 * once. The README's table of problem codes is generated from this list (`problemsTable`), like the SMTP replies
 * (gateway/ingress/replies.ts), so the two never drift; tests/docs/readme.test.ts checks it.
 *
 * Guarantees: codes are unique (tests/api/problems.test.ts); a detail never carries health data nor whether a
 * patient or a document exists where that must not leak (one refusal per form, one 403 for professionals);
 * anything `problemOf` does not know is the 500 `API-INTERNAL`, without internals.
 */
import type { FastifyError } from 'fastify';
import {
  PatientAccessError,
  ProAccessRefused,
  type PatientAccessRefusal,
  type RevealDateRefusal,
  type SettingsRefusal,
  type TransitionResult,
} from '../access/index.js';
import type { CursorList } from '../db/index.js';
import { InvalidCursorError, SendRefusedError, type SendRefusal } from '../mailbox/index.js';
import { InvalidDocumentCursorError } from '../vault/index.js';
import { ApiProblem, type ProblemDef } from './problem.js';

const p = (status: number, code: string, title: string, detail: string | null, when: string, detailFrom?: string): ProblemDef => ({
  status,
  code,
  title,
  detail,
  when,
  ...(detailFrom ? { detailFrom } : {}),
});

const INVALID_CURSOR = 'Curseur de pagination invalide.';
const UNKNOWN_RUBRIC = 'Rubrique inconnue.';
/** One text per form for every refusal, whatever the reason (wrong code, unknown INS, state): nothing about the profile leaks. */
const CHECK_IDENTITY = 'vérifiez votre identifiant, votre code provisoire et votre date de naissance';

export const PROBLEMS = {
  // Sessions, CSRF, abuse limits (api/routes/session-auth.ts, api/rate-limit.ts)
  sessionRequired: p(
    401,
    'API-AUTH-01',
    'Not authenticated',
    'Votre session a expiré. Reconnectez-vous.',
    'no live patient session (none, unknown, revoked, expired)',
  ),
  csrfRefused: p(
    403,
    'API-CSRF-01',
    'CSRF token missing or invalid',
    'La requête a été refusée par sécurité. Rechargez la page puis réessayez.',
    'a session cookie on a method other than GET/HEAD without its X-CSRF-Token',
  ),
  rateLimited: p(
    429,
    'API-RATE-01',
    'Too many requests',
    'Trop de demandes. Réessayez dans quelques instants.',
    'a rate limit of config/limits.ts is reached (Retry-After)',
  ),
  notificationUnavailable: p(
    503,
    'API-NOTIFY-01',
    'Notification unavailable',
    "L'envoi du code a échoué. Réessayez dans quelques minutes.",
    'the one-time login code could not be e-mailed',
  ),
  // The patient's account (PatientAccessError reasons, access/patients.ts and access/account.ts)
  patientInvalidCredentials: p(
    401,
    'API-PATIENT-INVALID-CREDENTIALS',
    'Invalid credentials',
    'Identifiant ou mot de passe incorrect.',
    'login: wrong password, unknown INS or profile not active (one answer)',
  ),
  patientThrottled: p(
    429,
    'API-PATIENT-THROTTLED',
    'Too many attempts',
    'Trop de tentatives. Réessayez plus tard.',
    'too many failures from this client address for this INS (Retry-After, growing)',
  ),
  patientChallengesPending: p(
    429,
    'API-PATIENT-CHALLENGES-PENDING',
    'Login codes pending',
    'Des codes de connexion vous ont déjà été envoyés. Utilisez le dernier reçu, ou réessayez dans quelques minutes.',
    'LIMIT_LOGIN_MAX_LIVE_CHALLENGES codes are already pending (Retry-After)',
  ),
  patientBusy: p(
    503,
    'API-PATIENT-BUSY',
    'Busy',
    'Le service est très sollicité. Réessayez dans quelques secondes.',
    'the password-hashing queue of this process is full (Retry-After)',
  ),
  patientActivationRefused: p(
    400,
    'API-PATIENT-ACTIVATION-REFUSED',
    'Activation refused',
    'Activation impossible : vérifiez votre code provisoire et votre date de naissance.',
    'activation: wrong code or birth date, unknown INS, profile not activable (one answer)',
  ),
  patientOppositionRefused: p(
    400,
    'API-PATIENT-OPPOSITION-REFUSED',
    'Opposition refused',
    `Opposition impossible : ${CHECK_IDENTITY}. Après les 6 semaines, fermez votre profil depuis « Mon profil ».`,
    'opposition: wrong code or birth date, unknown INS, profile not pending (one answer)',
  ),
  patientResetRefused: p(
    400,
    'API-PATIENT-RESET-REFUSED',
    'Password reset refused',
    `Changement du mot de passe impossible : ${CHECK_IDENTITY}. Un code reçu par e-mail ne sert qu’une fois, et peu de temps.`,
    'forgotten password: any refusal (one answer)',
  ),
  patientReactivationRefused: p(
    400,
    'API-PATIENT-REACTIVATION-REFUSED',
    'Reactivation refused',
    `Réouverture impossible : ${CHECK_IDENTITY}.`,
    'reopening a closed or opposed profile: any refusal (one answer)',
  ),
  patientPasswordRefused: p(
    400,
    'API-PATIENT-PASSWORD-REFUSED',
    'Current password refused',
    'Votre mot de passe actuel est incorrect.',
    'password change: the current password is wrong (throttled like a login)',
  ),
  patientWeakPassword: p(
    400,
    'API-PATIENT-WEAK-PASSWORD',
    'Weak password',
    null,
    'a new password breaks the password policy',
    'the rule it breaks (access/rules/secrets.ts)',
  ),
  patientInvalidCode: p(401, 'API-PATIENT-INVALID-CODE', 'Invalid code', 'Code incorrect ou expiré.', 'login: wrong, used or expired one-time code'),
  // The mailbox (api/routes/mailbox.ts)
  messageNotFound: p(404, 'API-MSG-01', 'Not found', 'Message introuvable.', "not one of the patient's messages (or deleted)"),
  messagesInvalidCursor: p(400, 'API-MSG-02', 'Invalid cursor', INVALID_CURSOR, 'a messages cursor that is malformed or of another list'),
  attachmentNotFound: p(404, 'API-MSG-03', 'Not found', 'Pièce jointe introuvable.', 'not an attachment of that message'),
  contactsInvalidCursor: p(400, 'API-MSG-04', 'Invalid cursor', INVALID_CURSOR, 'a contacts cursor that is malformed or of another list'),
  threadInvalidCursor: p(400, 'API-MSG-05', 'Invalid cursor', INVALID_CURSOR, 'a thread cursor that is malformed or of another list'),
  sendRefused: p(
    403,
    'API-SEND-01',
    'Not allowed',
    null,
    'a mailbox rule refuses the reply or the new message',
    "the rule's sentence (mailbox/rules/sentences.ts)",
  ),
  sendDocumentNotFound: p(
    404,
    'API-SEND-02',
    'Not found',
    null,
    "a documentIds entry is not one of the patient's visible documents",
    'mailbox/rules/sentences.ts documentNotFound',
  ),
  sendTooLarge: p(413, 'API-SEND-03', 'Too large', null, 'the documents of a message exceed 5 MB in total', 'mailbox/rules/sentences.ts attachmentsTooLarge'),
  sendDocumentInvalidId: p(400, 'API-SEND-04', 'Invalid request', null, 'a documentIds entry is not a UUID', 'mailbox/rules/sentences.ts documentIdInvalid'),
  sendDocumentDeleted: p(410, 'API-SEND-05', 'Gone', null, 'a documentIds entry is a deleted document', 'mailbox/rules/sentences.ts documentDeleted'),
  sendProfileNotFound: p(404, 'API-SEND-06', 'Not found', null, "the sending patient's profile no longer exists", 'mailbox/rules/sentences.ts profileNotFound'),
  // Documents and uploads (api/routes/documents.ts, api/routes/upload.ts)
  documentNotFound: p(404, 'API-DOC-01', 'Not found', 'Document introuvable.', "not one of the patient's documents (or hidden from them)"),
  unknownRubric: p(400, 'API-DOC-02', 'Unknown rubric', UNKNOWN_RUBRIC, 'a rubric that is not one of GET /v1/rubrics'),
  documentsInvalidCursor: p(400, 'API-DOC-03', 'Invalid cursor', INVALID_CURSOR, 'a documents cursor that is malformed or of another list'),
  noteMarkup: p(
    400,
    'API-DOC-04',
    'Markup in a note',
    'Une note ne peut pas contenir de balises HTML.',
    'a note holds markup (active content, refused as in uploads)',
  ),
  noteEmpty: p(400, 'API-DOC-05', 'Empty note', 'La note doit avoir un titre et un texte.', 'a note whose title or text is only white space'),
  documentNotOwn: p(
    403,
    'API-DOC-06',
    'Not allowed',
    'Seuls les documents que vous avez ajoutés peuvent être supprimés.',
    'deleting a document the patient did not upload',
  ),
  uploadTooLarge: p(413, 'API-UPLOAD-01', 'Document too large', 'Le document est trop volumineux.', 'the file part exceeds LIMIT_MAX_MESSAGE_BYTES'),
  uploadMissingFile: p(400, 'API-UPLOAD-02', 'A file part is required', 'Aucun fichier reçu.', 'no file part, or an empty one'),
  uploadTypeRefused: p(
    415,
    'API-UPLOAD-03',
    'Refused document type',
    "Ce type de fichier n'est pas accepté.",
    'an executable or an unknown binary (media-type sniffing)',
  ),
  uploadInfected: p(415, 'API-UPLOAD-04', 'Infected document', 'Le document contient un virus et a été refusé.', 'the virus scanner found something'),
  uploadScannerUnavailable: p(
    503,
    'API-UPLOAD-05',
    'Scanner unavailable',
    "L'analyse antivirus est indisponible ; réessayez plus tard.",
    'the virus scanner is down: nothing is filed unscanned',
  ),
  // « Qui voit quoi » and the profile (api/routes/access.ts, api/routes/documents.ts)
  professionalNotBlocked: p(404, 'API-ACCESS-01', 'Not found', "Ce professionnel n'est pas bloqué.", 'unblocking a professional who is not blocked'),
  administratorUnknown: p(
    409,
    'API-ACCESS-02',
    'Not allowed',
    'Le médecin administrateur doit être un professionnel qui a déjà accédé à votre profil.',
    'the administrator doctor never acted on the record',
  ),
  closeNotAllowed: p(409, 'API-ACCESS-03', 'Not allowed', 'La fermeture est impossible dans cet état.', 'closing a profile the lifecycle does not let close'),
  finessInvalid: p(
    400,
    'API-ACCESS-04',
    'Invalid FINESS',
    'Le numéro FINESS doit comporter 9 caractères : des chiffres, ou 2A / 2B suivis de 7 chiffres pour la Corse.',
    'a malformed FINESS',
  ),
  establishmentNotBlocked: p(404, 'API-ACCESS-05', 'Not found', "Cet établissement n'est pas bloqué.", 'unblocking an establishment that is not blocked'),
  emergencyAllowedReplaced: p(
    400,
    'API-ACCESS-06',
    'emergencyAllowed is replaced',
    "Ce réglage est remplacé par deux réglages distincts : l'accès par le médecin régulateur du SAMU (samuRegulatorAllowed) et le bris de glace (breakGlassAllowed).",
    'the old single emergencyAllowed setting is sent',
  ),
  // Professionals (api/routes/professional.ts)
  proTokenRequired: p(401, 'API-PRO-01', 'Bearer token required', null, 'no bearer token'),
  proTokenInvalid: p(
    401,
    'API-PRO-02',
    'Invalid token',
    null,
    'the token does not verify (signature, issuer, audience, lifetime, claims)',
    'why (access/pro-auth)',
  ),
  proRefused: p(
    403,
    'API-PRO-03',
    'Forbidden',
    'Accès refusé.',
    'any refusal: unknown or closed patient, blocked, masked, the grid (one answer, recorded in the history)',
  ),
  proUnknownRubric: p(400, 'API-PRO-06', 'Unknown rubric', UNKNOWN_RUBRIC, 'a rubric, or the rubric of a typeCode, that is not one of GET /v1/rubrics'),
  proInvalidCursor: p(400, 'API-PRO-07', 'Invalid cursor', INVALID_CURSOR, 'a documents cursor that is malformed or of another list'),
  proRevealDateInvalid: p(
    400,
    'API-PRO-08',
    'Invalid reveal date',
    null,
    'revealAt is unreadable, past or more than LIMIT_MAX_REVEAL_DELAY_MS ahead',
    'which of the three, REVEAL_DATE_REFUSALS below',
  ),
  // Organisations (api/routes/organisation.ts; per-document results: DEPOSIT_RESULTS there)
  organisationCertificateRequired: p(
    401,
    'API-ORG-01',
    'Organisation certificate required',
    "Présentez le certificat IGC-Santé de l'organisation (TLS mutuel).",
    'no client certificate on the organisation listener',
  ),
  organisationCertificateRefused: p(
    401,
    'API-ORG-02',
    'Certificate not accepted',
    null,
    'the certificate does not verify (chain, validity, CRL)',
    'Certificat refusé : <the TLS reason>.',
  ),
  organisationNotHealth: p(
    403,
    'API-ORG-03',
    'Not a health organisation',
    null,
    'the certificate names no FINESS establishment nor a listed insurer',
    'Ce certificat ne désigne pas un organisme autorisé (<why>).',
  ),
  organisationNotMultipart: p(
    400,
    'API-ORG-04',
    'multipart/form-data expected',
    'Envoyez le lot en multipart/form-data.',
    'a batch that is not multipart/form-data',
  ),
  // Operator (api/routes/admin.ts)
  adminTokenRequired: p(401, 'API-ADMIN-01', 'Operator token required', null, 'no or a wrong operator token'),
  adminPatientsCsvInvalid: p(
    422,
    'API-ADMIN-02',
    'Invalid CSV',
    null,
    'a patients CSV with bad lines (nothing imported; every line with its reason in `errors`)',
  ),
  adminDirectoryCsvInvalid: p(
    422,
    'API-ADMIN-03',
    'Invalid CSV',
    null,
    'a directory CSV with bad lines (nothing imported; every line with its reason in `errors`)',
  ),
  adminUnknownProfile: p(404, 'API-ADMIN-04', 'Unknown profile', null, 'no profile with that INS'),
  adminTransitionRefused: p(409, 'API-ADMIN-05', 'Transition not allowed', null, 'the lifecycle does not allow that change'),
  // Anything else
  validation: p(400, 'API-VALIDATION', 'Invalid request', null, 'the request does not match the route schema', "fastify's message"),
  httpError: p(
    400,
    'API-HTTP-4xx',
    'Request error',
    null,
    'any other 4xx fastify answers by itself, the status in the code (API-HTTP-413, API-HTTP-415...)',
    "fastify's message",
  ),
  notFound: p(404, 'API-NOT-FOUND', 'Not found', null, 'no such route'),
  internal: p(
    500,
    'API-INTERNAL',
    'Internal error',
    'Une erreur interne est survenue. Réessayez plus tard.',
    'anything unexpected (logged with the request id)',
  ),
} as const satisfies Record<string, ProblemDef>;

export type ProblemName = keyof typeof PROBLEMS;

/** The problem `name`, to throw; `detail` replaces the table's (a reason the thrower knows), `headers` go with it. */
export function problem(name: ProblemName, opts: { detail?: string; headers?: Record<string, string> } = {}): ApiProblem {
  return new ApiProblem(PROBLEMS[name], opts);
}

const PATIENT_REFUSALS: Readonly<Record<PatientAccessRefusal, ProblemName>> = {
  'invalid-credentials': 'patientInvalidCredentials',
  throttled: 'patientThrottled',
  'challenges-pending': 'patientChallengesPending',
  busy: 'patientBusy',
  'activation-refused': 'patientActivationRefused',
  'opposition-refused': 'patientOppositionRefused',
  'reset-refused': 'patientResetRefused',
  'reactivation-refused': 'patientReactivationRefused',
  'password-refused': 'patientPasswordRefused',
  'weak-password': 'patientWeakPassword',
  'invalid-code': 'patientInvalidCode',
};

const SEND_REFUSALS: Readonly<Record<SendRefusal, ProblemName>> = {
  'not-answerable': 'sendRefused',
  'not-writable': 'sendRefused',
  'document-invalid-id': 'sendDocumentInvalidId',
  'document-not-found': 'sendDocumentNotFound',
  'document-deleted': 'sendDocumentDeleted',
  'too-large': 'sendTooLarge',
  'message-not-found': 'messageNotFound',
  'profile-not-found': 'sendProfileNotFound',
};

/** A patient's listing cursor refused, by list (the professional listing answers proInvalidCursor itself). */
const CURSOR_REFUSALS: Readonly<Record<CursorList, ProblemName>> = {
  messages: 'messagesInvalidCursor',
  contacts: 'contactsInvalidCursor',
  thread: 'threadInvalidCursor',
  documents: 'documentsInvalidCursor',
};

/** Refusals the domain returns rather than throws, by reason: the route throws `problem(MAP[reason])`. */
export const SETTINGS_REFUSALS: Readonly<Record<SettingsRefusal, ProblemName>> = { 'administrator-never-accessed': 'administratorUnknown' };

/** An operator's change of a profile state refused (access/lifecycle.ts). */
export const ADMIN_TRANSITION_REFUSALS: Readonly<Record<Extract<TransitionResult, { ok: false }>['reason'], ProblemName>> = {
  unknown: 'adminUnknownProfile',
  'not-allowed': 'adminTransitionRefused',
};

/** The detail of proRevealDateInvalid, by the reason access/rules/reveal.ts gives. */
export const REVEAL_DATE_REFUSALS: Readonly<Record<RevealDateRefusal, string>> = {
  invalid: 'Date de mise à disposition illisible : une date (AAAA-MM-JJ) ou une date et heure ISO 8601 avec son fuseau.',
  past: 'La date de mise à disposition est déjà passée.',
  'too-far': 'La date de mise à disposition est trop lointaine (un an au plus).',
};

const retryAfter = (ms: number | undefined) => (ms === undefined ? undefined : { 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))) });

/** What fastify itself refuses (schema validation, body too large, bad content type...). */
function fastifyProblem(err: FastifyError): ApiProblem | null {
  if (err.validation) return problem('validation', { detail: err.message });
  const status = err.statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return null;
  return new ApiProblem({ ...PROBLEMS.httpError, status, code: `API-HTTP-${status}`, title: err.code ?? PROBLEMS.httpError.title }, { detail: err.message });
}

/** The problem an error stands for: a thrown problem, a domain refusal by its reason, fastify's own; null when unexpected (500). */
export function problemOf(err: unknown): ApiProblem | null {
  if (err instanceof ApiProblem) return err;
  if (err instanceof PatientAccessError) return problem(PATIENT_REFUSALS[err.reason], { detail: err.detail, headers: retryAfter(err.retryAfterMs) });
  if (err instanceof SendRefusedError) return problem(SEND_REFUSALS[err.reason], { detail: err.message });
  if (err instanceof InvalidCursorError) return problem(CURSOR_REFUSALS[err.list]);
  if (err instanceof InvalidDocumentCursorError) return problem('documentsInvalidCursor');
  if (err instanceof ProAccessRefused) return problem('proRefused');
  if (err instanceof Error) return fastifyProblem(err as FastifyError);
  return null;
}

const cell = (v: string) => v.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The README's table of every problem code (generated: `npm run cli -- docs`). */
export function problemsTable(): string {
  const lines = ['| status | code | title | detail (French, shown to the patient) | when |', '|---|---|---|---|---|'];
  for (const d of Object.values(PROBLEMS) as ProblemDef[]) {
    const detail = d.detail !== null ? cell(d.detail) : d.detailFrom ? `*${cell(d.detailFrom)}*` : '';
    lines.push(`| ${d.code === PROBLEMS.httpError.code ? '4xx' : d.status} | \`${d.code}\` | ${cell(d.title)} | ${detail} | ${cell(d.when)} |`);
  }
  return lines.join('\n');
}
