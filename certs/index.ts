/**
 * Certificates and the ANS whitelist: the public surface of `certs/`.
 *
 * Guarantees and failure semantics are those of each module: DN parsing throws `DnParseError` and `sameDn`
 * never throws; whitelist parsing throws `WhitelistFormatError` and sender checks fail closed; trust loading
 * throws `TrustMaterialError`; the development PKI writes atomically and never overwrites a complete folder
 * unless forced; the whitelist keeper and the CRL reloader never replace what is in force with anything that
 * failed a check, and alert instead (whitelist-refresh.ts, revocation.ts; their pure rules in rules/).
 * Verification of peers is only ever done by node:tls / node:crypto.
 */
export {
  DnParseError,
  dnFromOpenSslMultiline,
  dnFromX509,
  escapeDnValue,
  issuerDnFromX509,
  normalizeDn,
  parseDn,
  sameDn,
  type DnAttribute,
  type ParsedDn,
} from './dn.js';
export {
  WHITELIST_NAMESPACE,
  WhitelistFormatError,
  buildWhitelistXml,
  isSenderAuthorised,
  loadWhitelistFile,
  normalizeDomain,
  parseWhitelist,
  type SenderDecision,
  type SkippedEntry,
  type Whitelist,
  type WhitelistEntry,
  type WhitelistInputEntry,
} from './whitelist.js';
export {
  DEFAULT_GATEWAY_HOSTNAME,
  ISSUING_CA_SUBJECT,
  OPERATOR_SUBJECTS,
  ROOT_SUBJECT,
  UNTRUSTED_ROOT_SUBJECT,
  createCrl,
  gatewaySubject,
  initDevelopmentPki,
  issueCertificate,
  pkiPaths,
  renewDevelopmentCrl,
  subjectToDn,
  type CertKeyPaths,
  type CertificateSubject,
  type CertificateUsage,
  type CreateCrlOptions,
  type InitPkiOptions,
  type IssueCertificateOptions,
  type IssuedCertificate,
  type PkiPaths,
  type RevokedEntry,
} from './pki.js';
export {
  TrustMaterialError,
  checkTrustUsable,
  describeCrl,
  describePeer,
  loadCrlFiles,
  loadTrustMaterial,
  splitPem,
  type CrlInfo,
  type PeerCertificate,
  type TrustMaterial,
} from './trust.js';
export { CrlReloader, type CrlCheck, type CrlReloaderOptions } from './revocation.js';
export {
  WhitelistDownloadError,
  WhitelistKeeper,
  downloadWhitelist,
  installWhitelistFile,
  readWhitelistFileCapped,
  type DownloadOptions,
  type WhitelistCheck,
  type WhitelistKeeperOptions,
  type WhitelistRefreshLimits,
} from './whitelist-refresh.js';
export {
  checkWhitelistUrl,
  downloadDue,
  isStale,
  judgeCandidate,
  redactUrl,
  whitelistSourceOf,
  type CandidateSummary,
  type CandidateVerdict,
  type WhitelistSource,
} from './rules/whitelist-refresh.js';
export { expiredCrls, sameCrlSet } from './rules/revocation.js';
export { DEV_ORGANISATIONS, ensureDevelopmentOrganisations, organisationPaths, type DevOrganisation } from './organisations.js';
