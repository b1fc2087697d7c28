import { GatehouseError } from '../errors/gatehouse-error.js';
import { isRefreshTokenShaped } from '../tokens/refresh-token-format.js';
import { parseRoles } from '../users/user-view.js';
import { type AuthenticateDeps, judgeAccessToken } from './authenticate.js';
import { judgeRefreshToken, type RefreshDeps } from './refresh.js';
import { scopeForRoles } from './start.js';

export type IntrospectionResult =
  | {
      active: true;
      token_type: 'access_token' | 'refresh_token';
      sub: string;
      sid?: string;
      scope: string;
      exp: number;
      iat: number;
      iss?: string;
      client_id?: string;
    }
  | { active: false; code: string };

async function introspectRefreshToken(deps: RefreshDeps, token: string): Promise<IntrospectionResult> {
  const { row, session, user, state } = await judgeRefreshToken(deps, token);
  // A reuse is only named here: revoking the family is the refresh grant's to do.
  if (state === 'reused') return { active: false, code: 'refresh_token_reused' };
  return {
    active: true,
    token_type: 'refresh_token',
    sub: user.id,
    sid: session.id,
    scope: scopeForRoles(parseRoles(user.roles)),
    exp: Math.floor(row.expires_at / 1000),
    iat: Math.floor(row.created_at / 1000),
  };
}

async function introspectAccessToken(deps: AuthenticateDeps, token: string): Promise<IntrospectionResult> {
  const { claims, principal } = await judgeAccessToken(deps, token);
  return {
    active: true,
    token_type: 'access_token',
    sub: claims.sub,
    ...(principal ? { sid: principal.session.id } : {}),
    scope: claims.scope,
    exp: claims.exp,
    iat: claims.iat,
    ...(claims.iss ? { iss: claims.iss } : {}),
    ...(claims.client_id ? { client_id: claims.client_id } : {}),
  };
}

/** RFC 7662: the same decisions as the refresh grant and the user routes, answered as `active` or not, with the reason. */
export async function introspect(deps: RefreshDeps, token: string): Promise<IntrospectionResult> {
  try {
    return isRefreshTokenShaped(token)
      ? await introspectRefreshToken(deps, token)
      : await introspectAccessToken(deps, token);
  } catch (error) {
    if (error instanceof GatehouseError && error.status < 500) return { active: false, code: error.code };
    throw error;
  }
}
