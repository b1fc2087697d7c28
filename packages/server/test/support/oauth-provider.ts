import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import { freePort } from './test-server.js';

/**
 * A real OAuth 2.0 authorization server (panva's oidc-provider) on a random port of 127.0.0.1, standing in for
 * Microsoft Graph or Salesforce: the vault obtains and refreshes real tokens from it over HTTP. Everything a
 * test changes (answer shape, outage, latency) is done by Koa middleware around the real token endpoint.
 */
export interface TestClient {
  clientId: string;
  clientSecret: string;
}

export type TokenBodyRewrite = (body: Record<string, unknown>) => void;

export interface TestOAuthProvider {
  issuer: string;
  tokenUrl: string;
  provider: Provider;
  /** Confidential clients allowed client_credentials and refresh_token, in the order asked for. */
  clients: TestClient[];
  /** Tokens issued at the token endpoint for this client (the provider's `grant.success` events). */
  grantsIssued(clientId: string): number;
  /** Token requests this client made that the provider refused (`grant.error`), with the OAuth error. */
  grantErrors(clientId: string): string[];
  /** A refresh token minted in the provider's own store, as an authorization code exchange would have. */
  mintRefreshToken(clientId: string, scope?: string): Promise<{ refreshToken: string; grantId: string }>;
  /** Ends a grant: its refresh tokens fail as invalid_grant from then on (a user revoking consent). */
  revokeGrant(grantId: string): Promise<void>;
  /** Rewrites this client's successful token responses (e.g. `expires_on` instead of `expires_in`). */
  rewriteTokenResponses(clientId: string, rewrite: TokenBodyRewrite | undefined): void;
  /** While set, the token endpoint answers 503 temporarily_unavailable to everyone. */
  setOutage(down: boolean): void;
  /** Delays every token response, so concurrent callers really overlap with a refresh in flight. */
  setLatency(ms: number): void;
  /** Whether the provider still considers an access token active (RFC 7662 at its introspection endpoint). */
  introspect(token: string, client: TestClient): Promise<boolean>;
  /** Revokes an access token at the provider (RFC 7009): the resource server would now answer 401. */
  revoke(token: string, client: TestClient): Promise<void>;
  close(): Promise<void>;
}

const ACCOUNT_ID = 'account-1';

async function signingKeys() {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { keys: [{ ...(await exportJWK(privateKey)), kid: 'test-rs256', alg: 'RS256', use: 'sig' }] };
}

function basicAuth(client: TestClient): string {
  const encode = (value: string) => encodeURIComponent(value);
  return `Basic ${Buffer.from(`${encode(client.clientId)}:${encode(client.clientSecret)}`).toString('base64')}`;
}

export async function startOAuthProvider(
  options: { clients?: number; accessTokenTtlSeconds?: number } = {},
): Promise<TestOAuthProvider> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const clients: TestClient[] = Array.from({ length: options.clients ?? 4 }, (_, index) => ({
    clientId: `client-${index + 1}`,
    clientSecret: randomBytes(24).toString('base64url'),
  }));
  const ttl = options.accessTokenTtlSeconds ?? 600;
  const provider = new Provider(issuer, {
    clients: clients.map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      grant_types: ['client_credentials', 'refresh_token', 'authorization_code'],
      redirect_uris: ['https://app.example.com/callback'],
      scope: 'openid offline_access api:read api:write',
    })),
    jwks: await signingKeys(),
    scopes: ['openid', 'offline_access', 'api:read', 'api:write'],
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: { enabled: true, allowedPolicy: async () => true },
      devInteractions: { enabled: false },
    },
    // Rotation makes a second refresh with the same token fail: a double refresh would show as invalid_grant.
    rotateRefreshToken: true,
    ttl: { AccessToken: ttl, ClientCredentials: ttl, RefreshToken: 86_400, Grant: 86_400, IdToken: 3600 },
    findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  });

  const issued = new Map<string, number>();
  const errors = new Map<string, string[]>();
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const id = ctx.oidc.client?.clientId ?? '';
    issued.set(id, (issued.get(id) ?? 0) + 1);
  });
  provider.on('grant.error', (ctx: KoaContextWithOIDC, error: { error?: string }) => {
    const id = ctx.oidc.client?.clientId ?? '';
    errors.set(id, [...(errors.get(id) ?? []), error.error ?? 'error']);
  });

  const rewrites = new Map<string, TokenBodyRewrite>();
  let outage = false;
  let latencyMs = 0;
  provider.use(async (ctx, next) => {
    if (ctx.path !== '/token' || ctx.method !== 'POST') return next();
    if (latencyMs) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    if (outage) {
      ctx.status = 503;
      ctx.body = { error: 'temporarily_unavailable', error_description: 'maintenance' };
      return;
    }
    await next();
    const clientId = (ctx as KoaContextWithOIDC).oidc?.client?.clientId;
    const rewrite = clientId ? rewrites.get(clientId) : undefined;
    if (rewrite && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      rewrite(ctx.body as Record<string, unknown>);
    }
  });

  const server: Server = createServer(provider.callback());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

  const form = async (path: string, client: TestClient, body: Record<string, string>) =>
    fetch(`${issuer}${path}`, {
      method: 'POST',
      headers: { authorization: basicAuth(client), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body),
    });

  return {
    issuer,
    tokenUrl: `${issuer}/token`,
    provider,
    clients,
    grantsIssued: (clientId) => issued.get(clientId) ?? 0,
    grantErrors: (clientId) => errors.get(clientId) ?? [],
    async mintRefreshToken(clientId, scope = 'openid offline_access api:read') {
      const client = await provider.Client.find(clientId);
      if (!client) throw new Error(`no client ${clientId}`);
      const grant = new provider.Grant({ accountId: ACCOUNT_ID, clientId });
      grant.addOIDCScope(scope);
      const grantId = await grant.save();
      const token = new provider.RefreshToken({
        accountId: ACCOUNT_ID,
        client,
        grantId,
        scope,
        gty: 'authorization_code',
      });
      return { refreshToken: await token.save(), grantId };
    },
    async revokeGrant(grantId) {
      const grant = await provider.Grant.find(grantId);
      if (!grant) throw new Error(`no grant ${grantId}`);
      await grant.destroy();
    },
    rewriteTokenResponses(clientId, rewrite) {
      if (rewrite) rewrites.set(clientId, rewrite);
      else rewrites.delete(clientId);
    },
    setOutage(down) {
      outage = down;
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    async introspect(token, client) {
      const reply = await form('/token/introspection', client, { token });
      return ((await reply.json()) as { active: boolean }).active;
    },
    async revoke(token, client) {
      const reply = await form('/token/revocation', client, { token });
      if (reply.status !== 200) throw new Error(`revocation failed: ${reply.status} ${await reply.text()}`);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** The body of POST /v1/admin/vault/connections for one of the provider's clients. */
export function connectionBody(
  provider: TestOAuthProvider,
  client: TestClient,
  fields: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name: `conn-${client.clientId}`,
    token_url: provider.tokenUrl,
    grant_type: 'client_credentials',
    client_id: client.clientId,
    client_secret: client.clientSecret,
    scope: 'api:read',
    ...fields,
  };
}
