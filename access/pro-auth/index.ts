/**
 * Professional authentication (SPEC §6.3): verification of OpenID Connect bearer tokens carrying the RPPS
 * identifier and the TRE_G15 profession code, the provider's keys kept current (file, HTTPS JWKS, discovery;
 * refetched on an unknown kid), and a development issuer that mints such tokens.
 */
export {
  verifyProToken,
  loadJwks,
  publicJwks,
  tokenKid,
  RPPS_PATTERN,
  FINESS_PATTERN,
  PROFESSION_PATTERN,
  type ProIdentity,
  type ProTokenFailure,
  type ProTokenResult,
  type VerifyProTokenOptions,
} from './verify.js';
export {
  ProKeys,
  verifyProTokenWith,
  keyFetcherFor,
  fileKeys,
  remoteKeys,
  discoveredKeys,
  type Jwks,
  type KeyFetcher,
  type ProKeysOptions,
  type RemoteOptions,
} from './key-source.js';
export { ensureDevIssuer, issueDevToken, DEV_ISSUER_URL, DEFAULT_AUDIENCE, DEFAULT_TTL_SECONDS, type DevIssuer, type DevTokenRequest } from './dev-issuer.js';
