import { GatehouseClientError } from './errors.js';
import { DEFAULT_RETRY, type DecisionContext, type RetryOptions } from './policy.js';
import { type Body, gatehouseRequests } from './requests.js';
import { createServerClock } from './server-clock.js';
import { type AuthChangeEvent, createSessionState } from './session-state.js';
import { type GatehouseUser, memoryStorage, type SessionStorage, type StoredSession } from './storage.js';
import { createTokenRefresher } from './token-refresher.js';
import { createTransport, errorOf, type RetryInfo } from './transport.js';

export interface GatehouseClientOptions {
  /** Gatehouse's public URL, e.g. `https://auth.example.com` (the page's own origin in cookie mode). */
  baseUrl: string;
  /** Where the session lives: `memoryStorage()` (default), `localStorageStorage()` or `cookieStorage()`. */
  storage?: SessionStorage;
  fetch?: typeof fetch;
  /** The local clock (epoch ms); tests inject a skewed one. The refresh schedule corrects it by `Date`. */
  now?: () => number;
  /** A source of randomness in [0, 1) for backoff jitter. */
  random?: () => number;
  retry?: Partial<RetryOptions>;
  /** Refresh this long before the access token expires (at most half its lifetime). Default 60 s. */
  refreshMarginMs?: number;
  /** Refresh on a timer ahead of expiry, not only when a token is asked for. Default true. */
  autoRefresh?: boolean;
  /** Share refreshes and sign-outs between tabs. Default: when the storage is shared (localStorage). */
  tabSync?: boolean;
  /** Called before each retry wait. */
  onRetry?: (info: RetryInfo) => void;
}

export interface SignedIn {
  status: 'signed_in';
  user: GatehouseUser | undefined;
}

export type SignInResult =
  | SignedIn
  | { status: 'mfa_required'; expiresIn: number; verify(code: string): Promise<SignedIn> };

export interface Session {
  mode: 'token' | 'cookie';
  user: GatehouseUser | undefined;
  sessionId: string | undefined;
  /** When the current access token expires, on this device's clock (token mode). */
  accessTokenExpiresAt: Date | undefined;
}

export interface GatehouseClient {
  signUp(input: { email: string; password: string; name?: string }): Promise<SignedIn>;
  signIn(input: { email: string; password: string }): Promise<SignInResult>;
  /** Ends the session here at once, then revokes it at the server (throws if the server cannot be told). */
  signOut(): Promise<void>;
  /** A valid access token (refreshed first when due), or null when signed out or in cookie mode. */
  getAccessToken(): Promise<string | null>;
  /** `fetch` with the credential attached and the failure policy applied (docs/sdk.md). */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  getSession(): Promise<Session | null>;
  onAuthStateChange(listener: (event: AuthChangeEvent) => void): () => void;
  /** Stops the refresh timer and the tab channel. */
  close(): void;
}

type CookieSession = Extract<StoredSession, { kind: 'cookie' }>;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

const isDefinitive = (error: unknown) => error instanceof GatehouseClientError && !error.transient;

export function createGatehouseClient(options: GatehouseClientOptions): GatehouseClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const gatehouseOrigin = new URL(baseUrl).origin;
  const storage = options.storage ?? memoryStorage();
  const cookieMode = storage.mode === 'cookie';
  const localNow = options.now ?? (() => Date.now());
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  const stored = storage.read();
  const clock = createServerClock(localNow, stored?.kind === 'token' ? stored.serverOffsetMs : 0);
  const send = createTransport({
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    gatehouseOrigin,
    clock,
    localNow,
    random: options.random ?? Math.random,
    retry,
    ...(options.onRetry ? { onRetry: options.onRetry } : {}),
  });
  const state = createSessionState(storage, clock, {
    tabSync: options.tabSync ?? storage.sharedAcrossTabs,
    name: `${gatehouseOrigin}|${storage.name}`,
  });
  const requests = gatehouseRequests(baseUrl);
  const tokens = createTokenRefresher({
    state,
    send,
    requests,
    clock,
    marginMs: options.refreshMarginMs ?? 60_000,
    autoRefresh: options.autoRefresh ?? true,
    retryLaterMs: retry.maxDelayMs,
  });

  const anonymous = (idempotent: boolean): DecisionContext => ({
    exchange: 'anonymous',
    canRefresh: false,
    cookieMode,
    idempotent,
  });

  /** An exchange that must succeed: its JSON body, or the failure as a GatehouseClientError. */
  async function expectOk(build: () => Request, context: DecisionContext): Promise<Body> {
    const sent = await send(build, context);
    if (sent.decision.kind !== 'ok' || !sent.response) throw errorOf(sent);
    const text = await sent.response.text();
    return text ? (JSON.parse(text) as Body) : {};
  }

  function adopt(body: Body): SignedIn {
    const user = body.user as GatehouseUser | undefined;
    const sessionId = typeof body.session_id === 'string' ? body.session_id : undefined;
    const session: StoredSession = cookieMode
      ? { kind: 'cookie', csrfToken: String(body.csrf_token), user, sessionId }
      : {
          kind: 'token',
          accessToken: String(body.access_token),
          refreshToken: String(body.refresh_token),
          user,
          sessionId,
        };
    state.save(session, 'signed_in');
    return { status: 'signed_in', user };
  }

  /** Cookie mode: the session behind the browser's cookie, with its CSRF token (after a reload, or a refusal). */
  async function reloadCookieSession(): Promise<CookieSession | null> {
    const sent = await send(requests.json('GET', '/v1/auth/session'), {
      exchange: 'api',
      canRefresh: false,
      cookieMode: true,
      idempotent: true,
    });
    const current = state.read();
    if (sent.decision.kind === 'sign_out' && current) state.end(sent.decision.code, current);
    if (sent.response?.status === 401) return null;
    if (sent.decision.kind !== 'ok' || !sent.response) throw errorOf(sent);
    const body = (await sent.response.json()) as Body;
    const session: CookieSession = {
      kind: 'cookie',
      csrfToken: String(body.csrf_token),
      user: body.user as GatehouseUser,
      sessionId: (body.session as { id?: string } | undefined)?.id,
    };
    state.restore(session);
    return session;
  }

  /** After the server refused the credential: a new one (a token refresh, or the cookie session's CSRF token). */
  async function renew(used: StoredSession): Promise<boolean> {
    try {
      if (used.kind === 'token') await tokens.refresh(used);
      else if (!(await reloadCookieSession())) return false;
      return true;
    } catch (error) {
      // A definitive refusal already ended the session; the caller gets the server's answer.
      if (isDefinitive(error)) return false;
      throw error;
    }
  }

  function authorize(request: Request, session: StoredSession | null, token: string | null): Request {
    if (token) request.headers.set('authorization', `Bearer ${token}`);
    const toGatehouse = new URL(request.url).origin === gatehouseOrigin;
    if (session?.kind === 'cookie' && toGatehouse && !SAFE_METHODS.has(request.method)) {
      request.headers.set('x-csrf-token', session.csrfToken);
    }
    return request;
  }

  async function authorizedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const template = new Request(input, init);
    const idempotent = IDEMPOTENT_METHODS.has(template.method);
    let canRefresh = true;
    for (;;) {
      const token = await tokens.getAccessToken();
      const used = state.read();
      const sent = await send(() => authorize(template.clone(), used, token), {
        exchange: 'api',
        canRefresh: canRefresh && used !== null,
        cookieMode: used?.kind === 'cookie',
        idempotent,
      });
      const { decision, response } = sent;
      if (!response) throw errorOf(sent);
      if (decision.kind === 'refresh' && used) {
        canRefresh = false;
        if (await renew(used)) {
          await response.body?.cancel();
          continue;
        }
      }
      if (decision.kind === 'sign_out' && used) state.end(decision.code, used);
      return response;
    }
  }

  async function signIn(input: { email: string; password: string }): Promise<SignInResult> {
    const mode = cookieMode ? { mode: 'cookie' } : {};
    const body = await expectOk(
      requests.json('POST', '/v1/auth/login', { ...input, ...mode }),
      anonymous(true),
    );
    if (body.mfa_required !== true) return adopt(body);
    const mfaToken = String(body.mfa_token);
    return {
      status: 'mfa_required',
      expiresIn: Number(body.expires_in),
      // A one-time code is spent by the first try that reaches the server: never resent blindly.
      verify: async (code) =>
        adopt(
          await expectOk(
            requests.json('POST', '/v1/auth/mfa/verify', { mfa_token: mfaToken, code, ...mode }),
            anonymous(false),
          ),
        ),
    };
  }

  async function signUp(input: { email: string; password: string; name?: string }): Promise<SignedIn> {
    const body = await expectOk(requests.json('POST', '/v1/auth/signup', input), anonymous(false));
    if (!cookieMode) return adopt(body);
    // Sign-up answers tokens; a cookie-mode app signs in with the cookie and drops the token session.
    const signedIn = await signIn(input);
    await expectOk(requests.form('/oauth/revoke', { token: String(body.refresh_token) }), anonymous(true));
    if (signedIn.status !== 'signed_in') throw new Error('A new account asked for a second factor');
    return signedIn;
  }

  async function signOut(): Promise<void> {
    const current = state.read();
    if (!current) return;
    state.end(undefined, current);
    if (current.kind === 'token') {
      await expectOk(
        requests.form('/oauth/revoke', { token: current.refreshToken, token_type_hint: 'refresh_token' }),
        anonymous(true),
      );
      return;
    }
    const sent = await send(
      requests.json('POST', '/v1/auth/logout', undefined, { 'x-csrf-token': current.csrfToken }),
      anonymous(true),
    );
    // 401: the cookie session had already ended, which is what signing out asks for.
    if (sent.decision.kind !== 'ok' && sent.response?.status !== 401) throw errorOf(sent);
  }

  async function getSession(): Promise<Session | null> {
    const current = state.read() ?? (cookieMode ? await reloadCookieSession() : null);
    if (!current) return null;
    const expiresAt = current.kind === 'token' ? tokens.expiresAt(current) : undefined;
    return {
      mode: current.kind,
      user: current.user,
      sessionId: current.sessionId,
      accessTokenExpiresAt: expiresAt === undefined ? undefined : new Date(expiresAt - clock.offsetMs()),
    };
  }

  return {
    signUp,
    signIn,
    signOut,
    getAccessToken: tokens.getAccessToken,
    fetch: authorizedFetch,
    getSession,
    onAuthStateChange: state.subscribe,
    close() {
      tokens.close();
      state.close();
    },
  };
}
