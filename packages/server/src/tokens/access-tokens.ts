import { accessTokenFormat, hasAccessTokenShape, joseRefusal, wellFormedKid } from '@gatehouse/codes';
import {
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  jwtVerify,
  type ProtectedHeaderParameters,
  SignJWT,
} from 'jose';
import { LRUCache } from 'lru-cache';
import { v7 as uuidv7 } from 'uuid';
import type { CheckTrail } from '../checks/check-trail.js';
import { fromNow } from '../checks/human-duration.js';
import { type Clock, toEpochSeconds, toIso } from '../clock.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { ALLOWED_ALGS, type Keyring, type VerificationKey } from '../keyring/keyring.js';

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

export interface AccessTokens {
  issue(input: {
    sub: string;
    sid?: string;
    scope: string;
    clientId?: string;
    amr?: string[];
    ttlSeconds?: number;
  }): Promise<IssuedAccessToken>;
  /**
   * The access-token decision: shape, header, algorithm, key, signature, `typ`, issuer, audience, required
   * claims and times, in that order; throws GatehouseError with the first failure's reason. With a `trail`
   * (a diagnosis) every check is recorded and the verified-token cache is neither read nor filled.
   */
  verify(token: string, trail?: CheckTrail): Promise<AccessClaims>;
}

const REQUIRED_CLAIMS = ['sub', 'exp', 'iat', 'jti'];

/** The trail's name for the check a jose refusal failed. */
function failedCheck(error: errors.JOSEError): string {
  if (error instanceof errors.JWTClaimValidationFailed || error instanceof errors.JWTExpired) {
    return error.claim;
  }
  return error instanceof errors.JWSSignatureVerificationFailed ? 'signature' : 'structure';
}

/** The claims as written, unverified: for explaining a refusal, never for deciding one. */
export function unverifiedClaims(token: string): JWTPayload {
  try {
    return decodeJwt(token);
  } catch {
    return {};
  }
}

function unverifiedIssuer(token: string): string | undefined {
  const { iss } = unverifiedClaims(token);
  return typeof iss === 'string' ? iss.slice(0, 200) : undefined;
}

export function createAccessTokens(options: AccessTokenOptions): AccessTokens {
  const { keyring, clock, issuer, audience, clockSkewSeconds } = options;
  const verified = new LRUCache<string, { claims: AccessClaims; kid: string }>({
    max: options.cacheSize ?? 10_000,
  });
  const audienceClaim = audience.length === 1 ? audience[0] : audience;

  /**
   * A token verified before, while its key still verifies: only its expiry can have changed. A token whose
   * key has left the keyring since is judged again from the start, so it earns the same code as on its
   * first use (`token_unknown_key`), not an answer that depends on this instance's memory.
   */
  function fromCache(token: string): AccessClaims | undefined {
    const entry = verified.get(token);
    options.onCacheLookup?.(entry !== undefined);
    if (!entry) return undefined;
    const { claims, kid } = entry;
    if (!keyring.verificationKey(kid)) {
      verified.delete(token);
      return undefined;
    }
    if (claims.exp + clockSkewSeconds <= toEpochSeconds(clock.now())) {
      verified.delete(token);
      throw new GatehouseError('token_expired', { detail: `Expired at ${toIso(claims.exp * 1000)}` });
    }
    return claims;
  }

  function readHeader(token: string, trail: CheckTrail | undefined): ProtectedHeaderParameters {
    if (!hasAccessTokenShape(token)) {
      const detail = 'Not three base64url segments separated by dots';
      trail?.fail('structure', detail);
      throw new GatehouseError('token_malformed', { detail });
    }
    // The payload is read before the signature is checked so that a cut or garbled payload is named as
    // malformed, not as a forgery.
    try {
      const header = decodeProtectedHeader(token);
      decodeJwt(token);
      trail?.pass('structure', 'Three base64url segments; the header and payload decode');
      return header;
    } catch {
      const detail = 'The header or payload is not base64url-encoded JSON';
      trail?.fail('structure', detail);
      throw new GatehouseError('token_malformed', { detail });
    }
  }

  function assertAllowedAlg(alg: string, trail: CheckTrail | undefined): void {
    if ((ALLOWED_ALGS as readonly string[]).includes(alg)) {
      trail?.pass('alg', `${alg} is allowed`);
      return;
    }
    const detail = `alg "${alg.slice(0, 20)}" is not one of ${ALLOWED_ALGS.join(', ')}`;
    trail?.fail('alg', detail);
    throw new GatehouseError('token_alg_not_allowed', { detail });
  }

  /** Why a kid names no verifying key (retired long ago, another installation's, none at all), and what to do. */
  function unknownKey(kid: string | undefined, token: string): GatehouseError {
    const missing = `Key ${kid ?? '(no kid)'} is not in this keyring (active, next or retired)`;
    const known = kid ? keyring.describe(kid) : undefined;
    if (known?.retiredAt) {
      return new GatehouseError('token_unknown_key', {
        detail: `Key ${kid} was retired at ${toIso(known.retiredAt)} and stopped verifying at ${toIso(known.verifyUntil ?? known.retiredAt)}`,
        hint: 'The signing key was retired long ago; sign in again.',
      });
    }
    const tokenIssuer = unverifiedIssuer(token);
    if (tokenIssuer && tokenIssuer !== issuer) {
      return new GatehouseError('token_unknown_key', {
        detail: `${missing}; the token claims issuer "${tokenIssuer}"`,
        hint: `Issued by "${tokenIssuer}", not by this server ("${issuer}"): a token from another installation or environment. Sign in against this server.`,
      });
    }
    return new GatehouseError('token_unknown_key', {
      detail: missing,
      hint: `This installation never held key ${kid ?? '(none)'}: the token comes from another installation with the same issuer URL, or the master key and keys were replaced.`,
    });
  }

  // The key comes from our keyring only: jku, x5u, jwk and x5c headers are never followed.
  function keyFor(header: ProtectedHeaderParameters, token: string, trail: CheckTrail | undefined) {
    const kid = wellFormedKid(header.kid);
    const key = kid ? keyring.verificationKey(kid) : undefined;
    if (!key) {
      const refusal = unknownKey(kid, token);
      trail?.fail('kid', refusal.detail ?? refusal.hint);
      throw refusal;
    }
    trail?.pass('kid', `Key ${kid} is ${keyring.describe(key.kid)?.state ?? 'held'} in this keyring`);
    if (key.alg !== header.alg) {
      const detail = `Key ${key.kid} signs with ${key.alg}, not ${String(header.alg).slice(0, 20)}`;
      trail?.fail('alg', detail);
      throw new GatehouseError('token_alg_not_allowed', { detail });
    }
    return key;
  }

  /** A time refusal, told against the server's clock and tolerance; any other as jose's refusal says. */
  function explainRefusal(error: errors.JOSEError, detail: string): string {
    const claim = failedCheck(error);
    const at = (error as errors.JWTClaimValidationFailed).payload?.[claim];
    if ((claim !== 'exp' && claim !== 'nbf') || typeof at !== 'number') return detail;
    const now = clock.now();
    const serverTime = `server time ${toIso(now)}, tolerance ${clockSkewSeconds}s`;
    return claim === 'exp'
      ? `Expired at ${toIso(at * 1000)}, ${fromNow(at * 1000 - now)} (${serverTime})`
      : `Not valid before ${toIso(at * 1000)}, ${fromNow(at * 1000 - now)} (${serverTime}): the issuing clock is ahead by about that much`;
  }

  /** What a diagnosis shows of a token that passed: the claims each check read. */
  function explainAccepted(trail: CheckTrail, claims: AccessClaims, kid: string): void {
    const now = clock.now();
    trail.pass('signature', `Verified with key ${kid}`);
    trail.pass('typ', `${accessTokenFormat.typ}`);
    trail.pass('iss', `"${claims.iss}"`);
    trail.pass('aud', `${JSON.stringify(claims.aud)}; this server accepts ${JSON.stringify(audience)}`);
    trail.pass('iat', `Issued at ${toIso(claims.iat * 1000)} (${fromNow(claims.iat * 1000 - now)})`);
    const left = claims.exp * 1000 - now;
    trail.pass(
      'exp',
      left > 0
        ? `Expires at ${toIso(claims.exp * 1000)}, ${fromNow(left)} (server time ${toIso(now)})`
        : `Expired at ${toIso(claims.exp * 1000)}, ${fromNow(left)}: still accepted within the ${clockSkewSeconds} s clock tolerance (server time ${toIso(now)})`,
    );
  }

  async function verifySignatureAndClaims(
    token: string,
    trail: CheckTrail | undefined,
  ): Promise<{ claims: AccessClaims; key: VerificationKey }> {
    const header = readHeader(token, trail);
    assertAllowedAlg(String(header.alg), trail);
    const key = keyFor(header, token, trail);
    try {
      const { payload } = await jwtVerify(token, key.key, {
        algorithms: [key.alg],
        issuer,
        audience,
        typ: accessTokenFormat.typ,
        clockTolerance: clockSkewSeconds,
        currentDate: new Date(clock.now()),
        requiredClaims: REQUIRED_CLAIMS,
      });
      const claims = payload as AccessClaims;
      if (trail) explainAccepted(trail, claims, key.kid);
      return { claims, key };
    } catch (error) {
      if (!(error instanceof errors.JOSEError)) throw error;
      const { code, detail } = joseRefusal(error, { kid: key.kid, issuer, audience, checker: 'this server' });
      // jose checks the claims only once the signature has verified.
      if (failedCheck(error) !== 'signature' && failedCheck(error) !== 'structure') {
        trail?.pass('signature', `Verified with key ${key.kid}`);
      }
      trail?.fail(failedCheck(error), explainRefusal(error, detail));
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
    async verify(token, trail) {
      if (trail) return (await verifySignatureAndClaims(token, trail)).claims;
      const cached = fromCache(token);
      if (cached) return cached;
      const { claims, key } = await verifySignatureAndClaims(token, undefined);
      verified.set(token, { claims, kid: key.kid });
      return claims;
    },
  };
}
