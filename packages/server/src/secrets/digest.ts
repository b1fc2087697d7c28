import { createHmac, hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** One-shot hashing: on the key-verification path a Hash object per call costs more than the digest. */
export const sha256Hex = (value: string): string => hash('sha256', value, 'hex');

export const hmacBase64url = (key: Uint8Array, value: string): string =>
  createHmac('sha256', key).update(value).digest('base64url');

export const randomBase64url = (bytes: number): string => randomBytes(bytes).toString('base64url');

/** Constant-time string comparison; unequal lengths are compared against themselves so timing stays flat. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

/** A secret as it may appear in a log or an event: its first and last characters only. */
export function previewSecret(secret: string, head = 8, tail = 4): string {
  if (secret.length <= head + tail + 3) return `${secret.slice(0, 2)}…`;
  return `${secret.slice(0, head)}…${secret.slice(-tail)}`;
}
