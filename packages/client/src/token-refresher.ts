import { GatehouseClientError } from './errors.js';
import type { Body, GatehouseRequests } from './requests.js';
import type { ServerClock } from './server-clock.js';
import type { SessionState } from './session-state.js';
import type { StoredSession } from './storage.js';
import { tokenTimes } from './token-claims.js';
import { errorOf, type Send } from './transport.js';

type TokenSession = Extract<StoredSession, { kind: 'token' }>;

export interface RefresherOptions {
  state: SessionState;
  send: Send;
  requests: GatehouseRequests;
  clock: ServerClock;
  /** Refresh this long before expiry, at most half the token's lifetime. */
  marginMs: number;
  /** Also refresh on a timer. */
  autoRefresh: boolean;
  /** The least wait before the timer tries again after a refresh failed for a passing reason. */
  retryLaterMs: number;
}

/** No timer fires sooner than this after another: whatever a clock says, refreshing cannot spin. */
const MIN_TIMER_MS = 1000;
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How long a tab that waited for the refresh lock gives the other tab's write to reach its storage. */
const STORAGE_SETTLE_MS = 250;

/**
 * Access tokens, refreshed ahead of expiry on the server's clock, one refresh at a time: in this process
 * (a shared promise) and across tabs (the session state's lock).
 */
export function createTokenRefresher(options: RefresherOptions) {
  const { state, send, requests, clock } = options;
  let refreshing: Promise<TokenSession> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function dueAt(session: TokenSession): number | undefined {
    const times = tokenTimes(session.accessToken);
    if (!times) return undefined;
    return times.expiresAt - Math.min(options.marginMs, (times.expiresAt - times.issuedAt) / 2);
  }

  const isDue = (session: TokenSession) => clock.now() >= (dueAt(session) ?? Number.POSITIVE_INFINITY);
  const isExpired = (session: TokenSession) =>
    clock.now() >= (tokenTimes(session.accessToken)?.expiresAt ?? Number.POSITIVE_INFINITY);

  /**
   * Each tab of Chromium holds its own copy of `localStorage`, updated from the others a moment later: a tab
   * that waited for the lock may not see yet what the tab before it stored. It waits that moment before
   * deciding the refresh is still to do.
   */
  async function settledRead(stale: TokenSession, contended: boolean) {
    const deadline = Date.now() + (contended ? STORAGE_SETTLE_MS : 0);
    let current = state.read();
    while (
      current?.kind === 'token' &&
      current.refreshToken === stale.refreshToken &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      current = state.read();
    }
    return current;
  }

  async function refreshHoldingLock(stale: TokenSession, contended: boolean): Promise<TokenSession> {
    const current = await settledRead(stale, contended);
    if (current?.kind !== 'token') {
      const code = state.gone();
      throw new GatehouseClientError('Signed out', { transient: false, ...(code ? { code } : {}) });
    }
    // Another call of this tab, or another tab, refreshed while this one waited for the lock.
    if (current.refreshToken !== stale.refreshToken) return current;
    const sent = await send(
      requests.form('/oauth/token', { grant_type: 'refresh_token', refresh_token: current.refreshToken }),
      // Sending a refresh twice is safe: within the grace interval both get the same successor.
      { exchange: 'refresh', canRefresh: false, cookieMode: false, idempotent: true },
    );
    if (sent.decision.kind === 'ok' && sent.response) {
      const body = (await sent.response.json()) as Body;
      const next: TokenSession = {
        ...current,
        accessToken: String(body.access_token),
        refreshToken: String(body.refresh_token),
      };
      state.save(next, 'refreshed');
      return next;
    }
    if (sent.decision.kind === 'sign_out') state.end(sent.decision.code, current);
    throw errorOf(sent);
  }

  /** Refreshes `stale` — or answers the session another call or tab already refreshed it into. */
  function refresh(stale: TokenSession): Promise<TokenSession> {
    refreshing ??= state
      .exclusive((contended) => refreshHoldingLock(stale, contended))
      .finally(() => {
        refreshing = undefined;
      });
    return refreshing;
  }

  async function getAccessToken(): Promise<string | null> {
    const current = state.read();
    if (current?.kind !== 'token') return null;
    if (!isDue(current)) return current.accessToken;
    try {
      return (await refresh(current)).accessToken;
    } catch (error) {
      // Refreshing ahead of expiry failed for a passing reason: the token held still works until it expires.
      if (error instanceof GatehouseClientError && error.transient && !isExpired(current)) {
        return current.accessToken;
      }
      throw error;
    }
  }

  function schedule(afterFailure = false) {
    clearTimeout(timer);
    const current = state.read();
    const due = current?.kind === 'token' && options.autoRefresh ? dueAt(current) : undefined;
    if (due === undefined) return;
    const floor = afterFailure ? options.retryLaterMs : MIN_TIMER_MS;
    timer = setTimeout(refreshInBackground, Math.min(MAX_TIMER_MS, Math.max(due - clock.now(), floor)));
    // In Node a pending refresh must not keep the process alive.
    (timer as { unref?: () => void }).unref?.();
  }

  function refreshInBackground() {
    getAccessToken().then(
      () => schedule(),
      (error: unknown) => {
        schedule(true);
        if (!(error instanceof GatehouseClientError)) throw error;
      },
    );
  }

  const unsubscribe = state.subscribe((event) =>
    event.type === 'signed_out' ? clearTimeout(timer) : schedule(),
  );
  schedule();

  return {
    getAccessToken,
    refresh,
    /** When the session's access token expires, in server time. */
    expiresAt: (session: TokenSession) => tokenTimes(session.accessToken)?.expiresAt,
    close() {
      clearTimeout(timer);
      unsubscribe();
    },
  };
}
