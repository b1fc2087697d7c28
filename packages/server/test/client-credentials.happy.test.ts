import { createRemoteJWKSet, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { adminToken, clientWithKey } from './support/admin.js';
import { call } from './support/http.js';
import { type TestServer, useTestServer } from './support/test-server.js';

/** RFC 6749 §2.3.1: each part form-urlencoded, then base64. */
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

describe('client_credentials: an API key buys a short-lived JWT carrying its scopes', () => {
  let server: TestServer;
  let admin: string;
  let discovery: { issuer: string; jwks_uri: string; token_endpoint: string; [name: string]: unknown };
  let clientId: string;
  let key: string;
  useTestServer({}, (started) => {
    server = started.server;
  });
  beforeAll(async () => {
    admin = await adminToken(server);
    discovery = (await call(server.url, 'GET', '/.well-known/openid-configuration')).body;
    ({ clientId, key } = await clientWithKey(server, admin, ['agent', 'introspect']));
  });

  const requestToken = (init: Parameters<typeof call>[3]) => call(discovery.token_endpoint, 'POST', '', init);

  it('is advertised by discovery, with both client authentication methods', () => {
    expect(discovery.issuer).toBe(server.url);
    expect(discovery.grant_types_supported).toContain('client_credentials');
    expect(discovery.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(['client_secret_basic', 'client_secret_post']),
    );
  });

  it.each<[string, () => Parameters<typeof call>[3]]>([
    ['client_secret in a form', () => ({ form: { grant_type: 'client_credentials', client_secret: key } })],
    [
      'client_secret and client_id in a form',
      () => ({ form: { grant_type: 'client_credentials', client_id: clientId, client_secret: key } }),
    ],
    [
      'Basic auth (client_id : key)',
      () => ({
        form: { grant_type: 'client_credentials' },
        headers: { authorization: basic(clientId, key) },
      }),
    ],
    ['a JSON body', () => ({ body: { grant_type: 'client_credentials', client_secret: key } })],
  ])(
    'with %s: a JWT that verifies against the JWKS, for the client, with the key’s scopes and no session',
    async (_how, init) => {
      const reply = await requestToken(init());
      expect(reply.status).toBe(200);
      expect(reply.headers.get('cache-control')).toBe('no-store');
      expect(reply.body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: expect.any(Number),
        scope: 'agent introspect',
      });

      const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
      const { payload, protectedHeader } = await jwtVerify(reply.body.access_token, jwks, {
        issuer: server.url,
        audience: server.url,
      });
      expect(protectedHeader.typ).toBe('at+jwt');
      expect(payload).toMatchObject({ sub: clientId, client_id: clientId, scope: 'agent introspect' });
      expect(payload).not.toHaveProperty('sid');
      expect(payload.exp! - payload.iat!).toBe(reply.body.expires_in);
    },
  );

  it('narrows to a requested subset of the key’s scopes', async () => {
    const reply = await requestToken({
      form: { grant_type: 'client_credentials', client_secret: key, scope: 'introspect' },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.scope).toBe('introspect');
  });

  it('refuses a scope the key does not hold with 400 invalid_scope / scope_insufficient', async () => {
    const { key: agentOnly } = await clientWithKey(server, admin, ['agent']);
    const reply = await requestToken({
      form: { grant_type: 'client_credentials', client_secret: agentOnly, scope: 'agent introspect' },
    });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ error: 'invalid_scope', code: 'scope_insufficient' });
    expect(reply.body.error_description).toContain('introspect');
  });

  it('refuses a client_id the key does not belong to with 401 invalid_client', async () => {
    const { clientId: otherClient } = await clientWithKey(server, admin);
    const attempts: Parameters<typeof call>[3][] = [
      { form: { grant_type: 'client_credentials', client_id: otherClient, client_secret: key } },
      { form: { grant_type: 'client_credentials' }, headers: { authorization: basic(otherClient, key) } },
    ];
    for (const init of attempts) {
      const reply = await requestToken(init);
      expect(reply.status).toBe(401);
      expect(reply.body.error).toBe('invalid_client');
    }
  });

  it('refuses a key of a suspended client with 401 invalid_client / client_inactive', async () => {
    const suspended = await clientWithKey(server, admin);
    await call(server.url, 'PATCH', `/v1/admin/clients/${suspended.clientId}`, {
      token: admin,
      body: { status: 'suspended' },
    });
    const reply = await requestToken({
      form: { grant_type: 'client_credentials', client_secret: suspended.key },
    });
    expect(reply.status).toBe(401);
    expect(reply.body).toMatchObject({ error: 'invalid_client', code: 'client_inactive' });
  });

  it('refuses a request with no secret with 401 invalid_client', async () => {
    const reply = await requestToken({ form: { grant_type: 'client_credentials', client_id: clientId } });
    expect(reply.status).toBe(401);
    expect(reply.body.error).toBe('invalid_client');
  });

  it('does not let the machine token pass for a user session: /v1/auth/me answers 403 scope_insufficient', async () => {
    const { access_token } = (
      await requestToken({ form: { grant_type: 'client_credentials', client_secret: key } })
    ).body;
    const me = await call(server.url, 'GET', '/v1/auth/me', { token: access_token });
    expect(me.status).toBe(403);
    expect(me.body.code).toBe('scope_insufficient');
  });
});
