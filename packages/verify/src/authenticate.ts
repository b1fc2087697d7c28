import type { ApiKeyPrincipal, ApiKeyVerifier } from './api-keys.js';
import { type AccessTokenClaims, type Refusal, refusal, type TokenResult } from './results.js';

/** Who a request authenticated as: a person's (or machine's) access token, or an API key checked by the server. */
export type GatehouseAuth =
  | { kind: 'access_token'; claims: Readonly<AccessTokenClaims>; scopes: string[] }
  | ({ kind: 'api_key'; scopes: string[] } & ApiKeyPrincipal);

export interface GuardOptions {
  /** A scope the credential must hold: in the token's `scope` claim, or among the API key's scopes. */
  scope?: string;
  /** Also accept Gatehouse API keys (`gk_…`) as bearer credentials, checked by the server (default false). */
  apiKeys?: boolean;
}

export type AuthResult = { ok: true; auth: GatehouseAuth } | Refusal;

export type Authenticator = (
  authorization: string | null | undefined,
  guard?: GuardOptions,
) => Promise<AuthResult>;

const API_KEY_PREFIX = 'gk_';

/** The credential of an `Authorization: Bearer …` header, read as the server reads it. */
export function bearerCredential(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^\s*bearer\s+(.*)$/is.exec(header);
  return match?.[1]?.trim() || undefined;
}

function requireScope(auth: GatehouseAuth, scope: string | undefined): AuthResult {
  if (scope === undefined || auth.scopes.includes(scope)) return { ok: true, auth };
  return refusal('scope_insufficient', { detail: `The credential lacks the "${scope}" scope` });
}

export function createAuthenticator(
  verify: (token: string) => Promise<TokenResult>,
  verifyApiKey: ApiKeyVerifier,
): Authenticator {
  return async (authorization, guard = {}) => {
    const credential = bearerCredential(authorization);
    if (!credential) return refusal('token_missing');
    if (guard.apiKeys && credential.startsWith(API_KEY_PREFIX)) {
      const checked = await verifyApiKey(credential);
      if (!checked.ok) return checked;
      const { client, key, notes } = checked;
      return requireScope({ kind: 'api_key', client, key, notes, scopes: key.scopes }, guard.scope);
    }
    const verified = await verify(credential);
    if (!verified.ok) return verified;
    const scopes = (verified.claims.scope ?? '').split(' ').filter(Boolean);
    return requireScope({ kind: 'access_token', claims: verified.claims, scopes }, guard.scope);
  };
}
