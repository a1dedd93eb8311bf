/**
 * Certificates and the ANS whitelist: the public surface of `certs/`.
 *
 * Guarantees and failure semantics are those of each module: DN parsing throws `DnParseError` and `sameDn`
 * never throws; whitelist parsing throws `WhitelistFormatError` and sender checks fail closed; trust loading
 * throws `TrustMaterialError`; the development PKI writes atomically and never overwrites a complete folder
 * unless forced. Verification of peers is only ever done by node:tls / node:crypto.
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
  describePeer,
  loadTrustMaterial,
  splitPem,
  type PeerCertificate,
  type TrustMaterial,
} from './trust.js';
