/** The vault: envelope encryption, encrypted blob storage, documents and their rubrics, intake (sniffing, scanning, XDM), the archive and the master-key rotation. */
export { Keyring, loadKeyring, parseKeyFile, masterKeyId, type MasterKey } from './keyring.js';
export {
  EnvelopeError,
  sealValue,
  openValue,
  sealChunk,
  openChunk,
  wrapDataKey,
  unwrapDataKey,
  newDataKey,
  rewrapValue,
  sealedBody,
  sealedKeyId,
} from './envelope.js';
export { BlobStore, BlobTooLargeError, inlineBlobCtes, type StoredBlob, type InlineBlobRows, type BlobHeader } from './blob-store.js';
export * from './documents.js';
export * from './intake.js';
export * from './archive.js';
export * from './notes.js';
export * from './rubrics.js';
export * from './scan/clamd.js';
export * from './sniff.js';
export * from './xdm/index.js';
export * from './zip-members.js';
export * from './key-rotation.js';
