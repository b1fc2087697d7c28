import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../../config/config.js';
import type { RateCounter } from '../../fleet/rate-counter.js';
import type { Mfa, MfaRequester } from '../../mfa/mfa.js';
import type { Sessions } from '../../sessions/sessions.js';
import type { SignIn } from '../../sessions/sign-in.js';
import { type GuardDeps, principalOf, requireUser } from '../bearer.js';
import { eventContext } from '../context.js';
import { perMinute, registerRateLimits } from '../rate-limits.js';
import { AUTH_BODY_LIMIT, CookieSignedInSchema, responses, SignedInSchema, SignInMode } from '../schemas.js';
import { acceptSessionCookies, signInWithCookie } from '../session-cookie.js';
import type { App } from '../types.js';

const Code = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'A 6-digit code from the authenticator app, or (where accepted) a backup code xxxxx-xxxxx',
});
const BackupCodes = Type.Object({
  backup_codes: Type.Array(Type.String(), {
    description: 'Ten single-use codes, shown only now; each replaces a TOTP code once',
  }),
});

const requester = (request: FastifyRequest): MfaRequester => {
  const { user, session } = principalOf(request);
  return { userId: user.id, sessionId: session.id, context: eventContext(request) };
};

/** Second factors of people: an authenticator app (TOTP) with backup codes, and the sign-in step they guard. */
export interface MfaRoutesDeps {
  mfa: Mfa;
  signIn: SignIn;
  sessions: Pick<Sessions, 'attachCookie'>;
  guards: GuardDeps;
  rateCounter: RateCounter;
  config: Pick<Config, 'loginRateLimit'>;
}

export async function mfaRoutes(
  app: App,
  { mfa, signIn, sessions, guards, rateCounter, config }: MfaRoutesDeps,
) {
  const userGuard = requireUser(guards);
  const tags = ['people'];
  const security = [{ bearer: [] }];
  // Codes are short: per-IP limits on top of the per-account lock every failed code counts on.
  const limited = { bodyLimit: AUTH_BODY_LIMIT, ...perMinute(config.loginRateLimit) };
  await registerRateLimits(app, rateCounter);
  await acceptSessionCookies(app);

  app.post(
    '/v1/auth/mfa/verify',
    {
      ...limited,
      schema: {
        tags,
        description:
          'Completes a sign-in that answered mfa_required: the mfa_token with a TOTP code or a backup code. ' +
          'The access token carries amr ["pwd","otp","mfa"]. A wrong code is 401 mfa_invalid (the token stays ' +
          'usable until it expires); an expired or used token is 401 mfa_token_invalid.',
        body: Type.Object({ mfa_token: Type.String({ maxLength: 256 }), code: Code, mode: SignInMode }),
        response: responses({ 200: Type.Union([SignedInSchema, CookieSignedInSchema]) }),
      },
    },
    async (request, reply) => {
      const { user, access_token, token_type, expires_in, refresh_token, session_id } =
        await signIn.verifyMfa(request.body.mfa_token, request.body.code, eventContext(request));
      if (request.body.mode === 'cookie') {
        return signInWithCookie(reply, guards.cookie, sessions, { user, session_id });
      }
      return { user, access_token, token_type, expires_in, refresh_token, session_id };
    },
  );

  app.post(
    '/v1/auth/mfa/totp/enroll',
    {
      ...limited,
      onRequest: userGuard,
      schema: {
        tags,
        security,
        description:
          'Starts setting up an authenticator app (SHA-1, 6 digits, 30 s). Two-step verification is on only ' +
          'after /v1/auth/mfa/totp/confirm; enrolling again before that replaces the secret.',
        response: responses({
          200: Type.Object({
            secret: Type.String({ description: 'Base32, to type into the app by hand' }),
            otpauth_url: Type.String({ description: 'otpauth://totp/… for a QR code' }),
          }),
        }),
      },
    },
    async (request) => mfa.enroll(requester(request)),
  );

  app.post(
    '/v1/auth/mfa/totp/confirm',
    {
      ...limited,
      onRequest: userGuard,
      schema: {
        tags,
        security,
        description: 'Turns two-step verification on with a current code from the app just enrolled.',
        body: Type.Object({ code: Code }),
        response: responses({ 200: BackupCodes }),
      },
    },
    async (request) => mfa.confirm(requester(request), request.body.code),
  );

  app.delete(
    '/v1/auth/mfa/totp',
    {
      ...limited,
      onRequest: userGuard,
      schema: {
        tags,
        security,
        description: 'Turns two-step verification off: needs a current TOTP code or a backup code.',
        body: Type.Object({ code: Code }),
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      await mfa.disable(requester(request), request.body.code);
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/auth/mfa/backup-codes',
    {
      ...limited,
      onRequest: userGuard,
      schema: {
        tags,
        security,
        description: 'Replaces every backup code with ten new ones: needs a current TOTP code.',
        body: Type.Object({ code: Code }),
        response: responses({ 200: BackupCodes }),
      },
    },
    async (request) => mfa.regenerateBackupCodes(requester(request), request.body.code),
  );
}
