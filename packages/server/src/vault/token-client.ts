import * as oauth from 'oauth4webapi';
import type { Clock } from '../clock.js';
import type { VaultAuthMethod, VaultGrantType } from '../store/schema.js';
import { type TokenExpiry, tokenExpiry } from './expiry.js';

/** Everything one token request to a provider needs, opened (the caller unseals the secrets). */
export interface TokenRequest {
  tokenUrl: string;
  grantType: VaultGrantType;
  clientId: string;
  clientSecret: string;
  authMethod: VaultAuthMethod;
  scope: string | null;
  extraParams: Record<string, string>;
  refreshToken: string | null;
}

export type TokenResult =
  | {
      ok: true;
      receivedAt: number;
      accessToken: string;
      tokenType: string;
      /** A rotated refresh token, when the provider sent one. */
      refreshToken: string | null;
      scope: string | null;
      expiry: TokenExpiry;
    }
  | {
      ok: false;
      receivedAt: number | null;
      /** The provider refused the connection's credentials: retrying cannot help until an admin fixes them. */
      definitive: boolean;
      /** The OAuth `error` the provider answered, if it answered one. */
      providerError: string | null;
      httpStatus: number | null;
      detail: string;
    };

export type TokenClient = (request: TokenRequest) => Promise<TokenResult>;

/** OAuth errors (RFC 6749 §5.2) that say the grant or the client itself is refused, not that the provider is busy. */
const DEFINITIVE_ERRORS = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client']);

/**
 * The vault uses no ID token, and validating one needs the provider's issuer, which a connection (a bare
 * token URL) does not know; a refresh with the `openid` scope still returns one (Microsoft, Google), so it
 * is dropped before oauth4webapi checks the response.
 */
async function withoutIdToken(response: Response): Promise<Response> {
  if (response.status !== 200) return response;
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return new Response(text, { status: response.status, headers: response.headers });
  }
  if (body && typeof body === 'object' && 'id_token' in body)
    delete (body as { id_token?: unknown }).id_token;
  return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
}

function unreachable(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer from the provider within ${timeoutMs / 1000}s`;
  }
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return `could not reach the provider (${reason})`;
}

/** What a provider's answer (or its failure to finish one) means for the connection. */
async function refused(
  error: unknown,
  receivedAt: number,
  timeoutMs: number,
  status: number,
): Promise<TokenResult> {
  const failure = {
    ok: false as const,
    receivedAt,
    definitive: false,
    providerError: null,
    httpStatus: status,
  };
  if (error instanceof oauth.ResponseBodyError) {
    const description = error.error_description ? `: ${error.error_description}` : '';
    return {
      ...failure,
      definitive: DEFINITIVE_ERRORS.has(error.error),
      providerError: error.error,
      detail: `the provider answered ${error.status} ${error.error}${description}`.slice(0, 500),
    };
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    // A 401 with a challenge from a token endpoint refuses the client's authentication (RFC 6749 §5.2).
    const providerError = error.cause[0]?.parameters.error ?? 'invalid_client';
    return {
      ...failure,
      definitive: error.status === 401 || DEFINITIVE_ERRORS.has(providerError),
      providerError,
      detail: `the provider answered ${error.status} ${providerError}`,
    };
  }
  if (error instanceof DOMException) return { ...failure, detail: unreachable(error, timeoutMs) };
  // Anything else is an answer that is not a usable token response (HTTP 5xx, HTML, an unknown token type):
  // a passing failure, described with the provider's own `error` when its body carries one.
  if (status !== 200) {
    const providerError = await oauthErrorOf(error);
    return {
      ...failure,
      providerError,
      detail: `the provider answered ${status}${providerError ? ` ${providerError}` : ''} instead of a token`,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    ...failure,
    detail: `the provider's answer is not a usable token response: ${message}`.slice(0, 500),
  };
}

/** The RFC 6749 `error` of a non-4xx answer (oauth4webapi reads error bodies of 4xx answers only). */
async function oauthErrorOf(error: unknown): Promise<string | null> {
  const response = error instanceof oauth.OperationProcessingError ? error.cause : undefined;
  if (!(response instanceof Response) || response.bodyUsed) return null;
  try {
    const body = (await response.json()) as { error?: unknown };
    return typeof body.error === 'string' ? body.error.slice(0, 100) : null;
  } catch {
    return null; // not JSON: the status says enough
  }
}

const normalTokenType = (type: string) => (type.toLowerCase() === 'bearer' ? 'Bearer' : type);

/** Asks a provider's token endpoint for a token (oauth4webapi does the protocol) and reads its expiry. */
export function createTokenClient(clock: Clock, timeoutMs: number): TokenClient {
  return async (request) => {
    const url = new URL(request.tokenUrl);
    const as: oauth.AuthorizationServer = { issuer: url.origin, token_endpoint: request.tokenUrl };
    const client: oauth.Client = { client_id: request.clientId };
    const auth =
      request.authMethod === 'client_secret_post'
        ? oauth.ClientSecretPost(request.clientSecret)
        : oauth.ClientSecretBasic(request.clientSecret);
    const parameters = new URLSearchParams(request.extraParams);
    if (request.scope) parameters.set('scope', request.scope);
    const options = {
      signal: AbortSignal.timeout(timeoutMs),
      // Connections accept plain http only for loopback token URLs (checked when they are saved).
      [oauth.allowInsecureRequests]: url.protocol === 'http:',
    };
    let response: Response;
    try {
      response =
        request.grantType === 'refresh_token'
          ? await oauth.refreshTokenGrantRequest(as, client, auth, request.refreshToken ?? '', {
              ...options,
              additionalParameters: parameters,
            })
          : await oauth.clientCredentialsGrantRequest(as, client, auth, parameters, options);
    } catch (error) {
      return {
        ok: false,
        receivedAt: null,
        definitive: false,
        providerError: null,
        httpStatus: null,
        detail: unreachable(error, timeoutMs),
      };
    }
    // The expiry counts from the moment the answer arrived, not from when the request left.
    const receivedAt = clock.now();
    let body: oauth.TokenEndpointResponse;
    try {
      body =
        request.grantType === 'refresh_token'
          ? await oauth.processRefreshTokenResponse(as, client, await withoutIdToken(response))
          : await oauth.processClientCredentialsResponse(as, client, response);
    } catch (error) {
      return refused(error, receivedAt, timeoutMs, response.status);
    }
    return {
      ok: true,
      receivedAt,
      accessToken: body.access_token,
      tokenType: normalTokenType(body.token_type),
      refreshToken: body.refresh_token ?? null,
      scope: body.scope ?? null,
      expiry: tokenExpiry(body, receivedAt),
    };
  };
}
