import * as oidc from 'openid-client';
import { describe, expect, it } from 'vitest';
import { call, signUp } from './support/http.js';
import { type TestServer, useTestServer } from './support/test-server.js';

describe('a standard OAuth client works against the discovery document unchanged', () => {
  let server: TestServer;
  useTestServer({}, (started) => {
    server = started.server;
  });

  it('openid-client discovers the issuer and refreshes, revokes and reads userinfo', async () => {
    const { refresh_token, user } = await signUp(server.url);
    const config = await oidc.discovery(new URL(server.url), 'web-app', undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    expect(config.serverMetadata().issuer).toBe(server.url);

    const tokens = await oidc.refreshTokenGrant(config, refresh_token);
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.refresh_token).not.toBe(refresh_token);

    const info = await oidc.fetchUserInfo(config, tokens.access_token, user.id);
    expect(info.sub).toBe(user.id);

    await oidc.tokenRevocation(config, tokens.refresh_token!);
    const me = await call(server.url, 'GET', '/v1/auth/me', { token: tokens.access_token });
    expect(me.body.code).toBe('session_revoked');
  });

  it('lists every endpoint of the discovery document in /openapi.json', async () => {
    const openapi = (await call(server.url, 'GET', '/openapi.json')).body;
    for (const path of [
      '/oauth/token',
      '/oauth/revoke',
      '/oauth/introspect',
      '/oauth/userinfo',
      '/v1/auth/login',
      '/v1/auth/me',
    ]) {
      expect(Object.keys(openapi.paths)).toContain(path);
    }
    expect(openapi.paths['/v1/auth/login'].post.responses['200']).toBeDefined();
  });
});
