import { Type } from '@sinclair/typebox';
import { GatehouseError } from '../../errors/gatehouse-error.js';
import type { Gatehouse } from '../../gatehouse.js';
import { bearerToken, challenge, guardDeps, machineOf, requireKey } from '../bearer.js';
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

export async function machineRoutes(app: App, gatehouse: Gatehouse) {
  const { apiKeys, agents, config } = gatehouse;
  const tags = ['machines'];
  const agentGuard = requireKey(guardDeps(gatehouse), 'agent');
  await registerRateLimits(app, gatehouse.rateCounter);

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
        response: responses({ 201: Type.Object({ agent_id: Uuid }) }),
      },
    },
    async (request, reply) =>
      reply.status(201).send(await agents.register(machineOf(request), request.body, eventContext(request))),
  );

  app.post(
    '/v1/agents/:id/heartbeat',
    {
      schema: {
        tags,
        security: [{ bearer: [] }],
        params: Type.Object({ id: Uuid }),
        body: Type.Optional(Type.Object({ status: Type.Optional(Type.String({ maxLength: 64 })) })),
        response: responses({ 200: Type.Object({ ok: Type.Boolean(), server_time: IsoTime }) }),
      },
    },
    async (request, reply) => {
      try {
        return await agents.heartbeat(
          request.params.id,
          bearerToken(request),
          request.body?.status,
          eventContext(request),
        );
      } catch (error) {
        if (error instanceof GatehouseError && error.status === 401) {
          reply.header('www-authenticate', challenge(config.issuer, error.code));
        }
        throw error;
      }
    },
  );
}
