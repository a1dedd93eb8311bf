/**
 * Every API error is RFC 9457 `application/problem+json`: {type, title, status, detail, code, instance}. `detail`
 * is safe to show a patient (French for patient routes); `code` is stable and searchable (API-xxx). Each problem
 * is one entry of the table in api/problems.ts (thrown by name with `problem(...)`); unexpected errors are logged
 * with the request id and answered 500 without internals.
 */

/** One entry of the table of problems (api/problems.ts). */
export interface ProblemDef {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  /** The French text shown to the patient; null when there is none (operator routes) or the thrower gives it. */
  readonly detail: string | null;
  /** When the detail comes from the thrower (a domain reason, a verifier's message): what it says, for the README. */
  readonly detailFrom?: string;
  /** When it is sent, for the README. */
  readonly when: string;
}

export class ApiProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly headers: Record<string, string> | undefined;
  constructor(def: ProblemDef, opts: { detail?: string; headers?: Record<string, string> } = {}) {
    const detail = opts.detail ?? def.detail ?? undefined;
    super(detail ?? def.title);
    this.name = 'ApiProblem';
    this.status = def.status;
    this.code = def.code;
    this.title = def.title;
    this.detail = detail;
    this.headers = opts.headers;
  }
}

export const problemType = (code: string) => `https://mes-gateway.example/problems/${code.toLowerCase()}`;

/** The problem+json body of `p` for the request `instance`. */
export const problemBody = (p: ApiProblem, instance: string) => ({
  type: problemType(p.code),
  title: p.title,
  status: p.status,
  detail: p.detail,
  code: p.code,
  instance,
});

export const ProblemSchema = {
  type: 'object',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    instance: { type: 'string' },
  },
  required: ['type', 'title', 'status', 'code'],
} as const;
