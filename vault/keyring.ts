/**
 * The master keys (key-encryption keys) that wrap every data key. They live outside the database: a file
 * (0600) holding one base64 32-byte key per line, the first one being the key used for new data and the
 * others kept to unwrap data sealed before a rotation. When the default file is missing it is generated at
 * start (development); a configured file that is missing or malformed is a fatal start-up error.
 *
 * Crash safety of the key file (a lost master key is every patient's data lost):
 * - The file is only ever written whole, never in place: a temporary file `.<name>.tmp-<pid>-<random>` in the
 *   same folder (0600), written, fsynced and closed, then renamed over the file (a rotation) or hard-linked to
 *   its name (generation: never replaces a file another process created first), then the folder is fsynced
 *   so the new name survives a power cut. A kill or a power cut at any point leaves the previous file or the
 *   new one whole, never an empty or half-written key.
 * - A rotation (key-rotation.ts) installs a file holding the new key AND every older key before it re-wraps
 *   anything, and keeps a copy of the previous file as `<name>.prev` until it has confirmed the new one, so the
 *   file gateways read always holds every key the database uses: nothing has to be reconciled with the
 *   database at start.
 * - At every load, temporary files left by a killed process (its pid no longer running, or our own pid from an
 *   earlier life in a container) are removed: they would be stray copies of master keys. Loading writes
 *   nothing else, so a key file on a read-only mount loads as before.
 * - A missing file next to a `<name>.prev` is never replaced by a freshly generated key: that would make the
 *   data unreadable; the error says to restore the previous file.
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
  /** Every key, the current one first. */
  get all(): readonly MasterKey[] {
    return this.keys;
  }
  has(id: string): boolean {
    return this.byId.has(id);
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

/** The text of a key file holding `keys` (the first is current). */
export function keyFileText(keys: readonly Buffer[]): string {
  return `# mes-gateway master keys: the first is current, the others unwrap older data. Keep outside the database and its backups.\n${keys
    .map((k) => k.toString('base64'))
    .join('\n')}\n`;
}

/** `<file>.prev`: the key file as it was before the rotation in progress, kept until the new one is confirmed. */
export const previousKeyFile = (file: string): string => `${file}.prev`;

const TEMP = (file: string) => `.${path.basename(file)}.tmp-`;

/** fsync of a folder: makes a rename or link inside it durable. */
export async function syncFolder(dir: string): Promise<void> {
  const h = await fs.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/**
 * Writes `text` (0600) as `file` through a fsynced temporary file: `replace` renames it over an existing file;
 * `create` links it to the name only if nothing is there (false when another process created it first). The
 * folder is fsynced after. `afterTemp` runs once the temporary file is durable, before it takes the name.
 */
export async function writeKeyFileDurably(file: string, text: string, mode: 'create' | 'replace', afterTemp?: () => void | Promise<void>): Promise<boolean> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `${TEMP(file)}${process.pid}-${crypto.randomBytes(6).toString('hex')}`);
  let created = true;
  ownTemps.add(tmp);
  try {
    const h = await fs.open(tmp, 'wx', 0o600);
    try {
      await h.writeFile(text, 'utf8');
      await h.sync();
    } finally {
      await h.close();
    }
    await afterTemp?.();
    if (mode === 'replace') {
      await fs.rename(tmp, file);
    } else {
      try {
        await fs.link(tmp, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        created = false;
      }
      await fs.unlink(tmp);
    }
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  } finally {
    ownTemps.delete(tmp);
  }
  await syncFolder(dir);
  return created;
}

/** Temporary files this process is writing now (never stale, whatever their pid says). */
const ownTemps = new Set<string>();

function alive(pid: number): boolean {
  if (pid === process.pid) return false; // not one being written now (ownTemps): an earlier life with our pid (containers)
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the temporary key files of processes no longer running; returns how many. Never throws. */
export async function removeStaleKeyTemps(file: string): Promise<number> {
  const dir = path.dirname(file);
  const prefix = TEMP(file);
  let removed = 0;
  try {
    for (const name of await fs.readdir(dir)) {
      if (!name.startsWith(prefix)) continue;
      const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
      if (!Number.isInteger(pid) || ownTemps.has(path.join(dir, name)) || alive(pid)) continue;
      await fs.unlink(path.join(dir, name));
      removed++;
    }
    if (removed > 0) await syncFolder(dir);
  } catch {
    /* an unreadable or read-only folder: nothing of ours can be there */
  }
  return removed;
}

/**
 * Loads the key file; generates it (0600, durably) only when `createIfMissing` and it does not exist.
 * `hooks.afterTemp` runs once a generated key is durable in its temporary file (the crash tests kill there).
 */
export async function loadKeyring(file: string, createIfMissing: boolean, hooks: { afterTemp?: () => void | Promise<void> } = {}): Promise<Keyring> {
  await removeStaleKeyTemps(file);
  try {
    return parseKeyFile(await fs.readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const prev = await fs.access(previousKeyFile(file)).then(
      () => true,
      () => false,
    );
    if (prev) {
      throw new Error(
        `Master key file ${file} is missing but ${previousKeyFile(file)} exists: restore it (copy the .prev file to ${path.basename(file)}, mode 0600); a new key would leave the data unreadable`,
      );
    }
    if (!createIfMissing) throw err;
  }
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  // Another process may win the race: then its key is used (the link refuses to replace it).
  await writeKeyFileDurably(file, keyFileText([crypto.randomBytes(32)]), 'create', hooks.afterTemp);
  return parseKeyFile(await fs.readFile(file, 'utf8'));
}
