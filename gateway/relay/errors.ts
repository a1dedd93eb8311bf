/**
 * Errors of the outbound relay that are thrown rather than returned (routing happens before any delivery
 * attempt, so it has no DeliveryResult to fill).
 *
 * Guarantees: every error carries `action` ('temporary' or 'permanent', the same words as DeliveryResult) and
 * a short `category`, so a job worker can handle a thrown routing error and a returned delivery failure with
 * one code path. Messages name the domain and the DNS error code, never message content.
 */

export class TemporaryRelayError extends Error {
  override readonly name = 'TemporaryRelayError';
  readonly action = 'temporary' as const;
  constructor(
    message: string,
    readonly category: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class PermanentRelayError extends Error {
  override readonly name = 'PermanentRelayError';
  readonly action = 'permanent' as const;
  constructor(
    message: string,
    readonly category: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type RelayError = TemporaryRelayError | PermanentRelayError;

export function isRelayError(err: unknown): err is RelayError {
  return err instanceof TemporaryRelayError || err instanceof PermanentRelayError;
}
