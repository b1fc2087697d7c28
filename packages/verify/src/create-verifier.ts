import { createAccessTokenVerifier } from './access-token.js';
import { createExpressMiddleware, type ExpressGuardMiddleware } from './adapters/express.js';
import {
  createFastifyGuard,
  createFastifyPlugin,
  type FastifyGuardHook,
  type FastifyGuardPlugin,
} from './adapters/fastify.js';
import { createFetchHandler, type GuardedFetchHandler } from './adapters/fetch.js';
import { type ApiKeyResult, createApiKeyVerifier } from './api-keys.js';
import { type Authenticator, createAuthenticator, type GuardOptions } from './authenticate.js';
import { createIssuerHttp } from './issuer-http.js';
import { createJwksCache } from './jwks-cache.js';
import { resolveOptions, type VerifierOptions } from './options.js';
import { RefusalError, refusal, type TokenResult } from './results.js';
import { createVerifiedTokens } from './verified-tokens.js';

export interface Verifier {
  /** Verifies an access token locally from the issuer's JWKS. Resolves a refusal for a bad token; never throws for one. */
  verify(token: string): Promise<TokenResult>;
  /** Asks the server about an API key (`POST /v1/keys/verify`); the answer is reused for a short time. */
  verifyApiKey(key: string, check?: { scope?: string }): Promise<ApiKeyResult>;
  /** Judges an Authorization header: what the adapters below do, for any other framework. */
  authenticate: Authenticator;
  /** Fastify plugin: `app.register(verifier.fastifyPlugin, { scope })` guards the routes of that context. */
  fastifyPlugin: FastifyGuardPlugin;
  /** Fastify onRequest hook for a single route: `{ onRequest: verifier.fastifyGuard({ scope }) }`. */
  fastifyGuard(guard?: GuardOptions): FastifyGuardHook;
  /** Express (or Connect, or node:http) middleware. */
  expressMiddleware(guard?: GuardOptions): ExpressGuardMiddleware;
  /** Wraps a `(request: Request) => Response` handler. */
  fetchHandler<Rest extends unknown[]>(
    handler: GuardedFetchHandler<Rest>,
    guard?: GuardOptions,
  ): (request: Request, ...rest: Rest) => Promise<Response>;
}

export function createVerifier(options: VerifierOptions): Verifier {
  const resolved = resolveOptions(options);
  const http = createIssuerHttp(resolved.fetch, resolved.requestTimeoutMs);
  const verifyAccessToken = createAccessTokenVerifier(resolved, createJwksCache(resolved, http));
  const cache = resolved.tokenCache
    ? createVerifiedTokens(resolved.clock, resolved.tokenCache.maxEntries, resolved.tokenCache.maxAgeMs)
    : undefined;

  async function verifyAfresh(token: string): Promise<TokenResult> {
    if (typeof token !== 'string' || token === '') return refusal('token_missing');
    try {
      const claims = await verifyAccessToken(token);
      return cache ? cache.remember(token, claims) : { ok: true, claims };
    } catch (error) {
      if (error instanceof RefusalError) return error.refusal;
      throw error;
    }
  }

  // Not async: a repeated token is answered with the cached promise itself, the hot path of a busy API.
  const verify = (token: string): Promise<TokenResult> => cache?.get(token) ?? verifyAfresh(token);
  const verifyApiKey = createApiKeyVerifier(resolved, http);
  const context = { authenticate: createAuthenticator(verify, verifyApiKey), issuer: resolved.issuer };
  return {
    verify,
    verifyApiKey,
    authenticate: context.authenticate,
    fastifyPlugin: createFastifyPlugin(context),
    fastifyGuard: (guard) => createFastifyGuard(context, guard),
    expressMiddleware: (guard) => createExpressMiddleware(context, guard),
    fetchHandler: (handler, guard) => createFetchHandler(context, handler, guard),
  };
}
