import { accessTokenFormat, hasAccessTokenShape, joseRefusal, wellFormedKid } from '@gatehouse/codes';
import { decodeJwt, decodeProtectedHeader, errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { LRUCache } from 'lru-cache';
import { v7 as uuidv7 } from 'uuid';
import { type Clock, toEpochSeconds } from '../clock.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { ALLOWED_ALGS, type Keyring } from '../keyring/keyring.js';

export interface AccessClaims extends JWTPayload {
  sub: string;
  sid?: string;
  scope: string;
  jti: string;
  iat: number;
  exp: number;
  client_id?: string;
  amr?: string[];
}

export interface IssuedAccessToken {
  token: string;
  expiresIn: number;
  claims: AccessClaims;
}

export interface AccessTokenOptions {
  keyring: Keyring;
  clock: Clock;
  issuer: string;
  audience: string[];
  ttlSeconds: number;
  clockSkewSeconds: number;
  /** Verified tokens kept in memory, keyed by the exact token string (the hot path skips the signature). */
  cacheSize?: number;
  onCacheLookup?: (hit: boolean) => void;
}

function unverifiedIssuer(token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' ? iss.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}

export interface AccessTokens {
  issue(input: {
    sub: string;
    sid?: string;
    scope: string;
    clientId?: string;
    amr?: string[];
    ttlSeconds?: number;
  }): Promise<IssuedAccessToken>;
  /** Verifies signature, algorithm, key, issuer, audience and times; throws GatehouseError with the reason. */
  verify(token: string): Promise<AccessClaims>;
}

export function createAccessTokens(options: AccessTokenOptions): AccessTokens {
  const { keyring, clock, issuer, audience, clockSkewSeconds } = options;
  const verified = new LRUCache<string, AccessClaims>({ max: options.cacheSize ?? 10_000 });
  const audienceClaim = audience.length === 1 ? audience[0] : audience;

  function fromCache(token: string): AccessClaims | undefined {
    const claims = verified.get(token);
    options.onCacheLookup?.(claims !== undefined);
    if (!claims) return undefined;
    if (claims.exp + clockSkewSeconds <= toEpochSeconds(clock.now())) {
      verified.delete(token);
      throw new GatehouseError('token_expired', {
        detail: `Expired at ${new Date(claims.exp * 1000).toISOString()}`,
      });
    }
    return claims;
  }

  async function verifySignatureAndClaims(token: string): Promise<AccessClaims> {
    if (!hasAccessTokenShape(token)) {
      throw new GatehouseError('token_malformed', {
        detail: 'Not three base64url segments separated by dots',
      });
    }
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new GatehouseError('token_malformed', { detail: 'The header is not base64url-encoded JSON' });
    }
    const alg = String(header.alg);
    if (!(ALLOWED_ALGS as readonly string[]).includes(alg)) {
      throw new GatehouseError('token_alg_not_allowed', {
        detail: `alg "${alg.slice(0, 20)}" is not one of ${ALLOWED_ALGS.join(', ')}`,
      });
    }
    // The key comes from our keyring only: jku, x5u, jwk and x5c headers are never followed.
    const kid = wellFormedKid(header.kid);
    const key = kid ? keyring.verificationKey(kid) : undefined;
    if (!key) {
      const tokenIssuer = unverifiedIssuer(token);
      throw new GatehouseError('token_unknown_key', {
        detail:
          `Signed with kid "${kid ?? '(none)'}", which this installation does not hold` +
          (tokenIssuer && tokenIssuer !== issuer
            ? `; the token claims issuer "${tokenIssuer}", this server is "${issuer}"`
            : ''),
      });
    }
    if (key.alg !== alg) {
      throw new GatehouseError('token_alg_not_allowed', {
        detail: `Key ${key.kid} signs with ${key.alg}, not ${alg}`,
      });
    }
    try {
      const { payload } = await jwtVerify(token, key.key, {
        algorithms: [key.alg],
        issuer,
        audience,
        typ: accessTokenFormat.typ,
        clockTolerance: clockSkewSeconds,
        currentDate: new Date(clock.now()),
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      });
      return payload as AccessClaims;
    } catch (error) {
      if (!(error instanceof errors.JOSEError)) throw error;
      const { code, detail } = joseRefusal(error, { kid: key.kid, issuer, audience, checker: 'this server' });
      throw new GatehouseError(code, { detail });
    }
  }

  return {
    async issue(input) {
      const now = toEpochSeconds(clock.now());
      const ttl = input.ttlSeconds ?? options.ttlSeconds;
      const signer = keyring.signer();
      const claims: AccessClaims = {
        iss: issuer,
        aud: audienceClaim,
        sub: input.sub,
        ...(input.sid ? { sid: input.sid } : {}),
        ...(input.clientId ? { client_id: input.clientId } : {}),
        ...(input.amr ? { amr: input.amr } : {}),
        scope: input.scope,
        iat: now,
        nbf: now,
        exp: now + ttl,
        jti: uuidv7(),
      };
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: accessTokenFormat.typ })
        .sign(signer.key);
      return { token, expiresIn: ttl, claims };
    },
    async verify(token) {
      const cached = fromCache(token);
      if (cached) return cached;
      const claims = await verifySignatureAndClaims(token);
      verified.set(token, claims);
      return claims;
    },
  };
}
