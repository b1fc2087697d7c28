import { setTimeout as sleep } from 'node:timers/promises';
import { toIso } from '../clock.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { constantTimeEqual } from '../secrets/digest.js';
import {
  expireVaultToken,
  findVaultConnectionByName,
  type VaultConnectionRow,
} from '../store/vault-connections-store.js';
import { type RefreshDeps, type RefreshTrigger, refreshUnderLease, type VaultCaller } from './refresh.js';
import { backingOff, leaseLive, refreshDueAt, stillServable } from './schedule.js';

/** What `GET /v1/vault/connections/{name}/token` answers. */
export interface ServedToken {
  access_token: string;
  token_type: string;
  expires_at: string;
  /** Seconds of life left now. */
  expires_in: number;
  scope: string | null;
}

export interface ServeDeps extends RefreshDeps {
  clockSkewMs: number;
}

/** How often a caller waiting for another caller's refresh reads the row again (real time). */
const POLL_MS = 50;

type Verdict =
  | { kind: 'reauth' }
  | { kind: 'serve'; source: 'stored' | 'stale' }
  | { kind: 'unavailable' }
  | { kind: 'wait' }
  | { kind: 'refresh' };

/** What to do with a connection as it is now; `mayRefresh` is false once this caller has tried. */
function judge(row: VaultConnectionRow, now: number, clockSkewMs: number, mayRefresh: boolean): Verdict {
  if (row.state === 'reauth_required') return { kind: 'reauth' };
  if (row.access_token_sealed !== null && now < refreshDueAt(row, clockSkewMs)) {
    return { kind: 'serve', source: 'stored' };
  }
  if (!mayRefresh || backingOff(row, now)) {
    return stillServable(row, now, clockSkewMs)
      ? { kind: 'serve', source: 'stale' }
      : { kind: 'unavailable' };
  }
  return leaseLive(row, now) ? { kind: 'wait' } : { kind: 'refresh' };
}

export async function requireConnection(deps: ServeDeps, name: string): Promise<VaultConnectionRow> {
  const row = await findVaultConnectionByName(deps.db, name);
  if (!row) {
    throw new GatehouseError('vault_connection_not_found', { detail: `No vault connection named "${name}"` });
  }
  return row;
}

function reauthRequired(row: VaultConnectionRow): GatehouseError {
  const since = row.last_error_at === null ? '' : ` since ${toIso(row.last_error_at)}`;
  return new GatehouseError('reauth_required', {
    detail: `Connection "${row.name}" needs new credentials${since}: ${row.last_error_detail ?? 'the provider refused them'}`,
  });
}

function providerUnavailable(row: VaultConnectionRow, now: number, why: string): GatehouseError {
  const token =
    row.expires_at === null || row.access_token_sealed === null
      ? 'there is no stored token'
      : `the stored token expires at ${toIso(row.expires_at)}, within the clock skew or already`;
  const retryAt = row.next_attempt_at ?? now;
  return new GatehouseError('provider_unavailable', {
    detail: `Connection "${row.name}": ${why}, and ${token}`,
    retryAfterSeconds: Math.max(1, Math.ceil((retryAt - now) / 1000)),
  });
}

function present(deps: ServeDeps, row: VaultConnectionRow, now: number): ServedToken {
  const expiresAt = row.expires_at!;
  return {
    access_token: deps.sealer.open(row.id, 'access_token', row.access_token_sealed!),
    token_type: row.token_type ?? 'Bearer',
    expires_at: toIso(expiresAt),
    expires_in: Math.max(0, Math.floor((expiresAt - now) / 1000)),
    scope: row.granted_scope,
  };
}

/**
 * A token with life left, refreshed first when it is due. One caller refreshes (the lease); the others poll
 * the row until the outcome lands, then take it — a new token, or the failure, which they do not repeat.
 */
export async function serveToken(
  deps: ServeDeps,
  name: string,
  caller: VaultCaller,
  trigger: RefreshTrigger = 'request',
): Promise<ServedToken> {
  const maxPolls = Math.ceil(deps.leaseMs / POLL_MS);
  let attempted = false;
  for (let polls = 0; ; ) {
    const row = await requireConnection(deps, name);
    const now = deps.clock.now();
    const verdict = judge(row, now, deps.clockSkewMs, !attempted);
    switch (verdict.kind) {
      case 'reauth':
        throw reauthRequired(row);
      case 'serve':
        deps.metrics.vaultTokenServed(row.name, attempted ? 'refreshed' : verdict.source);
        return present(deps, row, now);
      case 'unavailable':
        throw providerUnavailable(
          row,
          now,
          `the provider did not issue a token (${row.last_error_detail ?? 'no answer yet'})`,
        );
      case 'wait':
        polls += 1;
        if (polls > maxPolls) {
          if (!stillServable(row, now, deps.clockSkewMs)) {
            throw providerUnavailable(row, now, 'a refresh in progress elsewhere did not finish in time');
          }
          deps.metrics.vaultTokenServed(row.name, 'stale');
          return present(deps, row, now);
        }
        await sleep(POLL_MS);
        break;
      case 'refresh':
        if ((await refreshUnderLease(deps, row, trigger, caller)) === 'done') attempted = true;
        break;
    }
  }
}

/**
 * The app says the provider answered 401 to this token before its expiry (revoked, or the provider's clock
 * is ahead): the token stops being served — once, whoever reports it — the early expiry is recorded, and
 * a refreshed token is served. A token that was already replaced just gets the current one.
 */
export async function reportRejectedToken(
  deps: ServeDeps,
  name: string,
  presented: string,
  caller: VaultCaller,
): Promise<ServedToken> {
  const row = await requireConnection(deps, name);
  const now = deps.clock.now();
  const current =
    row.access_token_sealed !== null && row.expires_at !== null && row.expires_at > now
      ? deps.sealer.open(row.id, 'access_token', row.access_token_sealed)
      : undefined;
  if (current !== undefined && constantTimeEqual(current, presented.trim())) {
    if (await expireVaultToken(deps.db, row.id, row.revision, now)) {
      deps.events.record({
        type: 'vault.early_expiry',
        code: 'vault_token_rejected',
        ...(caller.context ? { context: caller.context } : {}),
        keyId: caller.keyId ?? null,
        clientId: caller.clientId ?? null,
        tokenPreview: row.access_token_preview,
        detail: {
          connection: row.name,
          connection_id: row.id,
          computed_expires_at: toIso(row.expires_at!),
          rejected_at: toIso(now),
          seconds_early: Math.floor((row.expires_at! - now) / 1000),
          last_refresh_at: row.last_refresh_at === null ? null : toIso(row.last_refresh_at),
        },
      });
    }
  }
  return serveToken(deps, name, caller, 'rejected');
}
