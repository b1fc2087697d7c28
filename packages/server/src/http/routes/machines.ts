import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { Agents, HeartbeatPass } from '../../agents/agents.js';
import type { ApiKeys } from '../../apikeys/api-keys.js';
import type { Config } from '../../config/config.js';
import { GatehouseError } from '../../errors/gatehouse-error.js';
import type { RateCounter } from '../../fleet/rate-counter.js';
import { bearerToken, challenge, type Guard, type GuardDeps, machineOf, requireKey } from '../bearer.js';
import { eventContext } from '../context.js';
import { perMinute, registerRateLimits } from '../rate-limits.js';
import { IsoTime, responses, Uuid } from '../schemas.js';
import type { App } from '../types.js';

const Verification = Type.Object({
  valid: Type.Boolean(),
  code: Type.Optional(Type.String()),
  hint: Type.Optional(Type.String()),
  detail: Type.Optional(Type.String()),
  client: Type.Optional(Type.Object({ id: Uuid, name: Type.String() })),
  key: Type.Optional(
    Type.Object({
      id: Uuid,
      preview: Type.String(),
      scopes: Type.Array(Type.String()),
      metadata: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
    }),
  ),
  notes: Type.Array(Type.String(), {
    description: 'What was stripped from the presented key: whitespace, quotes, bearer_prefix',
  }),
});

function heartbeatOf(request: FastifyRequest): HeartbeatPass {
  if (!request.heartbeat) throw new Error('Heartbeat reached without its key check');
  return request.heartbeat;
}

export interface MachineRoutesDeps {
  apiKeys: ApiKeys;
  agents: Agents;
  guards: GuardDeps;
  rateCounter: RateCounter;
  config: Pick<Config, 'issuer' | 'keyVerifyRateLimit'>;
}

export async function machineRoutes(
  app: App,
  { apiKeys, agents, guards, rateCounter, config }: MachineRoutesDeps,
) {
  const tags = ['machines'];
  const agentGuard = requireKey(guards, 'agent');
  await registerRateLimits(app, rateCounter);

  // A key check answers 200 {valid:false, code}: HTTP errors are kept for malformed requests.
  app.post(
    '/v1/keys/verify',
    {
      bodyLimit: 8192,
      ...perMinute(config.keyVerifyRateLimit),
      schema: {
        tags,
        body: Type.Object({ key: Type.String({ maxLength: 4096 }) }),
        response: responses({ 200: Verification }),
      },
    },
    async (request) => {
      const verdict = await apiKeys.verify(request.body.key, { context: () => eventContext(request) });
      if (verdict.valid) return verdict;
      const { code, hint, detail, notes } = verdict;
      return { valid: false, code, hint, ...(detail ? { detail } : {}), notes };
    },
  );

  app.post(
    '/v1/agents/register',
    {
      onRequest: agentGuard,
      schema: {
        tags,
        security: [{ bearer: [] }],
        body: Type.Object({
          name: Type.String({ minLength: 1, maxLength: 200 }),
          hostname: Type.Optional(Type.String({ maxLength: 255 })),
          version: Type.Optional(Type.String({ maxLength: 64 })),
        }),
        response: responses({
          200: Type.Object(
            { agent_id: Uuid },
            { description: 'The agent this client registered under the name' },
          ),
          201: Type.Object({ agent_id: Uuid }),
        }),
      },
    },
    async (request, reply) => {
      const { agent_id, created } = await agents.register(
        machineOf(request),
        request.body,
        eventContext(request),
      );
      return reply.status(created ? 201 : 200).send({ agent_id });
    },
  );

  /**
   * The key is checked before the request is validated, as on every protected route, and the agent's last
   * auth result records it; the handler only records the heartbeat.
   */
  const heartbeatGuard: Guard = async (request, reply) => {
    const { id } = request.params as { id: string };
    try {
      request.heartbeat = await agents.authenticateHeartbeat(id, bearerToken(request), eventContext(request));
    } catch (error) {
      if (error instanceof GatehouseError && (error.status === 401 || error.code === 'scope_insufficient')) {
        reply.header(
          'www-authenticate',
          challenge(config.issuer, error.code === 'token_missing' ? undefined : error.code),
        );
      }
      throw error;
    }
  };

  app.post(
    '/v1/agents/:id/heartbeat',
    {
      onRequest: heartbeatGuard,
      // A heartbeat may carry no body at all: it is then a heartbeat with no status.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags,
        security: [{ bearer: [] }],
        params: Type.Object({ id: Uuid }),
        body: Type.Object({ status: Type.Optional(Type.String({ maxLength: 64 })) }),
        response: responses({ 200: Type.Object({ ok: Type.Boolean(), server_time: IsoTime }) }),
      },
    },
    async (request) => agents.recordHeartbeat(heartbeatOf(request), request.body.status),
  );
}
