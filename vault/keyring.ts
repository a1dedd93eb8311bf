/**
 * The master keys (key-encryption keys) that wrap every data key. They live outside the database: a file
 * (0600) holding one base64 32-byte key per line, the first one being the key used for new data and the
 * others kept to unwrap data sealed before a rotation. When the default file is missing it is generated at
 * start (development); a configured file that is missing or malformed is a fatal start-up error.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface MasterKey {
  readonly id: string;
  readonly key: Buffer;
}

export class Keyring {
  private readonly byId: Map<string, MasterKey>;
  constructor(private readonly keys: MasterKey[]) {
    if (keys.length === 0) throw new Error('The keyring holds no master key');
    this.byId = new Map(keys.map((k) => [k.id, k]));
  }
  get current(): MasterKey {
    return this.keys[0]!;
  }
  get(id: string): MasterKey {
    const k = this.byId.get(id);
    if (!k) throw new Error(`Unknown master key id ${id}: was the key file rotated without keeping the old key?`);
    return k;
  }
  /**
   * A key for one purpose (`label`), derived from a master key with HKDF-SHA256: it lives outside the database
   * like the master key, and one purpose's key reveals nothing of another's. The current master key's unless `id`.
   */
  derive(label: string, id?: string): { id: string; key: Buffer } {
    const master = id === undefined ? this.current : this.get(id);
    return { id: master.id, key: Buffer.from(crypto.hkdfSync('sha256', master.key, Buffer.alloc(0), `mes-gateway ${label}`, 32)) };
  }
}

export function masterKeyId(key: Buffer): string {
  return crypto.createHash('sha256').update('mes-gateway master key id').update(key).digest('hex').slice(0, 16);
}

export function parseKeyFile(text: string): Keyring {
  const keys: MasterKey[] = [];
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    const s = line.trim();
    if (!s || s.startsWith('#')) continue;
    const key = Buffer.from(s, 'base64');
    if (key.length !== 32) throw new Error(`Master key file line ${i + 1}: expected 32 bytes of base64, got ${key.length}`);
    keys.push({ id: masterKeyId(key), key });
  }
  return new Keyring(keys);
}

/** Loads the key file; generates it (0600) only when `createIfMissing` and it does not exist. */
export async function loadKeyring(file: string, createIfMissing: boolean): Promise<Keyring> {
  try {
    return parseKeyFile(await fs.readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !createIfMissing) throw err;
  }
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const text = `# mes-gateway master key (first line = current). Keep outside the database and its backups.\n${crypto
    .randomBytes(32)
    .toString('base64')}\n`;
  try {
    await fs.writeFile(file, text, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // another process won the race: use its key
  }
  return parseKeyFile(await fs.readFile(file, 'utf8'));
}
