/** The vault: envelope encryption, encrypted blob storage, and (later) documents and rubrics. */
export { Keyring, loadKeyring, parseKeyFile, masterKeyId, type MasterKey } from './keyring.js';
export { EnvelopeError, sealValue, openValue, sealChunk, openChunk, wrapDataKey, unwrapDataKey, newDataKey, rewrapValue, sealedBody, sealedKeyId } from './envelope.js';
export { BlobStore, BlobTooLargeError, inlineBlobCtes, type StoredBlob, type InlineBlobRows, type BlobHeader } from './blob-store.js';
