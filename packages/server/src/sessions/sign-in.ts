import { GatehouseError } from '../errors/gatehouse-error.js';
import type { Actor, AuthEvent, EventContext, Events } from '../events/events.js';
import { previewSecret } from '../secrets/digest.js';
import type { User } from '../users/user-view.js';
import type { Users } from '../users/users.js';
import type { Sessions, TokenSet } from './sessions.js';

export interface SignedIn extends TokenSet {
  user: User;
}

/** The people's ways in — sign-up, password login, refresh — each decision recorded as an event. */
export interface SignIn {
  signUp(input: { email: string; password: string; name?: string }, context: EventContext): Promise<SignedIn>;
  logIn(email: string, password: string, context: EventContext): Promise<SignedIn>;
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
  signupOpen: boolean;
}

export function createSignIn({ users, sessions, events, signupOpen }: SignInOptions): SignIn {
  /** Runs one decision and records it: `ok` with what it produced, or the refusal's (internal) code and detail. */
  async function decided<T>(
    event: Omit<AuthEvent, 'code'>,
    work: () => Promise<T>,
    subject: (result: T) => Partial<AuthEvent>,
  ): Promise<T> {
    try {
      const result = await work();
      events.record({ ...event, code: 'ok', ...subject(result) });
      return result;
    } catch (error) {
      if (error instanceof GatehouseError) {
        events.record({
          ...event,
          code: error.code,
          detail: { ...event.detail, reason: error.internal ?? error.detail },
        });
      }
      throw error;
    }
  }

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
      decided(
        { type: 'login', context, detail: { email: email.slice(0, 320) } },
        async () => {
          const user = await users.verifyCredentials(email, password);
          return { user, ...(await sessions.start(user, context)) };
        },
        signedIn,
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
