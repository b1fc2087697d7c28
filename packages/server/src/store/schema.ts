/**
 * The one schema, portable across SQLite and PostgreSQL: ids are UUIDv7 strings, instants are UTC epoch
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

export interface Database {
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
