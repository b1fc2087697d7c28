import { Type } from '@sinclair/typebox';
import type { Vault } from '../../vault/vault.js';
import { type GuardDeps, requireAdmin } from '../bearer.js';
import { actorOf } from '../context.js';
import { IsoTime, responses } from '../schemas.js';
import type { App } from '../types.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

const GrantType = Type.Union([Type.Literal('client_credentials'), Type.Literal('refresh_token')]);
const AuthMethod = Type.Union([Type.Literal('client_secret_basic'), Type.Literal('client_secret_post')]);
const ExtraParams = Type.Record(
  Type.String({ minLength: 1, maxLength: 64 }),
  Type.String({ maxLength: 2048 }),
  {
    maxProperties: 20,
    description: 'Extra token-request parameters, e.g. {"audience": "…"} or {"resource": "…"}',
  },
);

const settings = {
  token_url: Type.String({ minLength: 1, maxLength: 2048 }),
  grant_type: GrantType,
  client_id: Type.String({ minLength: 1, maxLength: 512 }),
  client_secret: Type.String({ minLength: 1, maxLength: 4096 }),
  token_endpoint_auth_method: Type.Optional(AuthMethod),
  scope: Type.Optional(Nullable(Type.String({ maxLength: 2048 }))),
  extra_params: Type.Optional(Nullable(ExtraParams)),
  refresh_token: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 16_384 }))),
  refresh_margin_seconds: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 86_400,
      description: 'Refresh this long before expiry (default 300)',
    }),
  ),
};
const Name = Type.String({ minLength: 1, maxLength: 100 });

const CreateBody = Type.Object({ name: Name, ...settings }, { additionalProperties: false });
const PatchBody = Type.Partial(Type.Object({ name: Name, ...settings }), { additionalProperties: false });

const Refresh = Type.Object({
  started_at: IsoTime,
  triggered_by: Type.String({ description: 'request, background, admin or rejected' }),
  outcome: Type.String({ description: 'ok or a reason code' }),
  provider_error: Nullable(Type.String()),
  detail: Nullable(Type.String()),
  received_at: Nullable(IsoTime),
  expires_in: Nullable(Type.Number()),
  computed_expires_at: Nullable(IsoTime),
  provider_expires_at: Nullable(IsoTime),
  expires_at: Nullable(IsoTime),
  expiry_source: Nullable(Type.String()),
  difference_seconds: Nullable(Type.Number()),
});

const ConnectionStatus = Type.Object({
  id: Type.String(),
  name: Type.String(),
  token_url: Type.String(),
  grant_type: GrantType,
  client_id: Type.String(),
  token_endpoint_auth_method: AuthMethod,
  scope: Nullable(Type.String()),
  extra_params: Nullable(Type.Record(Type.String(), Type.String())),
  refresh_margin_seconds: Type.Integer(),
  has_refresh_token: Type.Boolean(),
  state: Type.Union(
    ['pending', 'active', 'failing', 'expired', 'reauth_required'].map((state) => Type.Literal(state)),
  ),
  token_preview: Nullable(Type.String()),
  token_type: Nullable(Type.String()),
  granted_scope: Nullable(Type.String()),
  expires_at: Nullable(IsoTime),
  seconds_left: Nullable(Type.Integer()),
  last_refresh_at: Nullable(IsoTime),
  last_error: Nullable(
    Type.Object({ code: Type.String(), detail: Nullable(Type.String()), at: Nullable(IsoTime) }),
  ),
  failure_count: Type.Integer(),
  next_attempt_at: Nullable(IsoTime),
  refreshing: Type.Boolean({ description: 'A refresh holds the lease right now' }),
  created_at: IsoTime,
  updated_at: IsoTime,
  refreshes: Type.Array(Refresh, { description: 'Newest first' }),
});

const ByName = Type.Object({ name: Name });

export interface VaultAdminRoutesDeps {
  vault: Vault;
  guards: GuardDeps;
}

export async function vaultAdminRoutes(app: App, { vault, guards }: VaultAdminRoutesDeps) {
  const tags = ['vault'];
  const security = [{ bearer: [] }];
  app.addHook('onRequest', requireAdmin(guards));

  app.post(
    '/v1/admin/vault/connections',
    { schema: { tags, security, body: CreateBody, response: responses({ 201: ConnectionStatus }) } },
    async (request, reply) => reply.status(201).send(await vault.create(request.body, actorOf(request))),
  );

  app.get(
    '/v1/admin/vault/connections',
    {
      schema: {
        tags,
        security,
        response: responses({ 200: Type.Object({ connections: Type.Array(ConnectionStatus) }) }),
      },
    },
    async () => ({ connections: await vault.list() }),
  );

  app.get(
    '/v1/admin/vault/connections/:name',
    {
      schema: {
        tags,
        security,
        params: ByName,
        querystring: Type.Object({ history: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })) }),
        response: responses({ 200: ConnectionStatus }),
      },
    },
    async (request) => vault.get(request.params.name, request.query.history),
  );

  app.patch(
    '/v1/admin/vault/connections/:name',
    {
      schema: {
        tags,
        security,
        params: ByName,
        body: PatchBody,
        response: responses({ 200: ConnectionStatus }),
      },
    },
    async (request) => vault.update(request.params.name, request.body, actorOf(request)),
  );

  app.post(
    '/v1/admin/vault/connections/:name/refresh',
    { schema: { tags, security, params: ByName, response: responses({ 200: ConnectionStatus }) } },
    async (request) => vault.refresh(request.params.name, actorOf(request)),
  );

  app.delete(
    '/v1/admin/vault/connections/:name',
    { schema: { tags, security, params: ByName, response: responses({ 204: Type.Null() }) } },
    async (request, reply) => {
      await vault.remove(request.params.name, actorOf(request));
      return reply.status(204).send();
    },
  );
}
