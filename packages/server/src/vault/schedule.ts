import type { VaultConnectionRow } from '../store/vault-connections-store.js';

/**
 * When the current token stops being served as stored and is refreshed first: `refresh_margin_seconds`
 * before its expiry — or half-way through its life when the provider issues tokens shorter than twice the
 * margin (a 60 s token with a 300 s margin would otherwise be refreshed on every request) — and never later
 * than the clock skew before its expiry.
 */
export function refreshDueAt(row: VaultConnectionRow, clockSkewMs: number): number {
  if (row.expires_at === null || row.access_token_sealed === null) return Number.NEGATIVE_INFINITY;
  const lifetime = row.expires_at - (row.last_refresh_at ?? row.expires_at);
  const margin = Math.min(row.refresh_margin_seconds * 1000, lifetime / 2);
  return Math.min(row.expires_at - margin, row.expires_at - clockSkewMs);
}

/** A stored token may still be handed out, as a last resort, while it has more than the clock skew left. */
export const stillServable = (row: VaultConnectionRow, now: number, clockSkewMs: number): boolean =>
  row.access_token_sealed !== null && row.expires_at !== null && row.expires_at - now > clockSkewMs;

export const leaseLive = (row: VaultConnectionRow, now: number): boolean =>
  row.refresh_lease_until !== null && row.refresh_lease_until > now;

/** A failed connection waits out its backoff before anyone asks the provider again. */
export const backingOff = (row: VaultConnectionRow, now: number): boolean =>
  row.next_attempt_at !== null && row.next_attempt_at > now;

/** The background refresher takes a connection one tick early, so no request has to wait for its refresh. */
export const dueInBackground = (
  row: VaultConnectionRow,
  now: number,
  lookaheadMs: number,
  clockSkewMs: number,
): boolean =>
  row.state !== 'reauth_required' &&
  !backingOff(row, now) &&
  !leaseLive(row, now) &&
  now + lookaheadMs >= refreshDueAt(row, clockSkewMs);
