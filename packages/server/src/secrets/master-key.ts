import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { MasterKeySource } from '../config/config.js';
import { ConfigError } from '../config/parse.js';

export type SubkeyPurpose =
  | 'signing-keys'
  | 'refresh-tokens'
  | 'totp'
  | 'backup-codes'
  | 'vault'
  | 'csrf'
  | 'api-keys';

export interface MasterKey {
  /** Short, public identifier of the key; stored in the database to detect a key that does not match it. */
  readonly fingerprint: string;
  /** A 32-byte key for one purpose (HKDF-SHA-256), so no two features ever share key material. */
  subkey(purpose: SubkeyPurpose): Uint8Array;
  /** Where the key came from, for the start log and `doctor`. */
  readonly origin: string;
  /** True when this start created the key file. */
  readonly created: boolean;
  /** Deletes a key file this start created (when it turns out the database belongs to another key). */
  discard(): Promise<void>;
}

const KEY_BYTES = 32;

function decodeKey(encoded: string, origin: string): Buffer {
  const text = encoded.trim();
  const bytes = /^[A-Za-z0-9_-]+$/.test(text) ? Buffer.from(text, 'base64url') : Buffer.alloc(0);
  if (bytes.length !== KEY_BYTES) {
    throw new ConfigError(
      `The master key from ${origin} must be ${KEY_BYTES} bytes in base64url (43 characters); generate one with \`gatehouse master-key generate\``,
    );
  }
  return bytes;
}

export function generateMasterKey(): string {
  return randomBytes(KEY_BYTES).toString('base64url');
}

function createMasterKey(bytes: Buffer, origin: string, created: boolean, file?: string): MasterKey {
  const subkeys = new Map<SubkeyPurpose, Uint8Array>();
  const derive = (info: string) =>
    new Uint8Array(hkdfSync('sha256', bytes, new Uint8Array(0), `gatehouse:${info}`, KEY_BYTES));
  const fingerprint = `mk_${createHash('sha256').update(derive('fingerprint')).digest('hex').slice(0, 16)}`;
  return {
    fingerprint,
    origin,
    created,
    async discard() {
      if (created && file) await rm(file, { force: true });
    },
    subkey(purpose) {
      let key = subkeys.get(purpose);
      if (!key) {
        key = derive(purpose);
        subkeys.set(purpose, key);
      }
      return key;
    },
  };
}

async function readOrCreateKeyFile(
  file: string,
  createIfMissing: boolean,
): Promise<{ text: string; created: boolean }> {
  try {
    return { text: await readFile(file, 'utf8'), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !createIfMissing) {
      throw new ConfigError(`Cannot read the master key file ${file}: ${(error as Error).message}`);
    }
  }
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const text = `${generateMasterKey()}\n`;
  try {
    // 'wx' fails if another process created the file meanwhile; then that file is the key.
    await writeFile(file, text, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      return { text: await readFile(file, 'utf8'), created: false };
    throw error;
  }
  await chmod(file, 0o600);
  return { text, created: true };
}

/** Loads the master key from the environment or a file; in embedded mode creates the file once (mode 0600). */
export async function loadMasterKey(source: MasterKeySource): Promise<MasterKey> {
  if (source.kind === 'value')
    return createMasterKey(decodeKey(source.value, source.origin), source.origin, false);
  const { text, created } = await readOrCreateKeyFile(source.path, source.createIfMissing);
  const origin = `${source.path} (${source.origin})`;
  return createMasterKey(decodeKey(text, origin), origin, created, source.path);
}
