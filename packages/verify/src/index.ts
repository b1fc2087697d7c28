export type { ExpressGuardMiddleware, NodeLikeRequest, NodeLikeResponse } from './adapters/express.js';
export type {
  FastifyGuardHook,
  FastifyGuardPlugin,
  FastifyLikeInstance,
  FastifyLikeReply,
  FastifyLikeRequest,
} from './adapters/fastify.js';
export type { GuardedFetchHandler } from './adapters/fetch.js';
export type { ApiKeyPrincipal, ApiKeyResult } from './api-keys.js';
export type { AuthResult, GatehouseAuth, GuardOptions } from './authenticate.js';
export { bearerCredential } from './authenticate.js';
export { createVerifier, type Verifier } from './create-verifier.js';
export type { Algorithm, Clock, VerifierOptions } from './options.js';
export { type RefusalResponse, refusalResponse } from './problem.js';
export type { AccessTokenClaims, Refusal, TokenResult } from './results.js';
