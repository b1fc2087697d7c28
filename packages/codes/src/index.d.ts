/**
 * The one registry of reason codes. Responses, events, metrics, `doctor` and docs/reason-codes.md take
 * their words from here; a new failure gets a code here first, and a code is never reused.
 *
 * `action` is the client's contract (DESIGN.md): what a well-behaved client does on seeing the code.
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
export declare const reasonCodes: {
  readonly token_missing: {
    readonly status: 401;
    readonly title: 'No access token';
    readonly hint: 'Send the access token as "Authorization: Bearer <token>".';
    readonly action: 'reauthenticate';
  };
  readonly token_malformed: {
    readonly status: 401;
    readonly title: 'The token is not a well-formed JWT';
    readonly hint: 'A JWT is three base64url parts joined by dots; check that the whole token was copied, without quotes or line breaks.';
    readonly action: 'sign_out';
  };
  readonly token_signature_invalid: {
    readonly status: 401;
    readonly title: 'The token signature does not verify';
    readonly hint: 'The token was altered after it was issued; sign in again to get a new one.';
    readonly action: 'sign_out';
  };
  readonly token_unknown_key: {
    readonly status: 401;
    readonly title: 'The token was signed by a key this server does not hold';
    readonly hint: 'The token comes from another installation or environment, or the master key changed; sign in again here.';
    readonly action: 'sign_out';
  };
  readonly token_alg_not_allowed: {
    readonly status: 401;
    readonly title: 'The token uses a signing algorithm this server does not accept';
    readonly hint: 'Only tokens issued by this server are accepted; sign in again to get one.';
    readonly action: 'sign_out';
  };
  readonly token_expired: {
    readonly status: 401;
    readonly title: 'The access token has expired';
    readonly hint: 'Use the refresh token at /oauth/token to get a new access token.';
    readonly action: 'refresh';
  };
  readonly token_not_yet_valid: {
    readonly status: 401;
    readonly title: 'The token is not valid yet';
    readonly hint: "The token's nbf/iat is in the future: a clock is off. Compare the client clock with the server's Date header.";
    readonly action: 'retry';
  };
  readonly token_issuer_mismatch: {
    readonly status: 401;
    readonly title: 'The token was issued by another issuer';
    readonly hint: 'The token comes from another environment (its iss differs from this server). Sign in against this server.';
    readonly action: 'sign_out';
  };
  readonly token_audience_mismatch: {
    readonly status: 401;
    readonly title: 'The token was issued for another audience';
    readonly hint: 'Request a token for this audience, or add it to GATEHOUSE_TOKEN_AUDIENCE.';
    readonly action: 'sign_out';
  };
  readonly token_revoked: {
    readonly status: 401;
    readonly title: 'The token has been revoked';
    readonly hint: 'Sign in again.';
    readonly action: 'sign_out';
  };
  readonly session_revoked: {
    readonly status: 401;
    readonly title: 'The session has been revoked';
    readonly hint: 'The session was ended (logout, password change, admin action or refresh-token reuse); sign in again.';
    readonly action: 'sign_out';
  };
  readonly session_expired: {
    readonly status: 401;
    readonly title: 'The session has expired';
    readonly hint: 'The session reached its idle or absolute timeout; sign in again.';
    readonly action: 'sign_out';
  };
  readonly subject_not_found: {
    readonly status: 401;
    readonly title: 'The user named by the token does not exist';
    readonly hint: 'The user was deleted, or the database was replaced with ids that differ; move users with `gatehouse users export/import`, which keeps ids.';
    readonly action: 'sign_out';
  };
  readonly user_disabled: {
    readonly status: 401;
    readonly title: 'The user is disabled';
    readonly hint: 'An administrator disabled this account.';
    readonly action: 'contact_admin';
  };
  readonly invalid_credentials: {
    readonly status: 401;
    readonly title: 'Invalid email or password';
    readonly hint: 'Check the email and password and try again.';
    readonly action: 'fix_request';
  };
  readonly account_locked: {
    readonly status: 401;
    readonly title: 'Invalid email or password';
    readonly hint: 'Check the email and password and try again.';
    readonly action: 'fix_request';
  };
  readonly mfa_required: {
    readonly status: 401;
    readonly title: 'A second factor is required';
    readonly hint: 'Complete the MFA step at /v1/auth/mfa/verify.';
    readonly action: 'reauthenticate';
  };
  readonly mfa_invalid: {
    readonly status: 401;
    readonly title: 'The one-time code is not valid';
    readonly hint: 'Enter the current code from the authenticator app, or a backup code.';
    readonly action: 'fix_request';
  };
  readonly mfa_token_invalid: {
    readonly status: 401;
    readonly title: 'The sign-in step has expired or was already used';
    readonly hint: 'An mfa_token is good for one sign-in within 5 minutes of the password; sign in again with email and password.';
    readonly action: 'reauthenticate';
  };
  readonly mfa_already_enabled: {
    readonly status: 409;
    readonly title: 'Two-step verification is already on';
    readonly hint: 'To set up another authenticator app, turn it off first with DELETE /v1/auth/mfa/totp (needs a current code).';
    readonly action: 'fix_request';
  };
  readonly mfa_not_enrolled: {
    readonly status: 409;
    readonly title: 'Two-step verification is not set up';
    readonly hint: 'Start with POST /v1/auth/mfa/totp/enroll, then confirm with a code from the app at POST /v1/auth/mfa/totp/confirm.';
    readonly action: 'fix_request';
  };
  readonly refresh_token_not_found: {
    readonly status: 400;
    readonly title: 'The refresh token is not known';
    readonly hint: 'The token was never issued here (another installation, or the database was replaced); sign in again.';
    readonly action: 'sign_out';
  };
  readonly refresh_token_reused: {
    readonly status: 400;
    readonly title: 'The refresh token was already used';
    readonly hint: 'A refresh token was replayed after its rotation; the whole session was revoked as a precaution. Sign in again.';
    readonly action: 'sign_out';
  };
  readonly refresh_token_expired: {
    readonly status: 400;
    readonly title: 'The refresh token has expired';
    readonly hint: 'Sign in again.';
    readonly action: 'sign_out';
  };
  readonly key_malformed: {
    readonly status: 401;
    readonly title: 'The API key is malformed';
    readonly hint: 'The key is truncated or mistyped (its checksum does not match); copy the whole key again.';
    readonly action: 'fix_request';
  };
  readonly key_not_found: {
    readonly status: 401;
    readonly title: 'The API key is not known';
    readonly hint: 'The key was never issued by this installation, or the database was reset.';
    readonly action: 'contact_admin';
  };
  readonly key_revoked: {
    readonly status: 401;
    readonly title: 'The API key has been revoked';
    readonly hint: 'Use the key that replaced it, or ask an administrator for a new one.';
    readonly action: 'contact_admin';
  };
  readonly key_expired: {
    readonly status: 401;
    readonly title: 'The API key has expired';
    readonly hint: 'Ask an administrator for a new key.';
    readonly action: 'contact_admin';
  };
  readonly client_inactive: {
    readonly status: 401;
    readonly title: 'The client is suspended';
    readonly hint: 'An administrator suspended the client that owns this key; ask them to activate it.';
    readonly action: 'contact_admin';
  };
  readonly client_not_found: {
    readonly status: 404;
    readonly title: 'The client does not exist';
    readonly hint: 'Check the client id.';
    readonly action: 'fix_request';
  };
  readonly user_not_found: {
    readonly status: 404;
    readonly title: 'The user does not exist';
    readonly hint: 'Check the user id.';
    readonly action: 'fix_request';
  };
  readonly session_not_found: {
    readonly status: 404;
    readonly title: 'The session does not exist';
    readonly hint: 'Check the session id; list sessions with GET /v1/auth/sessions.';
    readonly action: 'fix_request';
  };
  readonly email_taken: {
    readonly status: 409;
    readonly title: 'An account with this email already exists';
    readonly hint: 'Sign in instead, or use another email.';
    readonly action: 'fix_request';
  };
  readonly password_policy: {
    readonly status: 400;
    readonly title: 'The password does not meet the policy';
    readonly hint: 'Use 8 to 1024 characters that are not a commonly used password; any characters are allowed.';
    readonly action: 'fix_request';
  };
  readonly scope_insufficient: {
    readonly status: 403;
    readonly title: 'The credential lacks a required scope or role';
    readonly hint: 'Use a credential that holds the scope named in the detail.';
    readonly action: 'contact_admin';
  };
  readonly csrf_missing: {
    readonly status: 403;
    readonly title: 'CSRF token missing';
    readonly hint: 'Send the session CSRF token in the x-csrf-token header.';
    readonly action: 'fix_request';
  };
  readonly csrf_invalid: {
    readonly status: 403;
    readonly title: 'CSRF token invalid';
    readonly hint: 'Get the current CSRF token from GET /v1/auth/session and send it in x-csrf-token.';
    readonly action: 'fix_request';
  };
  readonly rate_limited: {
    readonly status: 429;
    readonly title: 'Too many requests';
    readonly hint: 'Wait for the time in the retry-after header, then try again.';
    readonly action: 'retry';
  };
  readonly storage_unavailable: {
    readonly status: 503;
    readonly title: 'The database cannot be reached';
    readonly hint: 'This is temporary: retry after the retry-after delay. Operators: run `gatehouse doctor`.';
    readonly action: 'retry';
  };
  readonly overloaded: {
    readonly status: 503;
    readonly title: 'The server is busy';
    readonly hint: 'Retry after the retry-after delay.';
    readonly action: 'retry';
  };
  readonly agent_not_found: {
    readonly status: 404;
    readonly title: 'The agent is not registered';
    readonly hint: 'Register the agent again with POST /v1/agents/register.';
    readonly action: 'fix_request';
  };
  readonly reauth_required: {
    readonly status: 409;
    readonly title: 'The connection needs to be authorised again';
    readonly hint: 'The provider refused the refresh token (invalid_grant); give the connection a new refresh token.';
    readonly action: 'contact_admin';
  };
  readonly provider_unavailable: {
    readonly status: 503;
    readonly title: 'The token provider cannot be reached';
    readonly hint: 'Retry later; the provider is down or slow.';
    readonly action: 'retry';
  };
  readonly signup_closed: {
    readonly status: 403;
    readonly title: 'Sign-up is closed';
    readonly hint: 'Ask an administrator to create the account.';
    readonly action: 'contact_admin';
  };
  readonly validation_failed: {
    readonly status: 400;
    readonly title: 'The request is not valid';
    readonly hint: 'Fix the fields named in the detail and send the request again.';
    readonly action: 'fix_request';
  };
  readonly payload_too_large: {
    readonly status: 413;
    readonly title: 'The request body is too large';
    readonly hint: 'Send a smaller body.';
    readonly action: 'fix_request';
  };
  readonly headers_too_large: {
    readonly status: 431;
    readonly title: 'The request headers are too large';
    readonly hint: 'Send smaller headers; a token should be a few hundred bytes.';
    readonly action: 'fix_request';
  };
  readonly unsupported_media_type: {
    readonly status: 415;
    readonly title: 'The body media type is not supported';
    readonly hint: 'Send application/json (or application/x-www-form-urlencoded on /oauth endpoints).';
    readonly action: 'fix_request';
  };
  readonly not_found: {
    readonly status: 404;
    readonly title: 'No such endpoint';
    readonly hint: 'Check the method and path against /openapi.json.';
    readonly action: 'fix_request';
  };
  readonly unsupported_grant_type: {
    readonly status: 400;
    readonly title: 'The grant type is not supported';
    readonly hint: 'Use grant_type=refresh_token or grant_type=client_credentials.';
    readonly action: 'fix_request';
  };
  readonly internal_error: {
    readonly status: 500;
    readonly title: 'Internal error';
    readonly hint: 'This is a bug in Gatehouse; the request id finds it in the server log.';
    readonly action: 'retry';
  };
};
export type Code = keyof typeof reasonCodes;
export declare const isCode: (value: string) => value is Code;
