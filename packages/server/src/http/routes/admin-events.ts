import { Type } from '@sinclair/typebox';
import type { Clock } from '../../clock.js';
import type { Events } from '../../events/events.js';
import { parseSince } from '../../events/since.js';
import { type GuardDeps, requireAdmin } from '../bearer.js';
import { IsoTime, responses, Uuid } from '../schemas.js';
import type { App } from '../types.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

const Event = Type.Object({
  id: Uuid,
  at: IsoTime,
  type: Type.String(),
  code: Type.String(),
  user_id: Nullable(Type.String()),
  client_id: Nullable(Type.String()),
  agent_id: Nullable(Type.String()),
  key_id: Nullable(Type.String()),
  session_id: Nullable(Type.String()),
  actor_id: Nullable(Type.String()),
  ip: Nullable(Type.String()),
  user_agent: Nullable(Type.String()),
  request_id: Nullable(Type.String()),
  token_preview: Nullable(Type.String()),
  detail: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
});

export interface AdminEventRoutesDeps {
  events: Pick<Events, 'query'>;
  clock: Clock;
  guards: GuardDeps;
}

export async function adminEventRoutes(app: App, { events, clock, guards }: AdminEventRoutesDeps) {
  app.get(
    '/v1/admin/events',
    {
      onRequest: requireAdmin(guards),
      schema: {
        tags: ['operators'],
        security: [{ bearer: [] }],
        querystring: Type.Object({
          code: Type.Optional(Type.String({ maxLength: 64 })),
          type: Type.Optional(Type.String({ maxLength: 64 })),
          user_id: Type.Optional(Uuid),
          client_id: Type.Optional(Uuid),
          agent_id: Type.Optional(Uuid),
          key_id: Type.Optional(Uuid),
          request_id: Type.Optional(Type.String({ maxLength: 128 })),
          since: Type.Optional(Type.String({ maxLength: 40 })),
          before: Type.Optional(Uuid),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
        }),
        response: responses({ 200: Type.Object({ events: Type.Array(Event) }) }),
      },
    },
    async (request) => {
      const q = request.query;
      return {
        events: await events.query({
          limit: q.limit,
          ...(q.code ? { code: q.code } : {}),
          ...(q.type ? { type: q.type } : {}),
          ...(q.user_id ? { userId: q.user_id } : {}),
          ...(q.client_id ? { clientId: q.client_id } : {}),
          ...(q.agent_id ? { agentId: q.agent_id } : {}),
          ...(q.key_id ? { keyId: q.key_id } : {}),
          ...(q.request_id ? { requestId: q.request_id } : {}),
          ...(q.since ? { since: parseSince(q.since, clock.now()) } : {}),
          ...(q.before ? { before: q.before } : {}),
        }),
      };
    },
  );
}
