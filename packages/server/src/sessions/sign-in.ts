import { GatehouseError } from '../errors/gatehouse-error.js';
import { decided as recordDecision } from '../events/decided.js';
import type { Actor, AuthEvent, EventContext, Events } from '../events/events.js';
import { MFA_AMR, type Mfa, type MfaChallenge, type SecondFactorMethod } from '../mfa/mfa.js';
import { previewSecret } from '../secrets/digest.js';
import type { User } from '../users/user-view.js';
import type { Users } from '../users/users.js';
import type { Sessions, TokenSet } from './sessions.js';

export interface SignedIn extends TokenSet {
  user: User;
}

/** A right password on an account with a second factor: the step to complete, and (not for the caller) whose. */
export interface MfaPending extends MfaChallenge {
  user: User;
}

export interface SignedInWithMfa extends SignedIn {
  method: SecondFactorMethod;
  backupCodesLeft?: number;
}

/** The people's ways in — sign-up, password login, refresh — each decision recorded as an event. */
export interface SignIn {
  signUp(input: { email: string; password: string; name?: string }, context: EventContext): Promise<SignedIn>;
  /** Tokens, or — when the account has a second factor — the MFA step to complete with `verifyMfa`. */
  logIn(email: string, password: string, context: EventContext): Promise<SignedIn | MfaPending>;
  /** Completes a sign-in's MFA step with a TOTP or backup code; the session's amr names both factors. */
  verifyMfa(mfaToken: string, code: string, context: EventContext): Promise<SignedInWithMfa>;
  refresh(refreshToken: string, context: EventContext): Promise<TokenSet>;
  /** Changes the password and ends every other session of the user. */
  changePassword(
    who: { userId: string; sessionId: string },
    passwords: { current: string; next: string },
    actor: Actor,
  ): Promise<void>;
}

export interface SignInOptions {
  users: Users;
  sessions: Sessions;
  events: Events;
  mfa: Mfa;
  signupOpen: boolean;
}

export function createSignIn({ users, sessions, events, mfa, signupOpen }: SignInOptions): SignIn {
  const decided = <T>(
    event: Omit<AuthEvent, 'code'>,
    work: (identify: (subject: Partial<AuthEvent>) => void) => Promise<T>,
    subject: (result: T) => Partial<AuthEvent>,
  ) => recordDecision(events, event, work, subject);

  const signedIn = (result: SignedIn) => ({ userId: result.user.id, sessionId: result.session_id });

  return {
    signUp: (input, context) =>
      decided(
        { type: 'signup', context },
        async () => {
          if (!signupOpen) throw new GatehouseError('signup_closed');
          const user = await users.create(input);
          return { user, ...(await sessions.start(user, context)) };
        },
        signedIn,
      ),

    logIn: (email, password, context) =>
      decided<SignedIn | MfaPending>(
        { type: 'login', context, detail: { email: email.slice(0, 320) } },
        async () => {
          const user = await users.verifyCredentials(email, password);
          if (user.mfa_enabled) return { user, ...(await mfa.challenge(user)) };
          return { user, ...(await sessions.start(user, context)) };
        },
        // The password step is decided here (ok); whether the whole sign-in succeeds, `mfa.verify` decides.
        (result) =>
          'mfa_token' in result
            ? { userId: result.user.id, detail: { email: email.slice(0, 320), mfa_required: true } }
            : signedIn(result),
      ),

    verifyMfa: (mfaToken, code, context) =>
      decided(
        { type: 'mfa.verify', context, tokenPreview: previewSecret(mfaToken) },
        async (identify) => {
          const passed = await mfa.complete(mfaToken, code, identify);
          return {
            ...passed,
            ...(await sessions.start(passed.user, context, MFA_AMR)),
          };
        },
        (result) => ({
          ...signedIn(result),
          detail: {
            method: result.method,
            ...(result.backupCodesLeft === undefined ? {} : { backup_codes_left: result.backupCodesLeft }),
          },
        }),
      ),

    refresh: (refreshToken, context) =>
      decided(
        { type: 'refresh', context, tokenPreview: previewSecret(refreshToken) },
        () => sessions.refresh(refreshToken),
        (tokens) => ({ sessionId: tokens.session_id }),
      ),

    changePassword: ({ userId, sessionId }, { current, next }, actor) =>
      decided(
        { type: 'password.change', userId, sessionId, ...(actor.context ? { context: actor.context } : {}) },
        async () => {
          await users.changePassword(userId, current, next);
          await sessions.revokeAll(userId, 'password_changed', actor, sessionId);
        },
        () => ({}),
      ),
  };
}
