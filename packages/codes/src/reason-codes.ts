/**
 * The one registry of reason codes. Responses, events, metrics, `doctor` and docs/reason-codes.md take
 * their words from here; a new failure gets a code here first, and a code is never reused.
 *
 * `action` is the client's contract (docs/sdk.md, "The failure contract"): what a well-behaved client does on
 * seeing the code.
 */
export type ClientAction =
  | 'refresh'
  | 'retry'
  | 'sign_out'
  | 'reauthenticate'
  | 'fix_request'
  | 'contact_admin';

export interface ReasonCode {
  status: number;
  title: string;
  hint: string;
  action: ClientAction;
}

export const reasonCodes = {
  token_missing: {
    status: 401,
    title: 'No access token',
    hint: 'Send the access token as "Authorization: Bearer <token>".',
    action: 'reauthenticate',
  },
  token_malformed: {
    status: 401,
    title: 'The token is not a well-formed JWT',
    hint: 'A JWT is three base64url parts joined by dots; check that the whole token was copied, without quotes or line breaks.',
    action: 'sign_out',
  },
  token_signature_invalid: {
    status: 401,
    title: 'The token signature does not verify',
    hint: 'The token was altered after it was issued; sign in again to get a new one.',
    action: 'sign_out',
  },
  token_unknown_key: {
    status: 401,
    title: 'The token was signed by a key this server does not hold',
    hint: 'The token comes from another installation or environment, or the master key changed; sign in again here.',
    action: 'sign_out',
  },
  token_alg_not_allowed: {
    status: 401,
    title: 'The token uses a signing algorithm this server does not accept',
    hint: 'Only tokens issued by this server are accepted; sign in again to get one.',
    action: 'sign_out',
  },
  token_expired: {
    status: 401,
    title: 'The access token has expired',
    hint: 'Use the refresh token at /oauth/token to get a new access token.',
    action: 'refresh',
  },
  token_not_yet_valid: {
    status: 401,
    title: 'The token is not valid yet',
    hint: "The token's nbf/iat is in the future: a clock is off. Compare the client clock with the server's Date header.",
    action: 'retry',
  },
  token_issuer_mismatch: {
    status: 401,
    title: 'The token was issued by another issuer',
    hint: 'The token comes from another environment (its iss differs from this server). Sign in against this server.',
    action: 'sign_out',
  },
  token_audience_mismatch: {
    status: 401,
    title: 'The token was issued for another audience',
    hint: 'Request a token for this audience, or add it to GATEHOUSE_TOKEN_AUDIENCE.',
    action: 'sign_out',
  },
  token_revoked: {
    status: 401,
    title: 'The token has been revoked',
    hint: 'Sign in again.',
    action: 'sign_out',
  },
  session_revoked: {
    status: 401,
    title: 'The session has been revoked',
    hint: 'The session was ended (logout, password change, admin action or refresh-token reuse); sign in again.',
    action: 'sign_out',
  },
  session_expired: {
    status: 401,
    title: 'The session has expired',
    hint: 'The session reached its idle or absolute timeout; sign in again.',
    action: 'sign_out',
  },
  subject_not_found: {
    status: 401,
    title: 'The user named by the token does not exist',
    hint: 'The user was deleted, or the database was replaced with ids that differ; move users with `gatehouse users export/import`, which keeps ids.',
    action: 'sign_out',
  },
  user_disabled: {
    status: 401,
    title: 'The user is disabled',
    hint: 'An administrator disabled this account.',
    action: 'contact_admin',
  },
  invalid_credentials: {
    status: 401,
    title: 'Invalid email or password',
    hint: 'Check the email and password and try again.',
    action: 'fix_request',
  },
  account_locked: {
    status: 401,
    title: 'Invalid email or password',
    hint: 'Check the email and password and try again.',
    action: 'fix_request',
  },
  mfa_required: {
    status: 401,
    title: 'A second factor is required',
    hint: 'Complete the MFA step at /v1/auth/mfa/verify.',
    action: 'reauthenticate',
  },
  mfa_invalid: {
    status: 401,
    title: 'The one-time code is not valid',
    hint: 'Enter the current code from the authenticator app, or a backup code.',
    action: 'fix_request',
  },
  mfa_token_invalid: {
    status: 401,
    title: 'The sign-in step has expired or was already used',
    hint: 'An mfa_token is good for one sign-in within 5 minutes of the password; sign in again with email and password.',
    action: 'reauthenticate',
  },
  mfa_already_enabled: {
    status: 409,
    title: 'Two-step verification is already on',
    hint: 'To set up another authenticator app, turn it off first with DELETE /v1/auth/mfa/totp (needs a current code).',
    action: 'fix_request',
  },
  mfa_not_enrolled: {
    status: 409,
    title: 'Two-step verification is not set up',
    hint: 'Start with POST /v1/auth/mfa/totp/enroll, then confirm with a code from the app at POST /v1/auth/mfa/totp/confirm.',
    action: 'fix_request',
  },
  refresh_token_not_found: {
    status: 400,
    title: 'The refresh token is not known',
    hint: 'The token was never issued here (another installation, or the database was replaced); sign in again.',
    action: 'sign_out',
  },
  refresh_token_reused: {
    status: 400,
    title: 'The refresh token was already used',
    hint: 'A refresh token was replayed after its rotation; the whole session was revoked as a precaution. Sign in again.',
    action: 'sign_out',
  },
  refresh_token_expired: {
    status: 400,
    title: 'The refresh token has expired',
    hint: 'Sign in again.',
    action: 'sign_out',
  },
  key_malformed: {
    status: 401,
    title: 'The API key is malformed',
    hint: 'The key is truncated, extended or mistyped (the detail says which check failed); copy the whole key again.',
    action: 'fix_request',
  },
  key_not_found: {
    status: 401,
    title: 'The API key is not known',
    hint: 'The key was never issued by this installation, or the database was reset.',
    action: 'contact_admin',
  },
  key_revoked: {
    status: 401,
    title: 'The API key has been revoked',
    hint: 'Use the key that replaced it, or ask an administrator for a new one.',
    action: 'contact_admin',
  },
  key_expired: {
    status: 401,
    title: 'The API key has expired',
    hint: 'Ask an administrator for a new key.',
    action: 'contact_admin',
  },
  client_inactive: {
    status: 401,
    title: 'The client is suspended',
    hint: 'An administrator suspended the client that owns this key; ask them to activate it.',
    action: 'contact_admin',
  },
  client_not_found: {
    status: 404,
    title: 'The client does not exist',
    hint: 'Check the client id.',
    action: 'fix_request',
  },
  user_not_found: {
    status: 404,
    title: 'The user does not exist',
    hint: 'Check the user id.',
    action: 'fix_request',
  },
  session_not_found: {
    status: 404,
    title: 'The session does not exist',
    hint: 'Check the session id; list sessions with GET /v1/auth/sessions.',
    action: 'fix_request',
  },
  email_taken: {
    status: 409,
    title: 'An account with this email already exists',
    hint: 'Sign in instead, or use another email.',
    action: 'fix_request',
  },
  password_policy: {
    status: 400,
    title: 'The password does not meet the policy',
    hint: 'Use 8 to 1024 characters that are not a commonly used password; any characters are allowed.',
    action: 'fix_request',
  },
  scope_insufficient: {
    status: 403,
    title: 'The credential lacks a required scope or role',
    hint: 'Use a credential that holds the scope named in the detail.',
    action: 'contact_admin',
  },
  csrf_missing: {
    status: 403,
    title: 'CSRF token missing',
    hint: 'Send the session CSRF token in the x-csrf-token header.',
    action: 'fix_request',
  },
  csrf_invalid: {
    status: 403,
    title: 'CSRF token invalid',
    hint: 'Get the current CSRF token from GET /v1/auth/session and send it in x-csrf-token.',
    action: 'fix_request',
  },
  rate_limited: {
    status: 429,
    title: 'Too many requests',
    hint: 'Wait for the time in the retry-after header, then try again.',
    action: 'retry',
  },
  storage_unavailable: {
    status: 503,
    title: 'The database cannot be reached',
    hint: 'This is temporary: retry after the retry-after delay. Operators: run `gatehouse doctor`.',
    action: 'retry',
  },
  overloaded: {
    status: 503,
    title: 'The server is busy',
    hint: 'Retry after the retry-after delay.',
    action: 'retry',
  },
  agent_not_found: {
    status: 404,
    title: 'The agent is not registered',
    hint: 'Register the agent again with POST /v1/agents/register.',
    action: 'fix_request',
  },
  reauth_required: {
    status: 409,
    title: 'The connection needs to be authorised again',
    hint: "The provider refused the connection's credentials (invalid_grant, invalid_client); give it a new refresh token or client secret with PATCH /v1/admin/vault/connections/{name}. `gatehouse vault status` shows the provider's answer.",
    action: 'contact_admin',
  },
  provider_unavailable: {
    status: 503,
    title: 'The token provider cannot be reached',
    hint: 'The provider did not issue a token and the stored one is (nearly) expired; retry after retry-after. Operators: `gatehouse vault status` shows the last error and the next attempt.',
    action: 'retry',
  },
  issuer_unavailable: {
    status: 503,
    title: 'The Gatehouse server cannot be reached',
    hint: 'A resource server could not read the issuer (discovery, JWKS or an API-key check); this is temporary, retry. Operators: check that the issuer URL is reachable from the resource server.',
    action: 'retry',
  },
  issuer_misconfigured: {
    status: 500,
    title: 'The resource server is configured for another issuer',
    hint: "The issuer's discovery document names another issuer than the resource server was given, so none of its tokens can be accepted; retrying does not help. Operators: give the verifier the issuer the document names (Gatehouse's GATEHOUSE_PUBLIC_URL), or correct GATEHOUSE_PUBLIC_URL; the detail names both.",
    action: 'contact_admin',
  },
  vault_connection_not_found: {
    status: 404,
    title: 'The vault connection does not exist',
    hint: 'Check the connection name; list them with GET /v1/admin/vault/connections or `gatehouse vault status`.',
    action: 'fix_request',
  },
  vault_connection_exists: {
    status: 409,
    title: 'A vault connection with this name exists',
    hint: 'Choose another name, or change the existing connection with PATCH /v1/admin/vault/connections/{name}.',
    action: 'fix_request',
  },
  vault_token_rejected: {
    status: 401,
    title: 'The provider rejected a stored token before its expiry',
    hint: "Recorded when an app reports a 401 from the provider: the token was revoked there or the provider's clock runs ahead. The vault refreshed it; if it recurs, compare difference_seconds in `gatehouse vault status`.",
    action: 'refresh',
  },
  signup_closed: {
    status: 403,
    title: 'Sign-up is closed',
    hint: 'Ask an administrator to create the account.',
    action: 'contact_admin',
  },
  rotation_too_soon: {
    status: 409,
    title: 'The next signing key was published too recently to sign',
    hint: 'Verifiers cache the JWKS, and one fetched before the next key was published would refuse every token it signs. Rotate again from the time in the detail; `--force` rotates at once, for a key that must stop signing now (it was exposed).',
    action: 'retry',
  },
  validation_failed: {
    status: 400,
    title: 'The request is not valid',
    hint: 'Fix the fields named in the detail and send the request again.',
    action: 'fix_request',
  },
  payload_too_large: {
    status: 413,
    title: 'The request body is too large',
    hint: 'Send a smaller body.',
    action: 'fix_request',
  },
  headers_too_large: {
    status: 431,
    title: 'The request headers are too large',
    hint: 'Send smaller headers; a token should be a few hundred bytes.',
    action: 'fix_request',
  },
  unsupported_media_type: {
    status: 415,
    title: 'The body media type is not supported',
    hint: 'Send application/json (or application/x-www-form-urlencoded on /oauth endpoints).',
    action: 'fix_request',
  },
  not_found: {
    status: 404,
    title: 'No such endpoint',
    hint: 'Check the method and path against /openapi.json.',
    action: 'fix_request',
  },
  unsupported_grant_type: {
    status: 400,
    title: 'The grant type is not supported',
    hint: 'Use grant_type=refresh_token or grant_type=client_credentials.',
    action: 'fix_request',
  },
  internal_error: {
    status: 500,
    title: 'Internal error',
    hint: 'This is a bug in Gatehouse; the request id finds it in the server log.',
    action: 'retry',
  },
} as const satisfies Record<string, ReasonCode>;

export type Code = keyof typeof reasonCodes;

export const isCode = (value: string): value is Code => Object.hasOwn(reasonCodes, value);
