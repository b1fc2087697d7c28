import { toIso } from '../clock.js';
import type { VaultAuthMethod, VaultGrantType } from '../store/schema.js';
import type { VaultConnectionRow } from '../store/vault-connections-store.js';
import type { VaultRefreshRow } from '../store/vault-refreshes-store.js';
import { leaseLive } from './schedule.js';

/** `expired`: the stored token's time is over and no refresh has replaced it yet. */
export type ConnectionStatus = 'pending' | 'active' | 'failing' | 'expired' | 'reauth_required';

export interface RefreshView {
  started_at: string;
  triggered_by: string;
  /** `ok` or the reason code. */
  outcome: string;
  provider_error: string | null;
  detail: string | null;
  received_at: string | null;
  expires_in: number | null;
  computed_expires_at: string | null;
  provider_expires_at: string | null;
  expires_at: string | null;
  expiry_source: string | null;
  /** provider − computed expiry, in seconds: the provider's clock (plus network time) against ours. */
  difference_seconds: number | null;
}

/** A connection as administrators see it: its state and history, never a secret or a token. */
export interface ConnectionView {
  id: string;
  name: string;
  token_url: string;
  grant_type: VaultGrantType;
  client_id: string;
  token_endpoint_auth_method: VaultAuthMethod;
  scope: string | null;
  extra_params: Record<string, string> | null;
  refresh_margin_seconds: number;
  has_refresh_token: boolean;
  state: ConnectionStatus;
  token_preview: string | null;
  token_type: string | null;
  granted_scope: string | null;
  expires_at: string | null;
  seconds_left: number | null;
  last_refresh_at: string | null;
  last_error: { code: string; detail: string | null; at: string | null } | null;
  failure_count: number;
  next_attempt_at: string | null;
  refreshing: boolean;
  created_at: string;
  updated_at: string;
  refreshes: RefreshView[];
}

const isoOrNull = (ms: number | null) => (ms === null ? null : toIso(ms));

function status(row: VaultConnectionRow, now: number): ConnectionStatus {
  if (row.state === 'reauth_required') return 'reauth_required';
  if (row.expires_at === null || row.access_token_sealed === null) return row.state;
  return row.expires_at <= now ? 'expired' : row.state;
}

export function refreshView(row: VaultRefreshRow): RefreshView {
  return {
    started_at: toIso(row.started_at),
    triggered_by: row.triggered_by,
    outcome: row.outcome,
    provider_error: row.provider_error,
    detail: row.detail,
    received_at: isoOrNull(row.received_at),
    expires_in: row.expires_in,
    computed_expires_at: isoOrNull(row.computed_expires_at),
    provider_expires_at: isoOrNull(row.provider_expires_at),
    expires_at: isoOrNull(row.expires_at),
    expiry_source: row.expiry_source,
    difference_seconds: row.difference_ms === null ? null : row.difference_ms / 1000,
  };
}

export function connectionView(
  row: VaultConnectionRow,
  refreshes: VaultRefreshRow[],
  now: number,
): ConnectionView {
  return {
    id: row.id,
    name: row.name,
    token_url: row.token_url,
    grant_type: row.grant_type,
    client_id: row.client_id,
    token_endpoint_auth_method: row.token_endpoint_auth_method,
    scope: row.scope,
    extra_params: row.extra_params ? (JSON.parse(row.extra_params) as Record<string, string>) : null,
    refresh_margin_seconds: row.refresh_margin_seconds,
    has_refresh_token: row.refresh_token_sealed !== null,
    state: status(row, now),
    token_preview: row.access_token_sealed === null ? null : row.access_token_preview,
    token_type: row.token_type,
    granted_scope: row.granted_scope,
    expires_at: isoOrNull(row.expires_at),
    seconds_left: row.expires_at === null ? null : Math.max(0, Math.floor((row.expires_at - now) / 1000)),
    last_refresh_at: isoOrNull(row.last_refresh_at),
    last_error: row.last_error_code
      ? { code: row.last_error_code, detail: row.last_error_detail, at: isoOrNull(row.last_error_at) }
      : null,
    failure_count: row.failure_count,
    next_attempt_at: isoOrNull(row.next_attempt_at),
    refreshing: leaseLive(row, now),
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
    refreshes: refreshes.map(refreshView),
  };
}
