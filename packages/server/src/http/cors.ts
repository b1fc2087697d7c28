import cors from '@fastify/cors';
import type { App } from './types.js';

/** How long a browser may reuse a preflight's answer before asking again. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * Cross-origin calls from the browser apps GATEHOUSE_CORS_ORIGINS lists, with bearer tokens. Credentials are
 * never allowed cross-origin: the session cookie and its CSRF defence stay same-site, and a listed origin
 * signs in for tokens, which it sends in `Authorization`. With no origin listed, no CORS header is sent.
 */
export async function allowListedOrigins(app: App, origins: readonly string[]): Promise<void> {
  if (!origins.length) return;
  await app.register(cors, {
    origin: [...origins],
    credentials: false,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
    exposedHeaders: ['x-request-id', 'www-authenticate', 'retry-after'],
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
  });
}

/** The discovery document and the JWKS are public: any origin may read them, without credentials. */
export const PUBLIC_DOCUMENT_CORS = { 'access-control-allow-origin': '*' } as const;
