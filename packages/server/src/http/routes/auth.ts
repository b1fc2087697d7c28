import { Type } from '@sinclair/typebox';
import type { Config } from '../../config/config.js';
import type { RateCounter } from '../../fleet/rate-counter.js';
import type { Sessions } from '../../sessions/sessions.js';
import type { SignIn } from '../../sessions/sign-in.js';
import { type GuardDeps, principalOf, requireUser } from '../bearer.js';
import { actorOf, eventContext } from '../context.js';
import { perMinute, registerRateLimits } from '../rate-limits.js';
import {
  AUTH_BODY_LIMIT,
  CookieSignedInSchema,
  Email,
  IsoTime,
  MfaChallengeSchema,
  Password,
  responses,
  SessionSchema,
  SignedInSchema as SignedIn,
  SignInMode,
  Uuid,
} from '../schemas.js';
import { acceptSessionCookies, signInWithCookie } from '../session-cookie.js';
import type { App } from '../types.js';

export interface AuthRoutesDeps {
  sessions: Sessions;
  signIn: SignIn;
  guards: GuardDeps;
  rateCounter: RateCounter;
  config: Pick<Config, 'loginRateLimit'>;
}

export async function authRoutes(
  app: App,
  { sessions, signIn, guards, rateCounter, config }: AuthRoutesDeps,
) {
  const userGuard = requireUser(guards);
  const { cookie } = guards;
  const tags = ['people'];
  await registerRateLimits(app, rateCounter);
  await acceptSessionCookies(app);

  app.post(
    '/v1/auth/signup',
    {
      bodyLimit: AUTH_BODY_LIMIT,
      ...perMinute(config.loginRateLimit),
      schema: {
        tags,
        body: Type.Object({
          email: Email,
          password: Password,
          name: Type.Optional(Type.String({ maxLength: 200 })),
        }),
        response: responses({ 201: SignedIn }),
      },
    },
    async (request, reply) => {
      return reply.status(201).send(await signIn.signUp(request.body, eventContext(request)));
    },
  );

  app.post(
    '/v1/auth/login',
    {
      bodyLimit: AUTH_BODY_LIMIT,
      ...perMinute(config.loginRateLimit),
      schema: {
        tags,
        body: Type.Object({ email: Type.String({ maxLength: 1024 }), password: Password, mode: SignInMode }),
        response: responses({ 200: Type.Union([SignedIn, CookieSignedInSchema, MfaChallengeSchema]) }),
      },
    },
    async (request, reply) => {
      const result = await signIn.logIn(request.body.email, request.body.password, eventContext(request));
      if (!('mfa_token' in result)) {
        return request.body.mode === 'cookie' ? signInWithCookie(reply, cookie, sessions, result) : result;
      }
      // Nothing about the account leaves before the second factor passes.
      const { mfa_required, mfa_token, expires_in } = result;
      return { mfa_required, mfa_token, expires_in };
    },
  );

  app.get(
    '/v1/auth/me',
    {
      onRequest: userGuard,
      schema: {
        tags,
        security: [{ bearer: [] }],
        response: responses({
          200: Type.Object({
            id: Uuid,
            email: Type.String(),
            name: Type.Union([Type.String(), Type.Null()]),
            roles: Type.Array(Type.String()),
            mfa_enabled: Type.Boolean(),
            created_at: IsoTime,
          }),
        }),
      },
    },
    async (request) => principalOf(request).user,
  );

  app.get(
    '/v1/auth/session',
    {
      onRequest: userGuard,
      schema: {
        tags,
        security: [{ bearer: [] }],
        response: responses({
          200: Type.Object({
            user: Type.Ref('User'),
            session: Type.Object({ id: Uuid, created_at: IsoTime, expires_at: IsoTime }),
            csrf_token: Type.Optional(Type.String()),
          }),
        }),
      },
    },
    async (request) => {
      const { user, session } = principalOf(request);
      return {
        user,
        session: {
          id: session.id,
          created_at: new Date(session.created_at).toISOString(),
          expires_at: new Date(session.expires_at).toISOString(),
        },
        // A page reloaded in cookie mode gets its CSRF token back here.
        ...(request.cookieSession ? { csrf_token: sessions.csrfToken(session.id) } : {}),
      };
    },
  );

  app.post(
    '/v1/auth/logout',
    {
      onRequest: userGuard,
      schema: { tags, security: [{ bearer: [] }], response: responses({ 204: Type.Null() }) },
    },
    async (request, reply) => {
      const { user, session } = principalOf(request);
      await sessions.revoke(user.id, session.id, 'logout', actorOf(request));
      if (request.cookieSession) cookie.clear(reply);
      return reply.status(204).send();
    },
  );

  app.get(
    '/v1/auth/sessions',
    {
      onRequest: userGuard,
      schema: {
        tags,
        security: [{ bearer: [] }],
        response: responses({ 200: Type.Object({ sessions: Type.Array(SessionSchema) }) }),
      },
    },
    async (request) => {
      const { user, session } = principalOf(request);
      return { sessions: await sessions.list(user.id, session.id) };
    },
  );

  app.delete(
    '/v1/auth/sessions',
    {
      onRequest: userGuard,
      schema: {
        tags,
        security: [{ bearer: [] }],
        description: 'Sign out everywhere: every session of this user ends, this one included.',
        response: responses({ 200: Type.Object({ revoked: Type.Integer() }) }),
      },
    },
    async (request) => {
      const { user } = principalOf(request);
      return { revoked: await sessions.revokeAll(user.id, 'signed_out_everywhere', actorOf(request)) };
    },
  );

  app.delete(
    '/v1/auth/sessions/:id',
    {
      onRequest: userGuard,
      schema: {
        tags,
        security: [{ bearer: [] }],
        params: Type.Object({ id: Uuid }),
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      await sessions.revoke(
        principalOf(request).user.id,
        request.params.id,
        'revoked_by_user',
        actorOf(request),
      );
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/auth/password',
    {
      bodyLimit: AUTH_BODY_LIMIT,
      ...perMinute(config.loginRateLimit),
      onRequest: userGuard,
      schema: {
        tags,
        security: [{ bearer: [] }],
        body: Type.Object({ current_password: Password, new_password: Password }),
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      const { user, session } = principalOf(request);
      await signIn.changePassword(
        { userId: user.id, sessionId: session.id },
        { current: request.body.current_password, next: request.body.new_password },
        actorOf(request),
      );
      return reply.status(204).send();
    },
  );
}
