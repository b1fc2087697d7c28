import { randomBytes, scrypt } from 'node:crypto';
import { promisify } from 'node:util';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { open, seal } from './sealed-box.js';

const VERSION = 'gtk1';
export const MIN_TRANSFER_PASSPHRASE_LENGTH = 16;

/** scrypt (RFC 7914) at N = 2^15, some 100 ms a derivation: a passphrase may be weak, and the file may leave the host. */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

const deriveKey = promisify(scrypt) as (
  passphrase: string,
  salt: Buffer,
  length: number,
  options: typeof SCRYPT,
) => Promise<Buffer>;

/**
 * A key an operator holds to carry secrets between installations (`users export`/`import`): AES-256-GCM under
 * a key derived by scrypt from a passphrase, with the salt in each sealed value so a file opens by itself.
 */
export interface TransferKey {
  seal(plaintext: string, context: string): string;
  /** Throws when the value was sealed under another passphrase, for another context, or altered. */
  open(sealed: string, context: string): Promise<string>;
}

/** The transfer key of a passphrase (surrounding whitespace ignored, so a key file may end with a newline). */
export async function transferKeyFrom(passphraseText: string): Promise<TransferKey> {
  const passphrase = passphraseText.trim();
  const length = [...passphrase].length;
  if (length < MIN_TRANSFER_PASSPHRASE_LENGTH) {
    throw new GatehouseError('validation_failed', {
      detail: `The transfer key file holds ${length} characters; it needs at least ${MIN_TRANSFER_PASSPHRASE_LENGTH}`,
      hint: 'Make one with `openssl rand -base64 32 > transfer.key` and give the same file to export and import.',
    });
  }
  const sealingSalt = randomBytes(16);
  const sealingKey = await deriveKey(passphrase, sealingSalt, 32, SCRYPT);
  const keysBySalt = new Map([[sealingSalt.toString('base64url'), sealingKey]]);

  async function keyFor(salt: string): Promise<Buffer> {
    const known = keysBySalt.get(salt);
    if (known) return known;
    const key = await deriveKey(passphrase, Buffer.from(salt, 'base64url'), 32, SCRYPT);
    keysBySalt.set(salt, key);
    return key;
  }

  return {
    seal: (plaintext, context) =>
      `${VERSION}.${sealingSalt.toString('base64url')}.${seal(sealingKey, plaintext, context)}`,
    async open(sealed, context) {
      const [version, salt, ...box] = sealed.split('.');
      if (version !== VERSION || !salt)
        throw new Error(`is not a value sealed under a transfer key (${VERSION}.…)`);
      try {
        return open(await keyFor(salt), box.join('.'), context);
      } catch {
        throw new Error(
          "does not open with this transfer key (another key file, or copied from another user's line)",
        );
      }
    },
  };
}
