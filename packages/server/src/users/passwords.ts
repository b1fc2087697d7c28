import { Algorithm, hash, verify } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import pLimit from 'p-limit';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { randomBase64url } from '../secrets/digest.js';
import { isCommonPassword } from './password-blocklist.js';

/** OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1. */
const ARGON2_PARAMS = {
  algorithm: Algorithm.Argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;
const CURRENT_PARAMS_PREFIX = '$argon2id$v=19$m=19456,t=2,p=1$';

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;

/** NFKC so that the same password typed on two keyboards is the same string; never truncated. */
export function normalizePassword(raw: string): string {
  return raw.normalize('NFKC');
}

/** NIST 800-63B: a length range and a blocklist, no composition rules. Length counts code points. */
export function checkPasswordPolicy(password: string): void {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH || length > MAX_PASSWORD_LENGTH) {
    throw new GatehouseError('password_policy', {
      detail: `The password has ${length} characters; it needs ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH}`,
    });
  }
  if (isCommonPassword(password)) {
    throw new GatehouseError('password_policy', {
      detail: 'This password is on the list of the most common passwords; choose another',
    });
  }
}

const ARGON2_HASH = /^\$argon2(id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{16,}$/;
const BCRYPT_HASH = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;

/** A complete argon2 (PHC string) or bcrypt hash: what `users import` accepts, so login never meets an undecodable one. */
export const isSupportedHash = (stored: string): boolean =>
  ARGON2_HASH.test(stored) || BCRYPT_HASH.test(stored);

export const isBcryptHash = (stored: string): boolean => BCRYPT_HASH.test(stored);

export interface PasswordCheck {
  ok: boolean;
  /** The stored hash is bcrypt or weaker argon2 parameters: replace it now that the plaintext is known. */
  needsRehash: boolean;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(stored: string, password: string): Promise<PasswordCheck>;
  /** Verifies against a hash of nothing anyone knows: an unknown email costs what a wrong password costs. */
  spendDecoy(password: string): Promise<void>;
}

export interface HasherLimits {
  /** Hashes running at once. One core is left to the event loop, so hashing never starves other requests. */
  concurrency: number;
  /** Hashes waiting for a slot; past this a request is refused (`503 overloaded`) instead of queueing forever. */
  maxQueue: number;
}

async function verifyAny(stored: string, password: string): Promise<PasswordCheck> {
  if (stored.startsWith('$argon2')) {
    const ok = await verify(stored, password);
    return { ok, needsRehash: ok && !stored.startsWith(CURRENT_PARAMS_PREFIX) };
  }
  if (/^\$2[aby]\$/.test(stored)) {
    const ok = await bcrypt.compare(password, stored);
    return { ok, needsRehash: ok };
  }
  return { ok: false, needsRehash: false };
}

export function createPasswordHasher(limits: HasherLimits): PasswordHasher {
  const limit = pLimit(limits.concurrency);
  let decoyHash: Promise<string> | undefined;

  function bounded<T>(work: () => Promise<T>): Promise<T> {
    if (limit.pendingCount >= limits.maxQueue) {
      return Promise.reject(
        new GatehouseError('overloaded', {
          retryAfterSeconds: 1,
          internal: `${limit.pendingCount} password hashes queued`,
        }),
      );
    }
    return limit(work);
  }

  const hashPassword = (password: string) => bounded(() => hash(password, ARGON2_PARAMS));
  return {
    hash: hashPassword,
    verify: (stored, password) => bounded(() => verifyAny(stored, password)),
    async spendDecoy(password) {
      decoyHash ??= hashPassword(randomBase64url(24));
      const stored = await decoyHash;
      await bounded(() => verify(stored, password));
    },
  };
}
