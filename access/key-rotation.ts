/**
 * The master-key rotation as the operator runs it (`keys rotate`): the vault's durable steps
 * (vault/key-rotation.ts, crash-safe at every step) with what the access module keeps under that key, the
 * activity chain heads (re-signed) and the patients' sealed identities (one opened as a sample, with the keys read
 * back from disk, before the previous key file is dropped). Same guarantees and failure semantics as the vault's.
 */
import { type Db, schema } from '../db/index.js';
import { rotateVaultMasterKey, type Keyring, type RotationHooks, type RotationResult } from '../vault/index.js';
import { resignActivityHeads } from './activity.js';
import { readIdentity } from './patients.js';

async function openIdentitySample(db: Db, keyring: Keyring): Promise<void> {
  const [patient] = await db.select({ ins: schema.patients.ins, identity: schema.patients.identity }).from(schema.patients).limit(1);
  if (patient) readIdentity(keyring, patient.ins, patient.identity);
}

export function rotateMasterKey(db: Db, file: string, hooks: RotationHooks = {}): Promise<RotationResult> {
  return rotateVaultMasterKey(db, file, { resignHeads: resignActivityHeads, openSample: openIdentitySample }, hooks);
}
