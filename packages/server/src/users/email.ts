import { GatehouseError } from '../errors/gatehouse-error.js';

/**
 * The one canonical form of an email, used for every lookup and for storage: trimmed, NFKC, case-folded.
 * JavaScript has no full Unicode case folding; upper-then-lower case mapping is its full-folding equivalent
 * for the cases that matter here ("ß" and "SS" → "ss", final sigma), with NFKC again after the mapping.
 */
export function canonicalEmail(raw: string): string {
  return raw.trim().normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');
}

// No whitespace, no control or format characters (NUL would also be refused by PostgreSQL as a 500).
const EMAIL_SHAPE = /^[^\s@\p{Cc}\p{Cf}]{1,64}@[^\s@\p{Cc}\p{Cf}]{1,253}$/u;

export function parseEmail(raw: string): string {
  const email = canonicalEmail(raw);
  const domain = email.split('@')[1] ?? '';
  if (
    email.length > 320 ||
    !EMAIL_SHAPE.test(email) ||
    !domain.includes('.') ||
    domain.startsWith('.') ||
    domain.endsWith('.')
  ) {
    throw new GatehouseError('validation_failed', { detail: 'email: not an email address' });
  }
  return email;
}
