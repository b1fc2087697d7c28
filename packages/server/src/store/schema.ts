/**
 * The one schema, portable across SQLite, PostgreSQL and MySQL/MariaDB: ids are UUIDv7 strings, instants are UTC epoch
 * milliseconds (bigint), flags are 0/1 integers, lists are JSON text.
 */
export interface InstallationTable {
  singleton: number;
  id: string;
  master_key_fingerprint: string;
  created_at: number;
}

export type SigningKeyState = 'next' | 'active' | 'retired';

export interface SigningKeyTable {
  kid: string;
  alg: string;
  state: SigningKeyState;
  public_jwk: string;
  private_jwk_sealed: string;
  created_at: number;
  activated_at: number | null;
  retired_at: number | null;
  /** After this instant nothing it signed can still be valid; it leaves JWKS then. */
  verify_until: number | null;
}

export interface UserTable {
  id: string;
  email: string;
  name: string | null;
  password_hash: string | null;
  roles: string;
  disabled_at: number | null;
  created_at: number;
  updated_at: number;
  /**
   * When a second factor was confirmed (null: none). Optional in rows so that creating and importing users
   * leave it alone: only confirming or removing a factor writes it.
   */
  mfa_enabled_at?: number | null;
}

export interface UserTombstoneTable {
  id: string;
  deleted_at: number;
  deleted_by: string | null;
}

export interface SessionTable {
  id: string;
  user_id: string;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  ip: string | null;
  user_agent: string | null;
  amr: string;
  revoked_at: number | null;
  revoked_reason: string | null;
  /** SHA-256 of the browser session cookie, for sessions signed in with `mode: "cookie"`. */
  cookie_hash?: string | null;
}

export interface RefreshTokenTable {
  id: string;
  session_id: string;
  token_hash: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  successor_id: string | null;
}

export type ClientStatus = 'active' | 'suspended';

export interface ClientTable {
  id: string;
  name: string;
  email: string | null;
  status: ClientStatus;
  status_changed_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface ApiKeyTable {
  id: string;
  client_id: string;
  name: string;
  key_hash: string;
  preview: string;
  scopes: string;
  metadata: string | null;
  rate_limit: string | null;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  /** For a rotated key: the end of its grace period. For a revoked key: when it was revoked. */
  revoked_at: number | null;
  revoked_reason: 'revoked' | 'rotated' | null;
  rotated_at: number | null;
  successor_id: string | null;
  successor_preview: string | null;
}

export interface AgentTable {
  id: string;
  client_id: string;
  key_id: string | null;
  name: string;
  hostname: string | null;
  version: string | null;
  reported_status: string | null;
  created_at: number;
  last_heartbeat_at: number | null;
  last_auth_code: string | null;
  last_auth_at: number | null;
}

export interface EventTable {
  id: string;
  at: number;
  type: string;
  code: string;
  user_id: string | null;
  client_id: string | null;
  agent_id: string | null;
  key_id: string | null;
  session_id: string | null;
  actor_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  token_preview: string | null;
  detail: string | null;
}

export interface LoginThrottleTable {
  /** SHA-256 of the canonical email: every spelling of one address shares one counter, known or not. */
  account: string;
  failures: number;
  last_failure_at: number;
  locked_until: number | null;
}

/** A user's authenticator-app secret (RFC 6238), sealed; pending until a code from the app confirms it. */
export interface MfaTotpTable {
  user_id: string;
  /** AES-256-GCM under the master key's `totp` subkey, bound to `totp:<user id>`. */
  secret_sealed: string;
  created_at: number;
  confirmed_at: number | null;
  /** The last time step (30 s) whose code was accepted: a code is good once per user (RFC 6238 §5.2). */
  last_step: number;
}

export interface MfaBackupCodeTable {
  id: string;
  user_id: string;
  /** HMAC-SHA-256 of the normalised code; the code itself is shown once and never stored. */
  code_hash: string;
  created_at: number;
  used_at: number | null;
}

/** The pending second step of a sign-in whose password was right: an opaque `gmt_…` token, stored hashed. */
export interface MfaChallengeTable {
  token_hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export type VaultGrantType = 'client_credentials' | 'refresh_token';
export type VaultAuthMethod = 'client_secret_basic' | 'client_secret_post';
/** `pending`: no token yet; `failing`: the last refresh failed for a passing reason (backing off). */
export type VaultConnectionState = 'pending' | 'active' | 'failing' | 'reauth_required';

/** A third-party OAuth connection of the outbound token vault; secrets and tokens sealed under the `vault` subkey. */
export interface VaultConnectionTable {
  id: string;
  name: string;
  token_url: string;
  grant_type: VaultGrantType;
  client_id: string;
  client_secret_sealed: string;
  token_endpoint_auth_method: VaultAuthMethod;
  scope: string | null;
  /** JSON object of extra token-request parameters (audience, resource, …). */
  extra_params: string | null;
  refresh_token_sealed: string | null;
  refresh_margin_seconds: number;
  access_token_sealed: string | null;
  access_token_preview: string | null;
  token_type: string | null;
  granted_scope: string | null;
  /** When the current access token stops being valid, UTC epoch ms. */
  expires_at: number | null;
  /** When the current access token arrived. */
  last_refresh_at: number | null;
  state: VaultConnectionState;
  last_error_code: string | null;
  last_error_detail: string | null;
  last_error_at: number | null;
  /** Failed refreshes in a row; sets the backoff. */
  failure_count: number;
  /** While in the future, a failed connection is not retried (jittered backoff). */
  next_attempt_at: number | null;
  refresh_lease_until: number | null;
  lease_holder: string | null;
  /** Bumped by every write, so a lease is taken only by a caller that saw the latest row. */
  revision: number;
  created_at: number;
  updated_at: number;
}

/** One attempt to get a token from a provider, with both expiries it yielded. */
export interface VaultRefreshTable {
  id: string;
  connection_id: string;
  /** `request`, `background`, `admin` or `rejected` (the app reported a 401 from the provider). */
  triggered_by: string;
  started_at: number;
  received_at: number | null;
  /** `ok` or a reason code. */
  outcome: string;
  provider_error: string | null;
  detail: string | null;
  expires_in: number | null;
  /** The moment the response arrived plus `expires_in`. */
  computed_expires_at: number | null;
  /** `expires_on`/`expires_at` as the provider reported it, read as UTC. */
  provider_expires_at: number | null;
  /** The expiry the vault uses. */
  expires_at: number | null;
  expiry_source: string | null;
  /** provider − computed: how far the provider's clock (plus the network) is from ours. */
  difference_ms: number | null;
  lease_holder: string;
}

/** A subject whose cached state changed; every instance forgets it when it reads the row. */
export interface CacheChangeTable {
  id: string;
  /** `session`, `user`, `key` or `client`. */
  kind: string;
  subject: string;
  at: number;
}

export interface LeaseTable {
  name: string;
  holder: string;
  until: number;
}

/** A fixed-window request counter: `count` requests under `key` since `window_start`. */
export interface RateLimitTable {
  key: string;
  window_start: number;
  count: number;
}

export interface Database {
  cache_changes: CacheChangeTable;
  leases: LeaseTable;
  rate_limits: RateLimitTable;
  vault_connections: VaultConnectionTable;
  vault_refreshes: VaultRefreshTable;
  mfa_totp: MfaTotpTable;
  mfa_backup_codes: MfaBackupCodeTable;
  mfa_challenges: MfaChallengeTable;
  login_throttles: LoginThrottleTable;
  clients: ClientTable;
  api_keys: ApiKeyTable;
  agents: AgentTable;
  events: EventTable;
  installation: InstallationTable;
  signing_keys: SigningKeyTable;
  users: UserTable;
  user_tombstones: UserTombstoneTable;
  sessions: SessionTable;
  refresh_tokens: RefreshTokenTable;
}
