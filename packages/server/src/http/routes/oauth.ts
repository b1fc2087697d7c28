import formbody from '@fastify/formbody';
import type { Code } from '@gatehouse/codes';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeys } from '../../apikeys/api-keys.js';
import { API_KEY_PREFIX, normalizeCredential } from '../../apikeys/key-format.js';
import type { MachineTokens } from '../../apikeys/machine-tokens.js';
import type { Config } from '../../config/config.js';
import { GatehouseError } from '../../errors/gatehouse-error.js';
import type { EventContext } from '../../events/events.js';
import type { RateCounter } from '../../fleet/rate-counter.js';
import type { Sessions } from '../../sessions/sessions.js';
import type { SignIn } from '../../sessions/sign-in.js';
import type { Users } from '../../users/users.js';
import { type GuardDeps, principalOf, requireClientOrUser, requireUser } from '../bearer.js';
import { basicCredentials } from '../client-credentials.js';
import { eventContext } from '../context.js';
import { toGatehouseError } from '../problem.js';
import { perMinute, registerRateLimits } from '../rate-limits.js';
import { AUTH_BODY_LIMIT, responses } from '../schemas.js';
import { acceptSessionCookies } from '../session-cookie.js';
import type { App } from '../types.js';

/** RFC 6749 §5.2 error for a reason code; the Gatehouse code and hint ride along. */
function oauthError(code: Code): { error: string; status: number } {
  if (code === 'validation_failed' || code === 'payload_too_large' || code === 'unsupported_media_type') {
    return { error: 'invalid_request', status: 400 };
  }
  if (code === 'unsupported_grant_type') return { error: 'unsupported_grant_type', status: 400 };
  if (code.startsWith('key_') || code.startsWith('client_') || code === 'token_missing') {
    return { error: 'invalid_client', status: 401 };
  }
  if (code === 'scope_insufficient') return { error: 'invalid_scope', status: 400 };
  if (
    code === 'rate_limited' ||
    code === 'storage_unavailable' ||
    code === 'overloaded' ||
    code === 'internal_error'
  ) {
    return { error: code === 'internal_error' ? 'server_error' : 'temporarily_unavailable', status: 0 };
  }
  return { error: 'invalid_grant', status: 400 };
}

function sendOAuthError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const failure = toGatehouseError(error);
  const { error: oauthCode, status } = oauthError(failure.publicCode);
  if (failure.status >= 500) request.log.error({ err: error }, 'token endpoint failed');
  if (failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(failure.retryAfterSeconds));
  return reply
    .status(status || failure.status)
    .header('cache-control', 'no-store')
    .send({
      error: oauthCode,
      error_description: failure.detail ?? failure.hint,
      code: failure.publicCode,
      hint: failure.hint,
      request_id: request.id,
    });
}

const TokenRequest = Type.Object({
  grant_type: Type.String({ maxLength: 100 }),
  refresh_token: Type.Optional(Type.String({ maxLength: 1024 })),
  scope: Type.Optional(Type.String({ maxLength: 1024 })),
  client_id: Type.Optional(Type.String({ maxLength: 200 })),
  client_secret: Type.Optional(Type.String({ maxLength: 4096 })),
});

const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.Optional(Type.String()),
  scope: Type.Optional(Type.String()),
});

const TokenTypeHint = Type.Optional(
  Type.Union([Type.Literal('access_token'), Type.Literal('refresh_token')]),
);

export interface OAuthRoutesDeps {
  sessions: Sessions;
  apiKeys: Pick<ApiKeys, 'verify'>;
  users: Users;
  machineTokens: MachineTokens;
  signIn: SignIn;
  guards: GuardDeps;
  rateCounter: RateCounter;
  config: Pick<Config, 'tokenRateLimit'>;
}

export async function oauthRoutes(app: App, deps: OAuthRoutesDeps) {
  const { sessions, users, machineTokens, signIn, guards } = deps;
  const tags = ['oauth'];

  /** RFC 7662 for any token this server issued: an API key answers with its client and scopes. */
  async function introspect(token: string, context: EventContext) {
    if (!normalizeCredential(token).value.startsWith(API_KEY_PREFIX)) return sessions.introspect(token);
    const verdict = await deps.apiKeys.verify(token, { context: () => context, eventType: 'key.introspect' });
    if (!verdict.valid) return { active: false, code: verdict.code };
    return {
      active: true,
      token_type: 'api_key',
      client_id: verdict.client.id,
      scope: verdict.key.scopes.join(' '),
    };
  }

  // OAuth clients send forms (RFC 6749 §4); JSON is accepted too. Only these routes parse forms.
  await app.register(formbody, { bodyLimit: AUTH_BODY_LIMIT });

  await registerRateLimits(app, deps.rateCounter);
  await acceptSessionCookies(app);

  app.post(
    '/oauth/token',
    {
      bodyLimit: AUTH_BODY_LIMIT,
      ...perMinute(deps.config.tokenRateLimit),
      errorHandler: (error, request, reply) => sendOAuthError(error, request, reply),
      schema: {
        tags,
        body: TokenRequest,
        response: { 200: TokenResponse },
      },
    },
    async (request, reply) => {
      const { grant_type, refresh_token } = request.body;
      reply.header('cache-control', 'no-store');
      if (grant_type === 'refresh_token') {
        if (!refresh_token)
          throw new GatehouseError('validation_failed', { detail: 'refresh_token is required' });
        return signIn.refresh(refresh_token.trim(), eventContext(request));
      }
      if (grant_type === 'client_credentials') {
        const basic = basicCredentials(request.headers.authorization);
        const secret = basic?.secret ?? request.body.client_secret;
        if (!secret)
          throw new GatehouseError('token_missing', {
            detail: 'Send the API key as client_secret or in Basic auth',
          });
        return machineTokens.issue(
          { key: secret, clientId: basic?.id ?? request.body.client_id, scope: request.body.scope },
          eventContext(request),
        );
      }
      throw new GatehouseError('unsupported_grant_type', {
        detail: `grant_type "${grant_type.slice(0, 40)}" is not supported (refresh_token, client_credentials)`,
      });
    },
  );

  app.post(
    '/oauth/revoke',
    {
      bodyLimit: AUTH_BODY_LIMIT,
      schema: {
        tags,
        body: Type.Object({ token: Type.String({ maxLength: 8192 }), token_type_hint: TokenTypeHint }),
      },
    },
    async (request, reply) => {
      await sessions.revokeByToken(request.body.token.trim());
      return reply.status(200).send();
    },
  );

  app.post(
    '/oauth/introspect',
    {
      bodyLimit: AUTH_BODY_LIMIT,
      ...requireClientOrUser(guards, 'admin', 'introspect'),
      schema: {
        tags,
        description:
          'RFC 7662. The caller is an admin (bearer access token) or a resource server with an API key holding `introspect`: as a bearer token, as the client secret in Basic auth (client_secret_basic), or as `client_secret` in the form (client_secret_post). Access tokens, refresh tokens and API keys are introspected.',
        security: [{ bearer: [] }, { clientSecretBasic: [] }],
        body: Type.Object({
          token: Type.String({ maxLength: 8192 }),
          token_type_hint: TokenTypeHint,
          client_id: Type.Optional(Type.String({ maxLength: 200 })),
          client_secret: Type.Optional(Type.String({ maxLength: 4096 })),
        }),
        response: responses({
          200: Type.Object({
            active: Type.Boolean(),
            code: Type.Optional(Type.String()),
            token_type: Type.Optional(Type.String()),
            sub: Type.Optional(Type.String()),
            sid: Type.Optional(Type.String()),
            client_id: Type.Optional(Type.String()),
            scope: Type.Optional(Type.String()),
            exp: Type.Optional(Type.Integer()),
            iat: Type.Optional(Type.Integer()),
            iss: Type.Optional(Type.String()),
          }),
        }),
      },
    },
    async (request) => introspect(request.body.token.trim(), eventContext(request)),
  );

  app.get(
    '/oauth/userinfo',
    {
      onRequest: requireUser(guards),
      schema: {
        tags,
        security: [{ bearer: [] }],
        response: responses({
          200: Type.Object({
            sub: Type.String(),
            email: Type.String(),
            email_verified: Type.Boolean(),
            name: Type.Union([Type.String(), Type.Null()]),
          }),
        }),
      },
    },
    async (request) => {
      const user = await users.get(principalOf(request).user.id);
      return { sub: user.id, email: user.email, email_verified: false, name: user.name };
    },
  );
}
