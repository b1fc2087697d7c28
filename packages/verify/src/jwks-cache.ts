import { type CryptoKey, importJWK, type JWK } from 'jose';
import type { IssuerHttp } from './issuer-http.js';
import type { Algorithm, ResolvedOptions } from './options.js';
import { RefusalError } from './results.js';

export interface HeldKey {
  alg: Algorithm;
  key: CryptoKey;
}

export interface JwksCache {
  /** The key of `kid` if it is held, without I/O; a JWKS past its max age is refreshed in the background. */
  held(kid: string): HeldKey | undefined;
  /**
   * For a `kid` not held: waits for a fetch in flight, or starts one when the cooldown has passed, then looks
   * again. Undefined when the issuer's JWKS does not hold the kid; throws `issuer_unavailable` when it could
   * not be read, and `issuer_misconfigured` when discovery names another issuer. Either is answered again,
   * without asking, until the cooldown has passed.
   */
  fetchFor(kid: string): Promise<HeldKey | undefined>;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for. One that names another
 * is a configuration error, not an outage: asking again cannot cure it, so it is not `issuer_unavailable`.
 */
function issuerMismatch(url: string, named: unknown, configured: string): RefusalError {
  const issuer = typeof named === 'string' ? `issuer "${named.slice(0, 200)}"` : 'no issuer';
  return new RefusalError('issuer_misconfigured', {
    detail: `${url} names ${issuer}, not "${configured}"`,
    hint:
      `Gatehouse's discovery document names ${issuer}, but this resource server was given the issuer ` +
      `"${configured}": set the verifier's issuer to the one Gatehouse names (its GATEHOUSE_PUBLIC_URL), or ` +
      'correct GATEHOUSE_PUBLIC_URL. Retrying does not help.',
  });
}

/**
 * The issuer's signing keys, fetched through discovery and held in memory. jose's createRemoteJWKSet has a
 * cooldown too, but hides when it fetches; holding the set here makes "one fetch per cooldown, however many
 * unknown kids arrive" a property of this module, and lets a failed refresh keep the keys already held.
 */
export function createJwksCache(options: Readonly<ResolvedOptions>, http: IssuerHttp): JwksCache {
  const { clock, algorithms, jwksCooldownMs, jwksMaxAgeMs } = options;
  let jwksUri = options.jwksUri;
  let keys = new Map<string, HeldKey>();
  let loadedAt: number | undefined;
  let attemptedAt: number | undefined;
  let lastError: Error | undefined;
  let inFlight: Promise<void> | undefined;

  async function discoverJwksUri(): Promise<string> {
    const url = `${options.issuer}/.well-known/openid-configuration`;
    const discovery = await http.getJson(url);
    if (!isRecord(discovery) || typeof discovery.jwks_uri !== 'string') {
      throw new Error(`${url} has no jwks_uri`);
    }
    if (discovery.issuer !== options.issuer) throw issuerMismatch(url, discovery.issuer, options.issuer);
    return discovery.jwks_uri;
  }

  /** A key the verifier may use: for signatures, with a kid, and with an algorithm it accepts. */
  function usable(jwk: unknown): jwk is JWK & { kid: string; alg: Algorithm } {
    return (
      isRecord(jwk) &&
      typeof jwk.kid === 'string' &&
      (algorithms as string[]).includes(String(jwk.alg)) &&
      (jwk.use === undefined || jwk.use === 'sig')
    );
  }

  async function load(): Promise<void> {
    jwksUri ??= await discoverJwksUri();
    const jwks = await http.getJson(jwksUri);
    if (!isRecord(jwks) || !Array.isArray(jwks.keys)) throw new Error(`${jwksUri} is not a JWKS`);
    const next = new Map<string, HeldKey>();
    for (const jwk of jwks.keys.filter(usable)) {
      const imported = keys.get(jwk.kid) ?? {
        alg: jwk.alg,
        key: (await importJWK(jwk, jwk.alg)) as CryptoKey,
      };
      next.set(jwk.kid, imported);
    }
    keys = next;
    loadedAt = clock.now();
  }

  /** One fetch at a time; every attempt, failed or not, starts the cooldown. Never rejects: the error is kept. */
  function refresh(): Promise<void> {
    if (!inFlight) {
      attemptedAt = clock.now();
      inFlight = load().then(
        () => {
          lastError = undefined;
          inFlight = undefined;
        },
        (error: Error) => {
          lastError = error;
          inFlight = undefined;
        },
      );
    }
    return inFlight;
  }

  const cooledDown = () => attemptedAt === undefined || clock.now() - attemptedAt >= jwksCooldownMs;

  return {
    held(kid) {
      if (loadedAt !== undefined && !inFlight && clock.now() - loadedAt >= jwksMaxAgeMs && cooledDown()) {
        void refresh().then(() => {
          if (lastError) options.onJwksError?.(lastError);
        });
      }
      return keys.get(kid);
    },
    async fetchFor(kid) {
      if (inFlight || cooledDown()) await refresh();
      const key = keys.get(kid);
      if (key || !lastError) return key;
      // A copy, so no caller holds a refusal another one was given.
      if (lastError instanceof RefusalError)
        throw new RefusalError(lastError.refusal.code, lastError.refusal);
      throw new RefusalError('issuer_unavailable', {
        detail:
          loadedAt === undefined
            ? `The issuer's keys could not be read: ${lastError.message}`
            : `Key ${kid} is not among the keys held, and the JWKS could not be read again: ${lastError.message}`,
      });
    },
  };
}
