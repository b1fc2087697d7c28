import { beforeAll, describe, expect, it } from 'vitest';
import { API_KEY_SCOPES } from '../src/apikeys/api-keys.js';
import { adminToken, clientWithKey } from './support/admin.js';
import { call, signUp } from './support/http.js';
import { type TestServer, useTestServer } from './support/test-server.js';

// The discovery document promised what the server did not do (introspection with client secrets, a
// response type without an authorization endpoint): each capability it advertises is exercised here.

interface Discovery {
  issuer: string;
  jwks_uri: string;
  token_endpoint: string;
  introspection_endpoint: string;
  revocation_endpoint: string;
  userinfo_endpoint: string;
  authorization_endpoint?: string;
  grant_types_supported: string[];
  response_types_supported: string[];
  scopes_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  introspection_endpoint_auth_methods_supported: string[];
  revocation_endpoint_auth_methods_supported: string[];
}

const basic = (clientId: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;

describe('every capability the discovery document advertises works', () => {
  let server: TestServer;
  let discovery: Discovery;
  let introspector: { clientId: string; key: string };
  let agentKey: { clientId: string; key: string };
  let user: Awaited<ReturnType<typeof signUp>>;
  const path = (url: string) => new URL(url).pathname;

  useTestServer({}, (started) => {
    server = started.server;
  });
  beforeAll(async () => {
    discovery = (await call(server.url, 'GET', '/.well-known/openid-configuration')).body;
    const admin = await adminToken(server);
    introspector = await clientWithKey(server, admin, ['introspect']);
    agentKey = await clientWithKey(server, admin, ['agent']);
    user = await signUp(server.url);
  });

  it('names endpoints that answer, and no authorization endpoint while it offers no response type', async () => {
    expect(discovery.issuer).toBe(server.gatehouse.config.issuer);
    expect((await call(server.url, 'GET', path(discovery.jwks_uri))).body.keys.length).toBeGreaterThan(0);
    expect(discovery.response_types_supported).toEqual([]);
    expect(discovery.authorization_endpoint).toBeUndefined();
  });

  it('serves each advertised grant type at the token endpoint', async () => {
    const grants: Record<string, () => Promise<number>> = {
      refresh_token: async () =>
        (
          await call(server.url, 'POST', path(discovery.token_endpoint), {
            form: { grant_type: 'refresh_token', refresh_token: (await signUp(server.url)).refresh_token },
          })
        ).status,
      client_credentials: async () =>
        (
          await call(server.url, 'POST', path(discovery.token_endpoint), {
            form: { grant_type: 'client_credentials' },
            headers: { authorization: basic(agentKey.clientId, agentKey.key) },
          })
        ).status,
    };
    expect(Object.keys(grants).sort()).toEqual([...discovery.grant_types_supported].sort());
    for (const grant of discovery.grant_types_supported) expect(await grants[grant]!(), grant).toBe(200);
  });

  it('authenticates token endpoint clients by each advertised method', async () => {
    const methods: Record<string, Record<string, string>> = {
      client_secret_basic: { authorization: basic(agentKey.clientId, agentKey.key) },
      client_secret_post: {},
    };
    expect(Object.keys(methods).sort()).toEqual([...discovery.token_endpoint_auth_methods_supported].sort());
    for (const method of discovery.token_endpoint_auth_methods_supported) {
      const form: Record<string, string> = { grant_type: 'client_credentials' };
      if (method === 'client_secret_post')
        Object.assign(form, { client_id: agentKey.clientId, client_secret: agentKey.key });
      const reply = await call(server.url, 'POST', path(discovery.token_endpoint), {
        form,
        headers: methods[method],
      });
      expect(reply.status, `${method}: ${reply.text}`).toBe(200);
    }
  });

  it('authenticates introspecting clients by each advertised method, and introspects every kind of token', async () => {
    const send = (method: string, token: string) => {
      const form: Record<string, string> = { token };
      const headers: Record<string, string> = {};
      if (method === 'client_secret_basic')
        headers.authorization = basic(introspector.clientId, introspector.key);
      else Object.assign(form, { client_id: introspector.clientId, client_secret: introspector.key });
      return call(server.url, 'POST', path(discovery.introspection_endpoint), { form, headers });
    };
    expect([...discovery.introspection_endpoint_auth_methods_supported].sort()).toEqual([
      'client_secret_basic',
      'client_secret_post',
    ]);
    for (const method of discovery.introspection_endpoint_auth_methods_supported) {
      const access = await send(method, user.access_token);
      expect(access.status, `${method}: ${access.text}`).toBe(200);
      expect(access.body).toMatchObject({ active: true, token_type: 'access_token', sub: user.user.id });
      expect((await send(method, user.refresh_token)).body).toMatchObject({
        active: true,
        token_type: 'refresh_token',
      });
      expect((await send(method, agentKey.key)).body).toEqual({
        active: true,
        token_type: 'api_key',
        client_id: agentKey.clientId,
        scope: 'agent',
      });
    }
  });

  it('refuses an introspecting client whose secret is wrong, or not its own, with the key refusal code', async () => {
    const wrong = await call(server.url, 'POST', path(discovery.introspection_endpoint), {
      form: { token: user.access_token },
      headers: { authorization: basic(introspector.clientId, `${introspector.key.slice(0, -1)}x`) },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('key_malformed');
    const notItsOwn = await call(server.url, 'POST', path(discovery.introspection_endpoint), {
      form: { token: user.access_token, client_id: agentKey.clientId, client_secret: introspector.key },
    });
    expect(notItsOwn.body.code).toBe('client_not_found');
    const lacksScope = await call(server.url, 'POST', path(discovery.introspection_endpoint), {
      form: { token: user.access_token, client_secret: agentKey.key },
    });
    expect(lacksScope.status).toBe(403);
    expect(lacksScope.body.code).toBe('scope_insufficient');
    const none = await call(server.url, 'POST', path(discovery.introspection_endpoint), {
      form: { token: 'x' },
    });
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('token_missing');
  });

  it('revokes without client authentication, as advertised, and serves userinfo to a bearer token', async () => {
    expect(discovery.revocation_endpoint_auth_methods_supported).toEqual(['none']);
    const someone = await signUp(server.url);
    const revoked = await call(server.url, 'POST', path(discovery.revocation_endpoint), {
      form: { token: someone.refresh_token },
    });
    expect(revoked.status).toBe(200);
    expect((await call(server.url, 'GET', '/v1/auth/me', { token: someone.access_token })).body.code).toBe(
      'session_revoked',
    );
    const info = await call(server.url, 'GET', path(discovery.userinfo_endpoint), {
      token: user.access_token,
    });
    expect(info.body).toMatchObject({ sub: user.user.id, email: user.user.email });
  });

  it('issues every advertised scope: in user tokens, or as an API key scope', async () => {
    const userScopes = new Set(
      (
        await call(server.url, 'POST', '/oauth/introspect', {
          form: { token: user.access_token, client_secret: introspector.key },
        })
      ).body.scope.split(' '),
    );
    for (const scope of discovery.scopes_supported) {
      expect(userScopes.has(scope) || (API_KEY_SCOPES as readonly string[]).includes(scope), scope).toBe(
        true,
      );
    }
  });
});
