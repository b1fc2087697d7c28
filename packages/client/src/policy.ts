import type { Failure } from './read-failure.js';

/**
 * The client's failure policy, in one place (docs/sdk.md renders its table from `decide`). It exists so that
 * no front end signs a user out because a server was restarting: only a definitive answer about the session
 * ends it, and everything passing is retried with backoff.
 */

/** What kind of request failed. */
export type Exchange =
  /** A request carrying the session's credential: `client.fetch`, Gatehouse's own `/v1/auth/*`. */
  | 'api'
  /** `POST /oauth/token` with the refresh token: the server's word on whether the session goes on. */
  | 'refresh'
  /** A request made without a session: sign-up, sign-in, the MFA step, sign-out. */
  | 'anonymous';

export type Decision =
  | { kind: 'ok' }
  /** Passing: wait (`afterMs` from retry-after when the server said) and send it again. */
  | { kind: 'retry'; afterMs?: number }
  /** Get a new credential once (a token refresh; in cookie mode, the session's CSRF token), then replay. */
  | { kind: 'refresh' }
  /** Definitive: the session is over, for this reason. */
  | { kind: 'sign_out'; code: string }
  /** The caller gets the answer; the session is untouched. */
  | { kind: 'give_up' };

export interface DecisionContext {
  exchange: Exchange;
  /** This request may still trigger a refresh (it carried the credential and has not been replayed yet). */
  canRefresh: boolean;
  /** The session is an HttpOnly cookie: there is no token to refresh, only the CSRF token to reload. */
  cookieMode: boolean;
  /** Sending it twice does no harm, so a network error (which may hide a processed request) is retried. */
  idempotent: boolean;
}

export type Outcome = { ok: true } | { ok: false; networkError: true } | ({ ok: false } & Failure);

const CSRF_CODES = new Set(['csrf_missing', 'csrf_invalid']);

/** 5xx, 429 and 408 are passing whatever the body says; a registry code with action `retry` is too. */
export function isPassing(failure: Failure): boolean {
  if (failure.action) return failure.action === 'retry';
  return failure.status >= 500 || failure.status === 429 || failure.status === 408;
}

/** Refusals of a refresh that are the server's word on the session: it is over, or its user is stopped. */
const ENDS_SESSION_ON_REFRESH = new Set(['sign_out', 'contact_admin']);

function decideRefresh(failure: Failure): Decision {
  // Reused, expired or unknown refresh token, revoked or expired session, disabled user: the session is
  // over. A malformed request, or an answer without a code (a proxy's), says nothing about it.
  // RFC 6749 §5.2: a refused grant is 400 (invalid_grant) or 401; other statuses are not about the token.
  const aboutTheGrant = failure.status === 400 || failure.status === 401;
  if (failure.code && failure.action && aboutTheGrant && ENDS_SESSION_ON_REFRESH.has(failure.action)) {
    return { kind: 'sign_out', code: failure.code };
  }
  return { kind: 'give_up' };
}

function decideApi(failure: Failure, context: DecisionContext): Decision {
  const { canRefresh, cookieMode } = context;
  if (failure.action === 'sign_out' && failure.code) {
    // With tokens, the refresh endpoint confirms first: a key rotated or a server restarted with another
    // key fails the access token, not the session. A cookie is the session itself.
    if (cookieMode || !canRefresh) return { kind: 'sign_out', code: failure.code };
    return { kind: 'refresh' };
  }
  if (!canRefresh) return { kind: 'give_up' };
  if (cookieMode) return CSRF_CODES.has(failure.code ?? '') ? { kind: 'refresh' } : { kind: 'give_up' };
  if (failure.action === 'refresh') return { kind: 'refresh' };
  // A bare 401 (an API that does not speak reason codes) earns one refresh, never a sign-out.
  return failure.status === 401 && !failure.code ? { kind: 'refresh' } : { kind: 'give_up' };
}

export function decide(outcome: Outcome, context: DecisionContext): Decision {
  if (outcome.ok) return { kind: 'ok' };
  if ('networkError' in outcome) return context.idempotent ? { kind: 'retry' } : { kind: 'give_up' };
  if (isPassing(outcome)) {
    return outcome.retryAfterMs === undefined
      ? { kind: 'retry' }
      : { kind: 'retry', afterMs: outcome.retryAfterMs };
  }
  if (context.exchange === 'refresh') return decideRefresh(outcome);
  if (context.exchange === 'api') return decideApi(outcome, context);
  return { kind: 'give_up' };
}

export interface RetryOptions {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** The first backoff; it doubles on each attempt up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** No retry starts once this much time has passed since the first attempt. */
  maxElapsedMs: number;
}

/** About 30 s of retrying: longer than a typical restart, shorter than a user's patience. */
export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 8,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  maxElapsedMs: 30_000,
};

/**
 * The wait before attempt `attempt + 1`, or undefined to give up. Exponential backoff with equal jitter, so
 * tabs and devices that failed together do not come back together; a server's retry-after is honoured
 * (plus jitter), and a wait past the budget ends the retrying instead of hammering sooner.
 */
export function retryDelay(
  attempt: number,
  elapsedMs: number,
  afterMs: number | undefined,
  options: RetryOptions,
  random: () => number,
): number | undefined {
  if (attempt >= options.maxAttempts) return undefined;
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  const delay =
    afterMs === undefined ? ceiling / 2 + (random() * ceiling) / 2 : afterMs + random() * options.baseDelayMs;
  return elapsedMs + delay > options.maxElapsedMs ? undefined : delay;
}
