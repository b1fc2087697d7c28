import { GatehouseError } from '../errors/gatehouse-error.js';
import type { EventContext } from '../events/events.js';
import type { AccessTokens } from '../tokens/access-tokens.js';
import type { ApiKeys } from './api-keys.js';

export interface MachineTokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

/** `grant_type=client_credentials`: an API key buys a short-lived JWT carrying its scopes, for local verification. */
export interface MachineTokens {
  issue(
    request: { key: string; clientId?: string | undefined; scope?: string | undefined },
    context: EventContext,
  ): Promise<MachineTokenResponse>;
}

export function createMachineTokens(apiKeys: ApiKeys, accessTokens: AccessTokens): MachineTokens {
  return {
    async issue({ key, clientId, scope }, context) {
      const verdict = await apiKeys.verify(key, {
        context: () => context,
        eventType: 'token.client_credentials',
      });
      if (!verdict.valid) {
        throw new GatehouseError(verdict.code, {
          hint: verdict.hint,
          ...(verdict.detail ? { detail: verdict.detail } : {}),
        });
      }
      if (clientId && clientId !== verdict.client.id) {
        throw new GatehouseError('client_not_found', {
          detail: `The key belongs to client ${verdict.client.id}, not to client_id ${clientId.slice(0, 64)}`,
        });
      }
      const requested = scope ? scope.split(' ').filter(Boolean) : verdict.key.scopes;
      const missing = requested.filter((s) => !verdict.key.scopes.includes(s));
      if (missing.length) {
        throw new GatehouseError('scope_insufficient', {
          detail: `The key does not hold ${missing.join(', ')}`,
        });
      }
      const issued = await accessTokens.issue({
        sub: verdict.client.id,
        clientId: verdict.client.id,
        scope: requested.join(' '),
      });
      return {
        access_token: issued.token,
        token_type: 'Bearer',
        expires_in: issued.expiresIn,
        scope: requested.join(' '),
      };
    },
  };
}
