import { randomBytes } from 'node:crypto';
import { hmacBase64url } from '../secrets/digest.js';

/** Crockford's base32: 32 symbols without I, L, O and U, so a code read aloud or retyped survives. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
/** 10 symbols of 5 bits: 50 bits each, far beyond guessing under the account lock. */
const LENGTH = 10;
export const BACKUP_CODE_COUNT = 10;

const BACKUP_CODE_SHAPE = new RegExp(`^[${ALPHABET}]{${LENGTH}}$`);

/** Ten fresh codes, shown once as `xxxxx-xxxxx`. */
export function newBackupCodes(count = BACKUP_CODE_COUNT): string[] {
  const codes = new Set<string>();
  while (codes.size < count) {
    // 256 is a multiple of 32, so `byte & 31` picks every symbol with the same probability.
    const symbols = [...randomBytes(LENGTH)].map((byte) => ALPHABET[byte & 31]).join('');
    codes.add(`${symbols.slice(0, 5)}-${symbols.slice(5)}`);
  }
  return [...codes];
}

/**
 * The canonical form of a typed backup code, or null when it cannot be one: case, spaces and hyphens do not
 * matter, and the letters Crockford's alphabet leaves out are read as the digits they look like.
 */
export function normalizeBackupCode(input: string): string | null {
  const code = input.toLowerCase().replace(/[\s-]/g, '').replace(/[il]/g, '1').replace(/o/g, '0');
  return BACKUP_CODE_SHAPE.test(code) ? code : null;
}

/**
 * What is stored of a backup code: HMAC-SHA-256 under a master-key subkey, bound to the user. Found by exact
 * lookup, never compared in application code; a copy of the database alone does not allow testing 2^50 guesses.
 */
export const hashBackupCode = (key: Uint8Array, userId: string, normalized: string): string =>
  hmacBase64url(key, `${userId}:${normalized}`);
