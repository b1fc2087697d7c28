import { Secret, TOTP } from 'otpauth';

/** RFC 6238 with the parameters every authenticator app assumes: HMAC-SHA-1, 6 digits, 30-second steps. */
const PERIOD_SECONDS = 30;
const DIGITS = 6;
/** One step either side of now (RFC 6238 §5.2): phones drift and people type slowly, but no more than that. */
const WINDOW = 1;

const TOTP_CODE_SHAPE = /^\d{6}$/;

function totp(secret: string, label = 'account', issuer = ''): TOTP {
  return new TOTP({
    issuer,
    label,
    algorithm: 'SHA1',
    digits: DIGITS,
    period: PERIOD_SECONDS,
    secret: Secret.fromBase32(secret),
  });
}

/** A new 160-bit secret (RFC 4226 §4's recommended length), base32 as authenticator apps take it. */
export const newTotpSecret = (): string => new Secret({ size: 20 }).base32;

/** The `otpauth://totp/…` URI a QR code carries (Key Uri Format): issuer and label tell the user which account. */
export const totpUri = (secret: string, label: string, issuer: string): string =>
  totp(secret, label, issuer).toString();

/** Whether `code` looks like a TOTP code at all (after dropping the spaces people type in the middle). */
export const isTotpShaped = (code: string): boolean => TOTP_CODE_SHAPE.test(code);

/**
 * The time step whose code `code` is, within one step of `now`, or null. otpauth compares in constant time;
 * the caller must still accept each step once only (`claimTotpStep`).
 */
export function matchTotp(secret: string, code: string, now: number): number | null {
  if (!isTotpShaped(code)) return null;
  const delta = totp(secret).validate({ token: code, timestamp: now, window: WINDOW });
  return delta === null ? null : TOTP.counter({ period: PERIOD_SECONDS, timestamp: now }) + delta;
}
