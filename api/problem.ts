/**
 * Every API error is RFC 9457 `application/problem+json`: {type, title, status, detail, code}. `detail` is
 * safe to show a patient (French for patient routes); `code` is stable and searchable (API-xxx). Unexpected
 * errors are logged with the request id and answered 500 without internals.
 */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    readonly headers?: Record<string, string>,
  ) {
    super(detail ?? title);
    this.name = 'ApiProblem';
  }
}

export const problemType = (code: string) => `https://mes-gateway.example/problems/${code.toLowerCase()}`;

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
