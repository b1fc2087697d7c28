import type { Code } from './reason-codes.js';

/** What this mapping reads of a jose error (JOSEError and its subclasses); this package does not depend on jose. */
export interface JoseFailure {
  code: string;
  claim?: string;
  reason?: string;
  payload?: Record<string, unknown>;
}

export interface TokenRefusal {
  code: Code;
  detail: string;
}

/**
 * A failed jose verification of an access token in the registry's codes, with a detail for the event. The
 * server and `@gatehouse/verify` both call it, so a token is refused for the same reason wherever it is
 * checked; `checker` says who checked, in the detail ("this server", "this verifier").
 */
export function joseRefusal(
  failure: JoseFailure,
  context: { kid: string; issuer: string; audience: unknown; checker: string },
): TokenRefusal {
  const payload = failure.payload ?? {};
  switch (failure.code) {
    case 'ERR_JWT_EXPIRED':
      return {
        code: 'token_expired',
        detail: `Expired at ${new Date(Number(payload.exp) * 1000).toISOString()}`,
      };
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return { code: 'token_signature_invalid', detail: `The signature does not match key ${context.kid}` };
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return claimRefusal(failure, payload, context);
    default:
      return { code: 'token_malformed', detail: failure.code };
  }
}

function claimRefusal(
  failure: JoseFailure,
  payload: Record<string, unknown>,
  context: { issuer: string; audience: unknown; checker: string },
): TokenRefusal {
  switch (failure.claim) {
    case 'iss':
      return {
        code: 'token_issuer_mismatch',
        detail: `The token's iss is "${String(payload.iss).slice(0, 200)}"; ${context.checker} trusts "${context.issuer}"`,
      };
    case 'aud':
      return {
        code: 'token_audience_mismatch',
        detail: `The token's aud is ${JSON.stringify(payload.aud)}; ${context.checker} accepts ${JSON.stringify(context.audience)}`,
      };
    case 'nbf':
    case 'iat':
      return { code: 'token_not_yet_valid', detail: `The token's ${failure.claim} is in the future` };
    default:
      return { code: 'token_malformed', detail: `Claim check failed: ${failure.claim} (${failure.reason})` };
  }
}
