// The table of API problems (api/problems.ts): one code per problem, and every domain refusal answered by its
// reason with the status and code clients already rely on.
import { describe, expect, it } from 'vitest';
import { PatientAccessError, ProAccessRefused, type PatientAccessRefusal } from '../../access/index.js';
import { ApiProblem } from '../../api/problem.js';
import { problem, problemOf, PROBLEMS, problemsTable, type ProblemName } from '../../api/problems.js';
import { DEPOSIT_RESULTS } from '../../api/routes/organisation.js';
import { InvalidCursorError, SendRefusedError, type SendRefusal } from '../../mailbox/index.js';
import { InvalidDocumentCursorError } from '../../vault/documents.js';

const entries = Object.entries(PROBLEMS) as [ProblemName, (typeof PROBLEMS)[ProblemName]][];

describe('PROBLEMS', () => {
  it('gives every problem its own code, none shared with a deposit result', () => {
    const codes = [...entries.map(([, d]) => d.code), ...Object.values(DEPOSIT_RESULTS).map((r) => r.code)];
    expect(codes.filter((c, i) => codes.indexOf(c) !== i)).toEqual([]);
    for (const c of codes) expect(c).toMatch(/^API-[A-Z0-9]+(-[A-Z0-9x]+)*$/);
  });

  it('has an error status, a title and a reason for each; a detail says where it comes from when the thrower gives it', () => {
    for (const [name, d] of entries) {
      expect(d.status, name).toBeGreaterThanOrEqual(400);
      expect(d.status, name).toBeLessThan(600);
      expect(d.title.length, name).toBeGreaterThan(0);
      expect(d.when.length, name).toBeGreaterThan(0);
      if (d.detail !== null) expect(d.detail, name).toMatch(/[.)]$/);
    }
  });

  it('answers every patient route in French: a fixed detail or one the thrower gives', () => {
    const patientFacing = entries.filter(([, d]) => /^API-(AUTH|CSRF|RATE|NOTIFY|PATIENT|MSG|SEND|DOC|UPLOAD|ACCESS)-/.test(d.code));
    for (const [name, d] of patientFacing) expect(d.detail !== null || 'detailFrom' in d, name).toBe(true);
  });

  it('builds a problem by name, a detail or headers given replacing the table', () => {
    const p = problem('documentNotFound');
    expect([p.status, p.code, p.title, p.detail]).toEqual([404, 'API-DOC-01', 'Not found', 'Document introuvable.']);
    const q = problem('proRevealDateInvalid', { detail: 'La date de mise à disposition est déjà passée.', headers: { 'x-a': '1' } });
    expect([q.detail, q.headers]).toEqual(['La date de mise à disposition est déjà passée.', { 'x-a': '1' }]);
    expect(problem('notFound').detail).toBeUndefined();
  });
});

describe('problemOf: domain refusals by their reason', () => {
  it.each<[PatientAccessRefusal, number]>([
    ['invalid-credentials', 401],
    ['throttled', 429],
    ['challenges-pending', 429],
    ['busy', 503],
    ['activation-refused', 400],
    ['opposition-refused', 400],
    ['reset-refused', 400],
    ['reactivation-refused', 400],
    ['password-refused', 400],
    ['weak-password', 400],
    ['invalid-code', 401],
  ])('PatientAccessError %s → %i API-PATIENT-<REASON>', (reason, status) => {
    const p = problemOf(new PatientAccessError(reason))!;
    expect([p.status, p.code]).toEqual([status, `API-PATIENT-${reason.toUpperCase()}`]);
  });

  it('keeps the reason’s own explanation and turns the wait into Retry-After', () => {
    expect(problemOf(new PatientAccessError('weak-password', { detail: 'Le mot de passe est obligatoire.' }))!.detail).toBe('Le mot de passe est obligatoire.');
    expect(problemOf(new PatientAccessError('throttled', { retryAfterMs: 30_001 }))!.headers).toEqual({ 'retry-after': '31' });
    expect(problemOf(new PatientAccessError('busy', { retryAfterMs: 10 }))!.headers).toEqual({ 'retry-after': '1' });
    expect(problemOf(new PatientAccessError('activation-refused'))!.headers).toBeUndefined();
    expect(problemOf(new PatientAccessError('activation-refused'))!.detail).toMatch(/^Activation impossible/);
  });

  it.each<[SendRefusal, number, string]>([
    ['not-answerable', 403, 'API-SEND-01'],
    ['not-writable', 403, 'API-SEND-01'],
    ['document-not-found', 404, 'API-SEND-02'],
    ['too-large', 413, 'API-SEND-03'],
    ['document-invalid-id', 400, 'API-SEND-04'],
    ['document-deleted', 410, 'API-SEND-05'],
    ['message-not-found', 404, 'API-MSG-01'],
    ['profile-not-found', 404, 'API-SEND-06'],
  ])('SendRefusedError %s → %i %s with the sentence of the rule', (reason, status, code) => {
    const p = problemOf(new SendRefusedError(reason, 'Une phrase du courrier.'))!;
    expect([p.status, p.code, p.detail]).toEqual([status, code, 'Une phrase du courrier.']);
  });

  it.each([
    ['messages', 'API-MSG-02'],
    ['contacts', 'API-MSG-04'],
    ['thread', 'API-MSG-05'],
    ['documents', 'API-DOC-03'],
  ] as const)('a %s cursor refused → 400 %s', (list, code) => {
    const p = problemOf(new InvalidCursorError(list))!;
    expect([p.status, p.code]).toEqual([400, code]);
  });

  it('answers the other domain errors, fastify’s own refusals, and nothing else', () => {
    expect(problemOf(new InvalidDocumentCursorError())!.code).toBe('API-DOC-03');
    expect([problemOf(new ProAccessRefused())!.status, problemOf(new ProAccessRefused())!.code]).toEqual([403, 'API-PRO-03']);
    const thrown = problem('csrfRefused');
    expect(problemOf(thrown)).toBe(thrown);
    const validation = Object.assign(new Error('body/text must NOT have fewer than 1 characters'), { validation: [{}], statusCode: 400 });
    expect([problemOf(validation)!.code, problemOf(validation)!.detail]).toEqual(['API-VALIDATION', 'body/text must NOT have fewer than 1 characters']);
    const tooLarge = Object.assign(new Error('Request body is too large'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    expect([problemOf(tooLarge)!.status, problemOf(tooLarge)!.code, problemOf(tooLarge)!.title]).toEqual([413, 'API-HTTP-413', 'FST_ERR_CTP_BODY_TOO_LARGE']);
    expect(problemOf(Object.assign(new Error('upstream'), { statusCode: 502 }))).toBeNull();
    expect(problemOf(new Error('boom'))).toBeNull();
    expect(problemOf('not an error')).toBeNull();
    expect(problemOf(new ApiProblem(PROBLEMS.internal))!.code).toBe('API-INTERNAL');
  });
});

describe('problemsTable', () => {
  it('has one row per problem, the thrower-given details in italics', () => {
    const rows = problemsTable().split('\n');
    expect(rows.length).toBe(entries.length + 2);
    expect(rows).toContain("| 404 | `API-MSG-01` | Not found | Message introuvable. | not one of the patient's messages (or deleted) |");
    expect(rows.some((r) => r.startsWith('| 400 | `API-PATIENT-WEAK-PASSWORD` | Weak password | *'))).toBe(true);
    expect(rows.some((r) => r.startsWith('| 4xx | `API-HTTP-4xx` |'))).toBe(true);
  });
});
