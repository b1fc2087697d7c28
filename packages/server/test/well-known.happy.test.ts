import { describe, expect, it } from 'vitest';
import { call } from './support/http.js';
import { type TestServer, useTestServer } from './support/test-server.js';

// The discovery document and the JWKS are answered before the framework: the same answer as any route.
describe('the discovery document and the JWKS', () => {
  let server: TestServer;
  useTestServer({}, (started) => {
    server = started.server;
  });

  it('answer GET with the document, its caching, a request id, and a count in the metrics', async () => {
    for (const [path, maxAge] of [
      ['/.well-known/jwks.json', 300],
      ['/.well-known/openid-configuration', 3600],
    ] as const) {
      const reply = await call(server.url, 'GET', path, { headers: { 'x-request-id': 'probe-1' } });
      expect(reply.status).toBe(200);
      expect(reply.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(reply.headers.get('cache-control')).toBe(`public, max-age=${maxAge}`);
      expect(reply.headers.get('x-request-id')).toBe('probe-1');
      expect(Number(reply.headers.get('content-length'))).toBe(Buffer.byteLength(reply.text));
    }
    const jwks = await call(server.url, 'GET', '/.well-known/jwks.json');
    expect(jwks.body.keys.map((key: { kid: string }) => key.kid)).toEqual(
      server.gatehouse.keyring
        .list()
        .filter((key) => key.state !== 'retired')
        .map((key) => key.kid),
    );
    const discovery = await call(server.url, 'GET', '/.well-known/openid-configuration');
    expect(discovery.body.jwks_uri).toBe(`${server.gatehouse.config.issuer}/.well-known/jwks.json`);

    const metrics = await call(server.url, 'GET', '/metrics');
    const counted = metrics.text.match(
      /gatehouse_http_request_duration_seconds_count\{method="GET",route="\/\.well-known\/jwks\.json",status="200"\} (\d+)/,
    );
    expect(Number(counted?.[1])).toBe(2);
  });

  it('HEAD and a query string still go through the routes', async () => {
    const head = await fetch(`${server.url}/.well-known/jwks.json`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('x-request-id')).toBeTruthy();
    const withQuery = await call(server.url, 'GET', '/.well-known/jwks.json?fresh=1');
    expect(withQuery.status).toBe(200);
    expect(withQuery.body.keys.length).toBeGreaterThan(0);
  });
});
