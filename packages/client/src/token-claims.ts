/** The claims the client schedules by; the server verifies the token, the client only reads its times. */
export interface TokenTimes {
  /** Expiry, server epoch ms. */
  expiresAt: number;
  /** Issue time, server epoch ms. */
  issuedAt: number;
}

function decodeSegment(segment: string): unknown {
  const base64 = segment.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** `exp` and `iat` of a JWT access token, or undefined when it is not a JWT the client can read. */
export function tokenTimes(jwt: string): TokenTimes | undefined {
  const payload = jwt.split('.')[1];
  if (!payload) return undefined;
  let claims: unknown;
  try {
    claims = decodeSegment(payload);
  } catch {
    // Not base64url JSON: an opaque token, refreshed when the server says so (401 token_expired).
    return undefined;
  }
  const { exp, iat } = (claims ?? {}) as { exp?: unknown; iat?: unknown };
  if (typeof exp !== 'number' || typeof iat !== 'number') return undefined;
  return { expiresAt: exp * 1000, issuedAt: iat * 1000 };
}
