import { type TSchema, Type } from '@sinclair/typebox';

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    code: Type.String({ description: 'Reason code from the registry (docs/reason-codes.md)' }),
    hint: Type.String(),
    action: Type.String({
      description: 'What a client does: refresh, retry, sign_out, reauthenticate, fix_request, contact_admin',
    }),
    request_id: Type.String(),
  },
  { $id: 'Problem', title: 'Problem (RFC 9457)' },
);

export const Uuid = Type.String({ format: 'uuid' });
export const Email = Type.String({ minLength: 3, maxLength: 320 });
export const Password = Type.String({ minLength: 1, maxLength: 4096 });
export const IsoTime = Type.String({ format: 'date-time' });

export const UserSchema = Type.Object(
  {
    id: Uuid,
    email: Type.String(),
    name: Type.Union([Type.String(), Type.Null()]),
    roles: Type.Array(Type.String()),
    disabled: Type.Boolean(),
    mfa_enabled: Type.Boolean(),
    created_at: IsoTime,
    updated_at: IsoTime,
  },
  { $id: 'User' },
);

export const TokenSetSchema = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.String(),
  session_id: Uuid,
});

/** A completed sign-in: the user and a token pair. */
export const SignedInSchema = Type.Composite([Type.Object({ user: Type.Ref('User') }), TokenSetSchema]);

/** A right password on an account with a second factor: complete the step at POST /v1/auth/mfa/verify. */
export const MfaChallengeSchema = Type.Object({
  mfa_required: Type.Literal(true),
  mfa_token: Type.String({ description: 'Opaque (gmt_…), good for one /v1/auth/mfa/verify' }),
  expires_in: Type.Integer({ description: 'Seconds the mfa_token stays valid' }),
});

export const SessionSchema = Type.Object({
  id: Uuid,
  created_at: IsoTime,
  last_used_at: IsoTime,
  expires_at: IsoTime,
  ip: Type.Union([Type.String(), Type.Null()]),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean(),
});

/** Response schemas for a route: its success shapes plus the problem body every failure uses. */
export function responses(success: Record<number, TSchema>) {
  return { ...success, '4xx': Type.Ref('Problem'), '5xx': Type.Ref('Problem') };
}

/** `mode: "cookie"` signs a browser in with an HttpOnly session cookie instead of answering tokens. */
export const SignInMode = Type.Optional(Type.Union([Type.Literal('token'), Type.Literal('cookie')]));

export const CookieSignedInSchema = Type.Object({
  user: Type.Ref('User'),
  csrf_token: Type.String({ description: 'Send it as x-csrf-token on every cookie-authenticated write' }),
});

/** Bodies on credential routes are small; a bigger one is an attack or a mistake (413). */
export const AUTH_BODY_LIMIT = 16 * 1024;
