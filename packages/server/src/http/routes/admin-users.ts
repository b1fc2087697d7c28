import { Type } from '@sinclair/typebox';
import { toIso } from '../../clock.js';
import type { Sessions } from '../../sessions/sessions.js';
import { KNOWN_ROLES, type Users } from '../../users/users.js';
import { type GuardDeps, requireAdmin } from '../bearer.js';
import { actorOf } from '../context.js';
import { AUTH_BODY_LIMIT, Email, IsoTime, Password, responses, SessionSchema, Uuid } from '../schemas.js';
import type { App } from '../types.js';

const UserId = Type.Object({ id: Uuid });
const Roles = Type.Array(Type.Union(KNOWN_ROLES.map((role) => Type.Literal(role))), { maxItems: 20 });

export interface AdminUserRoutesDeps {
  users: Users;
  sessions: Sessions;
  guards: GuardDeps;
}

export async function adminUserRoutes(app: App, { users, sessions, guards }: AdminUserRoutesDeps) {
  const tags = ['administration'];
  const security = [{ bearer: [] }];
  app.addHook('onRequest', requireAdmin(guards));

  app.get(
    '/v1/admin/users',
    {
      schema: {
        tags,
        security,
        querystring: Type.Object({
          email: Type.Optional(Type.String({ maxLength: 320 })),
          limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
          cursor: Type.Optional(Uuid),
        }),
        response: responses({
          200: Type.Object({
            users: Type.Array(Type.Ref('User')),
            next_cursor: Type.Union([Uuid, Type.Null()]),
          }),
        }),
      },
    },
    async (request) => users.list(request.query),
  );

  app.post(
    '/v1/admin/users',
    {
      bodyLimit: AUTH_BODY_LIMIT,
      schema: {
        tags,
        security,
        body: Type.Object(
          {
            email: Email,
            password: Password,
            name: Type.Optional(Type.String({ maxLength: 200 })),
            roles: Type.Optional(Roles),
          },
          { additionalProperties: false },
        ),
        response: responses({ 201: Type.Ref('User') }),
      },
    },
    async (request, reply) => reply.status(201).send(await users.create(request.body, actorOf(request))),
  );

  app.get(
    '/v1/admin/users/:id',
    { schema: { tags, security, params: UserId, response: responses({ 200: Type.Ref('User') }) } },
    async (request) => users.get(request.params.id),
  );

  app.patch(
    '/v1/admin/users/:id',
    {
      schema: {
        tags,
        security,
        params: UserId,
        body: Type.Object(
          {
            disabled: Type.Optional(Type.Boolean()),
            roles: Type.Optional(Roles),
            name: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
          },
          { additionalProperties: false },
        ),
        response: responses({ 200: Type.Ref('User') }),
      },
    },
    async (request) => {
      const user = await users.update(request.params.id, request.body, actorOf(request));
      if (request.body.disabled) await sessions.revokeAll(user.id, 'user_disabled', actorOf(request));
      return user;
    },
  );

  app.delete(
    '/v1/admin/users/:id',
    { schema: { tags, security, params: UserId, response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      await users.remove(request.params.id, actorOf(request));
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/admin/users/:id/unlock',
    {
      schema: {
        tags,
        security,
        params: UserId,
        response: responses({
          200: Type.Object({
            user: Type.Ref('User'),
            was_locked_until: Type.Union([IsoTime, Type.Null()], {
              description:
                'The lock lifted, or null when the account was not locked (its failures are cleared all the same)',
            }),
          }),
        }),
      },
    },
    async (request) => {
      const { user, lockedUntil } = await users.unlock(request.params.id, actorOf(request));
      return { user, was_locked_until: lockedUntil === null ? null : toIso(lockedUntil) };
    },
  );

  app.get(
    '/v1/admin/users/:id/sessions',
    {
      schema: {
        tags,
        security,
        params: UserId,
        response: responses({ 200: Type.Object({ sessions: Type.Array(SessionSchema) }) }),
      },
    },
    async (request) => {
      await users.get(request.params.id);
      return { sessions: await sessions.list(request.params.id) };
    },
  );

  app.delete(
    '/v1/admin/users/:id/sessions/:sessionId',
    {
      schema: {
        tags,
        security,
        params: Type.Object({ id: Uuid, sessionId: Uuid }),
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      await sessions.revoke(
        request.params.id,
        request.params.sessionId,
        'revoked_by_admin',
        actorOf(request),
      );
      return reply.status(204).send();
    },
  );

  app.delete(
    '/v1/admin/users/:id/sessions',
    {
      schema: {
        tags,
        security,
        params: UserId,
        response: responses({ 200: Type.Object({ revoked: Type.Integer() }) }),
      },
    },
    async (request) => {
      await users.get(request.params.id);
      return { revoked: await sessions.revokeAll(request.params.id, 'revoked_by_admin', actorOf(request)) };
    },
  );
}
