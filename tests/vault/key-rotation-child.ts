/**
 * `keys rotate` in a child process, as the CLI runs it (rotateMasterKey on DATABASE_URL and MASTER_KEY_FILE), that
 * kills itself with SIGKILL right after the step named by KEY_ROTATION_KILL_AFTER (one of ROTATION_STEPS): no
 * cleanup, no finally, no flush, like a crash. Without it, the rotation runs to the end and prints its result as
 * JSON. With KEY_GENERATION_KILL=1 instead, the key generation of a first start (loadKeyring) is killed once the
 * new key is durable in its temporary file. For tests/vault/key-rotation-crash.test.ts.
 */
import { openDatabase } from '../../db/index.js';
import { rotateMasterKey } from '../../access/index.js';
import { ROTATION_STEPS, type RotationStep } from '../../vault/key-rotation.js';
import { loadKeyring } from '../../vault/keyring.js';

if (process.env.KEY_GENERATION_KILL === '1') {
  await loadKeyring(process.env.MASTER_KEY_FILE!, true, { afterTemp: () => void process.kill(process.pid, 'SIGKILL') });
  throw new Error('not killed');
}

const killAfter = process.env.KEY_ROTATION_KILL_AFTER as RotationStep | undefined;
if (killAfter !== undefined && !ROTATION_STEPS.includes(killAfter)) throw new Error(`unknown step ${killAfter}`);
const database = await openDatabase({ databaseUrl: process.env.DATABASE_URL!, dataDir: process.env.DATA_DIR ?? '.', poolSize: 2 });
const result = await rotateMasterKey(database.db, process.env.MASTER_KEY_FILE!, {
  afterStep: (step) => {
    if (step === killAfter) process.kill(process.pid, 'SIGKILL');
  },
});
console.log(JSON.stringify(result));
await database.close();
