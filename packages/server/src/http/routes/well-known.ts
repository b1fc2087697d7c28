import type { Config } from '../../config/config.js';
import { JWKS_MAX_AGE_SECONDS, type Keyring } from '../../keyring/keyring.js';
import { PUBLIC_DOCUMENT_CORS } from '../cors.js';
import type { App } from '../types.js';

export function discoveryDocument(issuer: string) {
  return {
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    token_endpoint: `${issuer}/oauth/token`,
    introspection_endpoint: `${issuer}/oauth/introspect`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    userinfo_endpoint: `${issuer}/oauth/userinfo`,
    grant_types_supported: ['refresh_token', 'client_credentials'],
    // No authorization endpoint yet: no response type is offered.
    response_types_supported: [],
    subject_types_supported: ['public'],
    scopes_supported: ['openid', 'profile', 'email', 'admin', 'agent', 'introspect', 'vault:read'],
    claims_supported: [
      'iss',
      'aud',
      'sub',
      'sid',
      'iat',
      'nbf',
      'exp',
      'jti',
      'scope',
      'amr',
      'email',
      'email_verified',
      'name',
    ],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    revocation_endpoint_auth_methods_supported: ['none'],
  };
}

export interface WellKnownRoutesDeps {
  keyring: Pick<Keyring, 'jwksJson'>;
  config: Pick<Config, 'issuer'>;
}

export async function wellKnownRoutes(app: App, { keyring, config }: WellKnownRoutesDeps) {
  const discovery = JSON.stringify(discoveryDocument(config.issuer));

  app.get('/.well-known/openid-configuration', { schema: { tags: ['discovery'] } }, async (_request, reply) =>
    reply
      .type('application/json')
      .header('cache-control', 'public, max-age=3600')
      .headers(PUBLIC_DOCUMENT_CORS)
      .send(discovery),
  );

  // Serialised once per keyring change: verifiers fetch this on every unknown kid.
  app.get('/.well-known/jwks.json', { schema: { tags: ['discovery'] } }, async (_request, reply) =>
    reply
      .type('application/json')
      .header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`)
      .headers(PUBLIC_DOCUMENT_CORS)
      .send(keyring.jwksJson()),
  );
}
