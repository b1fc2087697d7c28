import { Secret, TOTP } from 'otpauth';
import type { Clock } from '../../src/clock.js';
import { call, PASSWORD } from './http.js';
import type { TestServer } from './test-server.js';

const STEP_MS = 30_000;

/** The code an authenticator app shows at `timestamp` for this base32 secret (SHA-1, 6 digits, 30 s). */
export const totpAt = (secret: string, timestamp: number): string =>
  TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30, timestamp });

/**
 * Moves the clock `steps` time steps on, to 5 s into that step: a code computed now then stays current for
 * 25 s whatever the test's own pace, and a step no earlier request used.
 */
export function nextStep(clock: Clock & { advance(ms: number): void }, steps = 1): number {
  const now = clock.now();
  clock.advance(STEP_MS * steps - (now % STEP_MS) + 5_000);
  return clock.now();
}

export const login = (server: TestServer, email: string, password = PASSWORD) =>
  call(server.url, 'POST', '/v1/auth/login', { body: { email, password } });

export const verify = (server: TestServer, mfaToken: string, code: string) =>
  call(server.url, 'POST', '/v1/auth/mfa/verify', { body: { mfa_token: mfaToken, code } });

/** Enrolls and confirms an authenticator app for the user of `token`; the clock then moves to a fresh step. */
export async function enableMfa(
  server: TestServer,
  token: string,
  clock: Clock & { advance(ms: number): void },
): Promise<{ secret: string; backupCodes: string[] }> {
  const enroll = await call(server.url, 'POST', '/v1/auth/mfa/totp/enroll', { token });
  if (enroll.status !== 200) throw new Error(`enroll failed: ${enroll.status} ${enroll.text}`);
  const secret = enroll.body.secret as string;
  const confirm = await call(server.url, 'POST', '/v1/auth/mfa/totp/confirm', {
    token,
    body: { code: totpAt(secret, nextStep(clock)) },
  });
  if (confirm.status !== 200) throw new Error(`confirm failed: ${confirm.status} ${confirm.text}`);
  nextStep(clock);
  return { secret, backupCodes: confirm.body.backup_codes as string[] };
}

/** The claims of a JWT, read without verifying it (the server verified it when it issued it). */
export const claimsOf = (jwt: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'));
