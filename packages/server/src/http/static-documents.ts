import type { IncomingMessage, ServerResponse } from 'node:http';
import { JWKS_MAX_AGE_SECONDS } from '../keyring/keyring.js';
import type { Metrics } from '../metrics/metrics.js';
import { PUBLIC_DOCUMENT_CORS } from './cors.js';
import { discoveryDocument, type WellKnownRoutesDeps } from './routes/well-known.js';

interface StaticDocument {
  body(): string;
  cacheControl: string;
}

/**
 * The discovery document and the JWKS, answered before the framework sees the request. Both are public and
 * the same bytes for everyone until the configuration or the keyring changes, and for such a response
 * routing, hooks and reply handling cost several times what writing it does; verifiers fetch them in
 * bursts (at startup, on unknown kids). The routes in well-known.ts still serve HEAD, query strings and
 * the OpenAPI description.
 */
export function staticDocuments({
  keyring,
  config,
  metrics,
}: WellKnownRoutesDeps & { metrics: Pick<Metrics, 'httpRequest'> }) {
  const discovery = JSON.stringify(discoveryDocument(config.issuer));
  const documents = new Map<string, StaticDocument>([
    ['/.well-known/openid-configuration', { body: () => discovery, cacheControl: 'public, max-age=3600' }],
    [
      '/.well-known/jwks.json',
      { body: () => keyring.jwksJson(), cacheControl: `public, max-age=${JWKS_MAX_AGE_SECONDS}` },
    ],
  ]);

  /** Answers the request and returns true if it asks for one of the documents with a plain GET. */
  return function answer(request: IncomingMessage, response: ServerResponse): boolean {
    const document = request.method === 'GET' ? documents.get(request.url ?? '') : undefined;
    if (!document) return false;
    const started = performance.now();
    const body = document.body();
    response.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': document.cacheControl,
      'content-length': Buffer.byteLength(body),
      ...PUBLIC_DOCUMENT_CORS,
    });
    response.end(body);
    metrics.httpRequest('GET', request.url!, 200, (performance.now() - started) / 1000);
    return true;
  };
}
