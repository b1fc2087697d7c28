import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { type Clock, toIso } from '../clock.js';
import type { EventContext, Events } from '../events/events.js';
import type { Metrics } from '../metrics/metrics.js';
import { previewSecret } from '../secrets/digest.js';
import type { Database } from '../store/schema.js';
import {
  completeRefresh,
  takeRefreshLease,
  type VaultConnectionRow,
  type VaultRefreshPatch,
} from '../store/vault-connections-store.js';
import { insertVaultRefresh, pruneVaultRefreshes } from '../store/vault-refreshes-store.js';
import { retryDelayMs } from './backoff.js';
import type { VaultSealer } from './sealing.js';
import type { TokenClient, TokenRequest, TokenResult } from './token-client.js';

export type RefreshTrigger = 'request' | 'background' | 'admin' | 'rejected';

/** Who caused a refresh, for its event: the API key asking for a token, or an administrator. */
export interface VaultCaller {
  context?: EventContext;
  keyId?: string | null;
  clientId?: string | null;
  actorId?: string | null;
}

export interface RefreshDeps {
  db: Kysely<Database>;
  clock: Clock;
  sealer: VaultSealer;
  requestToken: TokenClient;
  events: Events;
  metrics: Metrics;
  random: () => number;
  /** How long a lease lasts: longer than a provider request may take, so it never lapses mid-refresh. */
  leaseMs: number;
  onWarning: (message: string, detail: Record<string, unknown>) => void;
}

/** Attempts kept per connection in the refresh history. */
const HISTORY_KEPT = 50;

function tokenRequest(sealer: VaultSealer, row: VaultConnectionRow): TokenRequest {
  return {
    tokenUrl: row.token_url,
    grantType: row.grant_type,
    clientId: row.client_id,
    clientSecret: sealer.open(row.id, 'client_secret', row.client_secret_sealed),
    authMethod: row.token_endpoint_auth_method,
    scope: row.scope,
    extraParams: row.extra_params ? (JSON.parse(row.extra_params) as Record<string, string>) : {},
    refreshToken: row.refresh_token_sealed
      ? sealer.open(row.id, 'refresh_token', row.refresh_token_sealed)
      : null,
  };
}

function outcomePatch(
  deps: RefreshDeps,
  row: VaultConnectionRow,
  result: TokenResult,
  now: number,
): VaultRefreshPatch {
  if (result.ok) {
    return {
      access_token_sealed: deps.sealer.seal(row.id, 'access_token', result.accessToken),
      access_token_preview: previewSecret(result.accessToken),
      token_type: result.tokenType,
      granted_scope: result.scope,
      // A provider that rotates refresh tokens sends a new one; one that does not keeps the old one valid.
      ...(result.refreshToken
        ? { refresh_token_sealed: deps.sealer.seal(row.id, 'refresh_token', result.refreshToken) }
        : {}),
      expires_at: result.expiry.expiresAt,
      last_refresh_at: result.receivedAt,
      state: 'active',
      last_error_code: null,
      last_error_detail: null,
      last_error_at: null,
      failure_count: 0,
      next_attempt_at: null,
    };
  }
  const failures = row.failure_count + 1;
  if (result.definitive) {
    return {
      state: 'reauth_required',
      last_error_code: 'reauth_required',
      last_error_detail: result.detail,
      last_error_at: now,
      failure_count: failures,
      next_attempt_at: null,
    };
  }
  return {
    state: 'failing',
    last_error_code: 'provider_unavailable',
    last_error_detail: result.detail,
    last_error_at: now,
    failure_count: failures,
    next_attempt_at: now + retryDelayMs(failures, deps.random),
  };
}

const outcomeCode = (result: TokenResult) =>
  result.ok ? 'ok' : result.definitive ? 'reauth_required' : 'provider_unavailable';

async function recordAttempt(
  deps: RefreshDeps,
  attempt: { row: VaultConnectionRow; holder: string; trigger: RefreshTrigger; startedAt: number },
  result: TokenResult,
  patch: VaultRefreshPatch,
  caller: VaultCaller,
): Promise<void> {
  const { row, holder, trigger, startedAt } = attempt;
  const expiry = result.ok ? result.expiry : undefined;
  await insertVaultRefresh(deps.db, {
    id: uuidv7(),
    connection_id: row.id,
    triggered_by: trigger,
    started_at: startedAt,
    received_at: result.receivedAt,
    outcome: outcomeCode(result),
    provider_error: result.ok ? null : result.providerError,
    detail: result.ok ? expiry!.notes.join('; ') || null : result.detail,
    expires_in: expiry?.expiresIn ?? null,
    computed_expires_at: expiry?.computedExpiresAt ?? null,
    provider_expires_at: expiry?.providerExpiresAt ?? null,
    expires_at: expiry?.expiresAt ?? null,
    expiry_source: expiry?.source ?? null,
    difference_ms: expiry?.differenceMs ?? null,
    lease_holder: holder,
  });
  await pruneVaultRefreshes(deps.db, row.id, HISTORY_KEPT);

  const code = outcomeCode(result);
  deps.events.record({
    type: 'vault.refresh',
    code,
    ...(caller.context ? { context: caller.context } : {}),
    keyId: caller.keyId ?? null,
    clientId: caller.clientId ?? null,
    actorId: caller.actorId ?? null,
    tokenPreview: patch.access_token_preview ?? null,
    detail: {
      connection: row.name,
      connection_id: row.id,
      triggered_by: trigger,
      ...(expiry
        ? {
            expires_at: toIso(expiry.expiresAt),
            expiry_source: expiry.source,
            computed_expires_at: expiry.computedExpiresAt === null ? null : toIso(expiry.computedExpiresAt),
            provider_expires_at: expiry.providerExpiresAt === null ? null : toIso(expiry.providerExpiresAt),
            difference_seconds: expiry.differenceMs === null ? null : expiry.differenceMs / 1000,
            ...(expiry.notes.length ? { notes: expiry.notes } : {}),
          }
        : {}),
      ...(result.ok
        ? {}
        : {
            reason: result.detail,
            provider_error: result.providerError,
            next_attempt_at: patch.next_attempt_at ? toIso(patch.next_attempt_at) : null,
          }),
    },
  });
  const finishedAt = result.receivedAt ?? deps.clock.now();
  deps.metrics.vaultRefresh(row.name, code, Math.max(0, finishedAt - startedAt) / 1000);
  if (expiry) deps.metrics.vaultTokenExpiry(row.name, expiry.expiresAt, expiry.differenceMs);
}

/**
 * Refreshes `row` if this caller wins its lease — taken from the revision it read, so nobody refreshed in
 * between — then writes the outcome and releases the lease in one update. `lost` when another caller holds
 * the lease or changed the row; the caller then reads the row again (and waits for that refresh).
 */
export async function refreshUnderLease(
  deps: RefreshDeps,
  row: VaultConnectionRow,
  trigger: RefreshTrigger,
  caller: VaultCaller = {},
): Promise<'done' | 'lost'> {
  const holder = uuidv7();
  const startedAt = deps.clock.now();
  const won = await takeRefreshLease(deps.db, {
    id: row.id,
    revision: row.revision,
    holder,
    now: startedAt,
    until: startedAt + deps.leaseMs,
  });
  if (!won) return 'lost';
  const result = await deps.requestToken(tokenRequest(deps.sealer, row));
  const now = deps.clock.now();
  const patch = outcomePatch(deps, row, result, now);
  const written = await completeRefresh(deps.db, row.id, holder, patch, now);
  if (!written) {
    // The lease lapsed or an administrator changed the connection meanwhile: this answer is stale.
    deps.onWarning('vault refresh finished after its lease was gone; its outcome was not stored', {
      connection: row.name,
      outcome: outcomeCode(result),
    });
  }
  await recordAttempt(deps, { row, holder, trigger, startedAt }, result, patch, caller);
  return 'done';
}
