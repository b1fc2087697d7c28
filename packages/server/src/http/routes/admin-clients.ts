import { Type } from '@sinclair/typebox';
import type { Agents } from '../../agents/agents.js';
import type { ApiKeys } from '../../apikeys/api-keys.js';
import type { Clients } from '../../clients/clients.js';
import { GatehouseError } from '../../errors/gatehouse-error.js';
import { type GuardDeps, requireAdmin } from '../bearer.js';
import { actorOf } from '../context.js';
import { IsoTime, responses, Uuid } from '../schemas.js';
import type { App } from '../types.js';

const Client = Type.Object({
  id: Uuid,
  name: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended')]),
  status_changed_at: Type.Union([IsoTime, Type.Null()]),
  created_at: IsoTime,
});

const RateLimit = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  window_seconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
});

const KeyView = Type.Object({
  id: Uuid,
  client_id: Uuid,
  name: Type.String(),
  preview: Type.String(),
  scopes: Type.Array(Type.String()),
  metadata: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  rate_limit: Type.Union([RateLimit, Type.Null()]),
  status: Type.String({
    description: 'active, rotating (old key inside its grace period), revoked or expired',
  }),
  created_at: IsoTime,
  expires_at: Type.Union([IsoTime, Type.Null()]),
  last_used_at: Type.Union([IsoTime, Type.Null()]),
  revoked_at: Type.Union([IsoTime, Type.Null()]),
  replaced_by: Type.Union([Type.Object({ id: Uuid, preview: Type.String() }), Type.Null()]),
});

const IssuedKey = Type.Object({
  id: Uuid,
  key: Type.String({ description: 'The full key: shown only in this response' }),
  preview: Type.String(),
  scopes: Type.Array(Type.String()),
  expires_at: Type.Union([IsoTime, Type.Null()]),
});

const Agent = Type.Object({
  id: Uuid,
  client_id: Uuid,
  name: Type.String(),
  hostname: Type.Union([Type.String(), Type.Null()]),
  version: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
  reported_status: Type.Union([Type.String(), Type.Null()]),
  created_at: IsoTime,
  last_heartbeat_at: Type.Union([IsoTime, Type.Null()]),
  last_auth_code: Type.Union([Type.String(), Type.Null()]),
  last_auth_at: Type.Union([IsoTime, Type.Null()]),
});

const Id = Type.Object({ id: Uuid });
/** A key's metadata is returned by every verification; it is capped so it stays cheap to cache and send. */
const MAX_METADATA_BYTES = 4096;

export interface AdminClientRoutesDeps {
  clients: Clients;
  apiKeys: ApiKeys;
  agents: Agents;
  guards: GuardDeps;
}

export async function adminClientRoutes(
  app: App,
  { clients, apiKeys, agents, guards }: AdminClientRoutesDeps,
) {
  const tags = ['administration'];
  const security = [{ bearer: [] }];
  app.addHook('onRequest', requireAdmin(guards));

  app.post(
    '/v1/admin/clients',
    {
      schema: {
        tags,
        security,
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            email: Type.Optional(Type.String({ maxLength: 320 })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 201: Client }),
      },
    },
    async (request, reply) => {
      return reply.status(201).send(await clients.create(request.body, actorOf(request)));
    },
  );

  app.get(
    '/v1/admin/clients',
    {
      schema: { tags, security, response: responses({ 200: Type.Object({ clients: Type.Array(Client) }) }) },
    },
    async () => ({ clients: await clients.list() }),
  );

  app.get(
    '/v1/admin/clients/:id',
    { schema: { tags, security, params: Id, response: responses({ 200: Client }) } },
    async (request) => clients.get(request.params.id),
  );

  app.patch(
    '/v1/admin/clients/:id',
    {
      schema: {
        tags,
        security,
        params: Id,
        body: Type.Object(
          {
            status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended')])),
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: Client }),
      },
    },
    async (request) => clients.update(request.params.id, request.body, actorOf(request)),
  );

  app.post(
    '/v1/admin/clients/:id/keys',
    {
      schema: {
        tags,
        security,
        params: Id,
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            scopes: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 10 })),
            expires_in: Type.Optional(Type.Integer({ minimum: 60, maximum: 10 * 365 * 86_400 })),
            metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
            rate_limit: Type.Optional(RateLimit),
          },
          { additionalProperties: false },
        ),
        response: responses({ 201: IssuedKey }),
      },
    },
    async (request, reply) => {
      const { metadata } = request.body;
      if (metadata && Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES) {
        throw new GatehouseError('validation_failed', {
          detail: `metadata: at most ${MAX_METADATA_BYTES} bytes of JSON`,
        });
      }
      const input = {
        name: request.body.name,
        ...(request.body.scopes ? { scopes: request.body.scopes } : {}),
        ...(request.body.expires_in ? { expiresInSeconds: request.body.expires_in } : {}),
        ...(metadata ? { metadata } : {}),
        ...(request.body.rate_limit ? { rateLimit: request.body.rate_limit } : {}),
      };
      const issued = await apiKeys.create(request.params.id, input, actorOf(request));
      return reply.status(201).send(issued);
    },
  );

  app.get(
    '/v1/admin/clients/:id/keys',
    {
      schema: {
        tags,
        security,
        params: Id,
        response: responses({ 200: Type.Object({ keys: Type.Array(KeyView) }) }),
      },
    },
    async (request) => ({ keys: await apiKeys.list(request.params.id) }),
  );

  app.post(
    '/v1/admin/keys/:id/rotate',
    {
      schema: {
        tags,
        security,
        params: Id,
        body: Type.Optional(
          Type.Object(
            { grace_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86_400 })) },
            { additionalProperties: false },
          ),
        ),
        response: responses({ 201: IssuedKey }),
      },
    },
    async (request, reply) => {
      const grace = request.body?.grace_seconds ?? 86_400;
      const issued = await apiKeys.rotate(request.params.id, grace, actorOf(request));
      return reply.status(201).send(issued);
    },
  );

  app.delete(
    '/v1/admin/keys/:id',
    { schema: { tags, security, params: Id, response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      await apiKeys.revoke(request.params.id, actorOf(request));
      return reply.status(204).send();
    },
  );

  app.get(
    '/v1/admin/agents',
    {
      schema: {
        tags,
        security,
        querystring: Type.Object({ client_id: Type.Optional(Uuid) }),
        response: responses({ 200: Type.Object({ agents: Type.Array(Agent) }) }),
      },
    },
    async (request) => ({ agents: await agents.list(request.query.client_id) }),
  );
}
