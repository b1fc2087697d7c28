/** The signing algorithms Gatehouse signs with; a verifier never accepts any other (no `none`, no HMAC). */
export const GATEHOUSE_ALGORITHMS = ['EdDSA', 'ES256'] as const;
export type Algorithm = (typeof GATEHOUSE_ALGORITHMS)[number];

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export interface VerifierOptions {
  /** The Gatehouse public URL (`GATEHOUSE_PUBLIC_URL`): the `iss` of its tokens and the base of discovery. */
  issuer: string;
  /** Accepted `aud` values; default: the issuer, which is what Gatehouse puts in `aud` by default. */
  audience?: string | string[];
  /** Least time between two JWKS fetches, however many unknown `kid`s arrive (default 30). */
  jwksCooldownSeconds?: number;
  /** A JWKS older than this is fetched again in the background on the next verification (default 600). */
  jwksMaxAgeSeconds?: number;
  /** Skips discovery and reads the keys from this URL. */
  jwksUri?: string;
  /** Algorithms accepted; a subset of EdDSA and ES256 (default both). */
  algorithms?: Algorithm[];
  /** Tolerance for `exp` and `nbf`, as on the server (`GATEHOUSE_CLOCK_SKEW_SECONDS`, default 30). */
  clockSkewSeconds?: number;
  /** Verified tokens kept in memory, keyed by the exact token string; `false` turns the cache off. */
  tokenCache?: false | { maxEntries?: number; maxAgeSeconds?: number };
  /** How long the answer of `POST /v1/keys/verify` is reused, per key. */
  apiKeyCache?: { validSeconds?: number; invalidSeconds?: number; maxEntries?: number };
  /** Timeout of each request to the issuer (discovery, JWKS, key checks), in milliseconds (default 5000). */
  requestTimeoutMs?: number;
  /** Called when a background JWKS refresh fails; verification goes on with the keys already held. */
  onJwksError?: (error: Error) => void;
  clock?: Clock;
  fetch?: typeof fetch;
}

export interface ResolvedOptions {
  issuer: string;
  audience: string[];
  jwksCooldownMs: number;
  jwksMaxAgeMs: number;
  jwksUri?: string;
  algorithms: Algorithm[];
  clockSkewSeconds: number;
  tokenCache: false | { maxEntries: number; maxAgeMs: number };
  apiKeyCache: { validMs: number; invalidMs: number; maxEntries: number };
  requestTimeoutMs: number;
  onJwksError?: (error: Error) => void;
  clock: Clock;
  fetch: typeof fetch;
}

function seconds(name: string, value: number | undefined, fallback: number): number {
  const chosen = value ?? fallback;
  if (!Number.isFinite(chosen) || chosen < 0) {
    throw new TypeError(`createVerifier: ${name} must be a number of seconds ≥ 0, not ${String(value)}`);
  }
  return chosen;
}

function count(name: string, value: number | undefined, fallback: number): number {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen < 1) {
    throw new TypeError(`createVerifier: ${name} must be a whole number ≥ 1, not ${String(value)}`);
  }
  return chosen;
}

function issuerOf(value: unknown): string {
  if (typeof value !== 'string' || !URL.canParse(value)) {
    throw new TypeError(`createVerifier: issuer must be the Gatehouse public URL, not ${String(value)}`);
  }
  return value.replace(/\/+$/, '');
}

function algorithmsOf(value: Algorithm[] | undefined): Algorithm[] {
  const chosen = value ?? [...GATEHOUSE_ALGORITHMS];
  const refused = chosen.filter((alg) => !(GATEHOUSE_ALGORITHMS as readonly string[]).includes(alg));
  if (chosen.length === 0 || refused.length > 0) {
    throw new TypeError(
      `createVerifier: algorithms must be some of ${GATEHOUSE_ALGORITHMS.join(', ')}, not ${JSON.stringify(value)}`,
    );
  }
  return chosen;
}

/** Checked once, then frozen: a wrong option fails at start with its name, not at the first request. */
export function resolveOptions(options: VerifierOptions): Readonly<ResolvedOptions> {
  const issuer = issuerOf(options.issuer);
  const audience = options.audience === undefined ? [issuer] : [options.audience].flat();
  if (audience.length === 0 || audience.some((aud) => typeof aud !== 'string' || aud === '')) {
    throw new TypeError('createVerifier: audience must be a non-empty string or list of strings');
  }
  const tokenCache = options.tokenCache;
  return Object.freeze({
    issuer,
    audience,
    jwksCooldownMs: seconds('jwksCooldownSeconds', options.jwksCooldownSeconds, 30) * 1000,
    jwksMaxAgeMs: seconds('jwksMaxAgeSeconds', options.jwksMaxAgeSeconds, 600) * 1000,
    ...(options.jwksUri ? { jwksUri: options.jwksUri } : {}),
    algorithms: algorithmsOf(options.algorithms),
    clockSkewSeconds: seconds('clockSkewSeconds', options.clockSkewSeconds, 30),
    tokenCache:
      tokenCache === false
        ? false
        : {
            maxEntries: count('tokenCache.maxEntries', tokenCache?.maxEntries, 10_000),
            maxAgeMs: seconds('tokenCache.maxAgeSeconds', tokenCache?.maxAgeSeconds, 60) * 1000,
          },
    apiKeyCache: {
      validMs: seconds('apiKeyCache.validSeconds', options.apiKeyCache?.validSeconds, 10) * 1000,
      invalidMs: seconds('apiKeyCache.invalidSeconds', options.apiKeyCache?.invalidSeconds, 5) * 1000,
      maxEntries: count('apiKeyCache.maxEntries', options.apiKeyCache?.maxEntries, 10_000),
    },
    requestTimeoutMs: count('requestTimeoutMs', options.requestTimeoutMs, 5000),
    ...(options.onJwksError ? { onJwksError: options.onJwksError } : {}),
    clock: options.clock ?? { now: () => Date.now() },
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
  });
}
