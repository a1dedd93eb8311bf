/**
 * The outbound relay: patients' messages (and DSNs/MDNs with a null sender) leave through here towards the
 * professional's MSSanté operator, over SMTP with mutual TLS.
 *
 * Guarantees and failure semantics are those of each module: `resolveDestination` returns a non-empty,
 * ordered destination list or throws a `PermanentRelayError` / `TemporaryRelayError`; `deliverMessage` never
 * throws for a delivery problem, it returns a `DeliveryResult` whose `action` (temporary, permanent,
 * rate-limited) tells the job worker whether to retry (per `retryDelay`) or to give up and send a DSN;
 * `DestinationLimiter` caps concurrent sessions per destination. The retry schedule, the reply
 * classification table and the static routes are data in `config/relay.ts`, re-exported here.
 */
export {
  MAX_CONNECTIONS_ENV,
  RELAY_MAX_CONNECTIONS_PER_DESTINATION,
  RELAY_TIMEOUT_MS,
  REPLY_RULES,
  RETRY_SCHEDULE_ENV,
  RETRY_SCHEDULE_MS,
  ROUTES_ENV,
  classifyReply,
  parseRoutes,
  relayMaxConnections,
  type RelayDestination,
  type ReplyAction,
  type ReplyClassification,
  type ReplyRule,
} from '../../config/index.js';
export {
  DN_NOT_LISTED_CODE,
  OUTBOUND_CIPHERS,
  checkDestinationCertificate,
  deliverMessage,
  type DeliverInput,
  type DeliveryFailure,
  type DeliveryResult,
  type RawMessage,
  type RelayTlsMaterial,
} from './deliver.js';
export { PermanentRelayError, TemporaryRelayError, isRelayError, type RelayError } from './errors.js';
export { DestinationLimiter, destinationKey } from './limiter.js';
export { SMTP_PORT, resolveDestination, type DnsResolver, type MxRecordLike } from './route.js';
