import { Algorithm, hash, verify } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { randomBase64url } from '../secrets/digest.js';

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

/** NIST 800-63B: a length range and nothing else (no composition rules). Length counts code points. */
export function checkPasswordPolicy(password: string): void {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH || length > MAX_PASSWORD_LENGTH) {
    throw new GatehouseError('password_policy', {
      detail: `The password has ${length} characters; it needs ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH}`,
    });
  }
}

export async function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_PARAMS);
}

export const isSupportedHash = (stored: string): boolean =>
  stored.startsWith('$argon2') || /^\$2[aby]\$\d\d\$/.test(stored);

export interface PasswordCheck {
  ok: boolean;
  /** The stored hash is bcrypt or weaker argon2 parameters: replace it now that the plaintext is known. */
  needsRehash: boolean;
}

export async function verifyPassword(stored: string, password: string): Promise<PasswordCheck> {
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

let decoyHash: Promise<string> | undefined;

/** An argon2 hash of nothing anyone knows: verifying against it makes an unknown email cost what a wrong password costs. */
export async function spendDecoyVerification(password: string): Promise<void> {
  decoyHash ??= hashPassword(randomBase64url(24));
  await verify(await decoyHash, password);
}
