import { accessTokenFormat, hasAccessTokenShape, joseRefusal, wellFormedKid } from '@gatehouse/codes';
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { HeldKey, JwksCache } from './jwks-cache.js';
import type { ResolvedOptions } from './options.js';
import { type AccessTokenClaims, RefusalError } from './results.js';

function unverifiedIssuer(token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' ? iss.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}

/** The header's alg and kid, refused in the server's order: structure, algorithm, then key. */
function readHeader(token: string, algorithms: readonly string[]): { alg: string; kid: string | undefined } {
  if (!hasAccessTokenShape(token)) {
    throw new RefusalError('token_malformed', { detail: 'Not three base64url segments separated by dots' });
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new RefusalError('token_malformed', { detail: 'The header is not base64url-encoded JSON' });
  }
  const alg = String(header.alg);
  if (!algorithms.includes(alg)) {
    throw new RefusalError('token_alg_not_allowed', {
      detail: `alg "${alg.slice(0, 20)}" is not one of ${algorithms.join(', ')}`,
    });
  }
  const kid = wellFormedKid(header.kid);
  return { alg, kid };
}

/** jose's errors in the server's reason codes; anything that is not a JOSE error is a bug and is thrown. */
function refusalOf(error: unknown, kid: string, options: ResolvedOptions): RefusalError {
  if (!(error instanceof errors.JOSEError)) throw error;
  const { issuer, audience } = options;
  const { code, detail } = joseRefusal(error, { kid, issuer, audience, checker: 'this verifier' });
  return new RefusalError(code, { detail });
}

export type AccessTokenVerifier = (token: string) => Promise<AccessTokenClaims>;

/** Verifies a Gatehouse access token from the issuer's JWKS; throws a RefusalError with the server's code. */
export function createAccessTokenVerifier(
  options: Readonly<ResolvedOptions>,
  jwks: JwksCache,
): AccessTokenVerifier {
  const { algorithms, clock } = options;

  async function keyFor(token: string, alg: string, kid: string | undefined): Promise<HeldKey> {
    // The key comes from the issuer's JWKS only: jku, x5u, jwk and x5c headers are never followed.
    const key = kid === undefined ? undefined : (jwks.held(kid) ?? (await jwks.fetchFor(kid)));
    if (!key) {
      const tokenIssuer = unverifiedIssuer(token);
      throw new RefusalError('token_unknown_key', {
        detail:
          `Signed with kid "${kid ?? '(none)'}", which the issuer's JWKS does not hold` +
          (tokenIssuer && tokenIssuer !== options.issuer
            ? `; the token claims issuer "${tokenIssuer}", this verifier trusts "${options.issuer}"`
            : ''),
      });
    }
    if (key.alg !== alg) {
      throw new RefusalError('token_alg_not_allowed', {
        detail: `Key ${kid} signs with ${key.alg}, not ${alg}`,
      });
    }
    return key;
  }

  return async (token) => {
    const { alg, kid } = readHeader(token, algorithms);
    const key = await keyFor(token, alg, kid);
    try {
      const { payload } = await jwtVerify<AccessTokenClaims>(token, key.key, {
        algorithms: [key.alg],
        issuer: options.issuer,
        audience: options.audience,
        typ: accessTokenFormat.typ,
        clockTolerance: options.clockSkewSeconds,
        currentDate: new Date(clock.now()),
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      });
      return payload;
    } catch (error) {
      throw refusalOf(error, kid ?? '', options);
    }
  };
}
