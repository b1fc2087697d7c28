import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { Vault } from '../../vault/vault.js';
import { type GuardDeps, machineOf, requireKey } from '../bearer.js';
import { eventContext } from '../context.js';
import { IsoTime, responses } from '../schemas.js';
import type { App } from '../types.js';

const ServedToken = Type.Object({
  access_token: Type.String(),
  token_type: Type.String(),
  expires_at: IsoTime,
  expires_in: Type.Integer({ description: 'Seconds of life left now' }),
  scope: Type.Union([Type.String(), Type.Null()]),
});
const ByName = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) });

const callerOf = (request: FastifyRequest) => {
  const machine = machineOf(request);
  return { context: eventContext(request), keyId: machine.keyId, clientId: machine.clientId };
};

export interface VaultRoutesDeps {
  vault: Pick<Vault, 'token' | 'reportRejected'>;
  guards: GuardDeps;
}

/** Token responses must not be cached by anything between the vault and the app (RFC 6749 §5.1). */
export async function vaultRoutes(app: App, { vault, guards }: VaultRoutesDeps) {
  const tags = ['vault'];
  const security = [{ bearer: [] }];
  app.addHook('onRequest', requireKey(guards, 'vault:read'));
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });

  app.get(
    '/v1/vault/connections/:name/token',
    { schema: { tags, security, params: ByName, response: responses({ 200: ServedToken }) } },
    async (request) => vault.token(request.params.name, callerOf(request)),
  );

  // The app got a 401 from the provider with this token before its expiry: the vault refreshes it (once,
  // however many report it) and answers the new one.
  app.post(
    '/v1/vault/connections/:name/token/rejected',
    {
      schema: {
        tags,
        security,
        params: ByName,
        body: Type.Object(
          { access_token: Type.String({ minLength: 1, maxLength: 16_384 }) },
          { additionalProperties: false },
        ),
        response: responses({ 200: ServedToken }),
      },
    },
    async (request) =>
      vault.reportRejected(request.params.name, request.body.access_token, callerOf(request)),
  );
}
