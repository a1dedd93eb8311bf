/** Access: patients' profiles and authentication; the pure rules are in ./rules. */
export * from './rules/index.js';
export { findProfileByIns, RecipientCache, type ProfileRef } from './profile-lookup.js';
export {
  importPatients,
  activatePatient,
  opposeProfile,
  startLogin,
  verifyLogin,
  openSession,
  authenticateSession,
  profileStateOf,
  patientInsOf,
  endSession,
  csrfTokenFor,
  csrfTokenMatches,
  readIdentity,
  PatientAccessError,
  type PatientAccessRefusal,
  type PatientIdentity,
  type ImportResult,
  type LoginChallenge,
  type PatientSession,
  type LiveSession,
} from './patients.js';
export {
  activityInsert,
  recordActivity,
  sealActivity,
  verifyActivityChain,
  resignActivityHeads,
  ACTIVITY_KINDS,
  activityHash,
  listActivity,
  notifyPatientCte,
  type ActivityEvent,
  type ActivityKind,
  type ActivityItem,
} from './activity.js';
export {
  accessSnapshot,
  blockProfessional,
  unblockProfessional,
  blockEstablishment,
  unblockEstablishment,
  updateAccessSettings,
  RPPS,
  type AccessSettingsSnapshot,
  type AccessSettingsChange,
  type SettingsRefusal,
} from './settings.js';
export { knownProfessionals, KNOWN_PROFESSIONALS_MAX } from './known-professionals.js';
export { endOppositionWindows, changeProfileState, closeProfile, type TransitionResult } from './lifecycle.js';
export {
  requestProvisionalCode,
  resetPassword,
  reactivateProfile,
  changePassword,
  endAllSessions,
  provisionalCodeNotice,
  type AccountNotice,
  type CodeIssueJob,
} from './account.js';
export {
  checkDeposit,
  fileDeposit,
  priorDeposit,
  retriedDeposit,
  type DepositOutcome,
  type DepositRefusal,
  type OrganisationDocument,
  type PriorDeposit,
} from './organisation-deposits.js';
export { revealDueDocuments } from './scheduled-reveal.js';
export {
  addDocumentForPro,
  changeOwnDocumentForPro,
  listDocumentsForPro,
  readDocumentForPro,
  ProAccessRefused,
  type Emergency,
  type ProAccessDeps,
  type ProIdentity,
} from './professional-access.js';
export { rotateMasterKey } from './key-rotation.js';
export * from './pro-auth/index.js';
