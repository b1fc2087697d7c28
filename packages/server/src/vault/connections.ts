import { setTimeout as sleep } from 'node:timers/promises';
import { v7 as uuidv7 } from 'uuid';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { type Actor, INTERNAL_ACTOR } from '../events/events.js';
import type { VaultConnectionTable } from '../store/schema.js';
import {
  deleteVaultConnection,
  findVaultConnectionByName,
  insertVaultConnection,
  listVaultConnections,
  updateVaultConnection,
  type VaultConnectionRow,
} from '../store/vault-connections-store.js';
import { listVaultRefreshes } from '../store/vault-refreshes-store.js';
import {
  assertGrantHasCredentials,
  type ConnectionInput,
  type ConnectionPatch,
  DEFAULT_REFRESH_MARGIN_SECONDS,
  parseConnectionName,
  parseExtraParams,
  parseScope,
  parseSecret,
  parseTokenUrl,
} from './connection-input.js';
import { type ConnectionView, connectionView } from './connection-view.js';
import { refreshUnderLease } from './refresh.js';
import { leaseLive } from './schedule.js';
import { requireConnection, type ServeDeps } from './serve-token.js';

/** Attempts shown with a connection's status. */
const HISTORY_SHOWN = 10;
const POLL_MS = 50;

/** Fields whose change makes the stored token one the new settings would not have produced. */
const TOKEN_SHAPING_FIELDS = [
  'token_url',
  'grant_type',
  'client_id',
  'client_secret',
  'token_endpoint_auth_method',
  'scope',
  'extra_params',
  'refresh_token',
] as const;

type Changes = Partial<Omit<VaultConnectionTable, 'id' | 'revision' | 'updated_at'>>;

/** A fresh start for the token (also how a new connection begins): the next refresh runs at once, with nothing left of old failures. */
const RESET_TOKEN = {
  access_token_sealed: null,
  access_token_preview: null,
  token_type: null,
  granted_scope: null,
  expires_at: null,
  state: 'pending',
  last_error_code: null,
  last_error_detail: null,
  last_error_at: null,
  failure_count: 0,
  next_attempt_at: null,
  // A refresh in flight with the old settings may no longer write its outcome.
  refresh_lease_until: null,
  lease_holder: null,
} satisfies Changes;

function serializedParams(params: ConnectionPatch['extra_params']): string | null {
  const parsed = parseExtraParams(params);
  return parsed ? JSON.stringify(parsed) : null;
}

const exists = (name: string) =>
  new GatehouseError('vault_connection_exists', { detail: `A vault connection named "${name}" exists` });

export function createConnections(deps: ServeDeps) {
  const { db, clock, sealer, events } = deps;

  async function view(row: VaultConnectionRow, historyLimit = HISTORY_SHOWN): Promise<ConnectionView> {
    return connectionView(row, await listVaultRefreshes(db, row.id, historyLimit), clock.now());
  }

  async function assertNameFree(name: string): Promise<void> {
    if (await findVaultConnectionByName(db, name)) throw exists(name);
  }

  /** Settings from a patch, checked; secrets sealed to the connection. */
  function settings(id: string, patch: ConnectionPatch): Changes {
    return {
      ...(patch.name !== undefined ? { name: parseConnectionName(patch.name) } : {}),
      ...(patch.token_url !== undefined ? { token_url: parseTokenUrl(patch.token_url) } : {}),
      ...(patch.grant_type !== undefined ? { grant_type: patch.grant_type } : {}),
      ...(patch.client_id !== undefined ? { client_id: parseSecret('client_id', patch.client_id) } : {}),
      ...(patch.client_secret !== undefined
        ? {
            client_secret_sealed: sealer.seal(
              id,
              'client_secret',
              parseSecret('client_secret', patch.client_secret),
            ),
          }
        : {}),
      ...(patch.token_endpoint_auth_method !== undefined
        ? { token_endpoint_auth_method: patch.token_endpoint_auth_method }
        : {}),
      ...(patch.scope !== undefined ? { scope: parseScope(patch.scope) } : {}),
      ...(patch.extra_params !== undefined ? { extra_params: serializedParams(patch.extra_params) } : {}),
      ...(patch.refresh_token !== undefined
        ? {
            refresh_token_sealed: patch.refresh_token
              ? sealer.seal(id, 'refresh_token', parseSecret('refresh_token', patch.refresh_token))
              : null,
          }
        : {}),
      ...(patch.refresh_margin_seconds !== undefined
        ? { refresh_margin_seconds: patch.refresh_margin_seconds }
        : {}),
    };
  }

  /**
   * Refreshes now, whatever the schedule and backoff say; when another caller is refreshing already, its
   * outcome is the answer.
   */
  async function refreshNow(name: string, actor: Actor): Promise<VaultConnectionRow> {
    let waited = false;
    for (let polls = 0; polls * POLL_MS <= deps.leaseMs; polls += 1) {
      const row = await requireConnection(deps, name);
      if (leaseLive(row, clock.now())) {
        waited = true;
        await sleep(POLL_MS);
        continue;
      }
      if (waited) return row;
      const caller = { actorId: actor.id, ...(actor.context ? { context: actor.context } : {}) };
      if ((await refreshUnderLease(deps, row, 'admin', caller)) === 'done') {
        return requireConnection(deps, name);
      }
    }
    return requireConnection(deps, name);
  }

  return {
    async create(input: ConnectionInput, actor: Actor = INTERNAL_ACTOR): Promise<ConnectionView> {
      const id = uuidv7();
      const now = clock.now();
      const name = parseConnectionName(input.name);
      const changes = settings(id, input);
      assertGrantHasCredentials(input.grant_type, Boolean(changes.refresh_token_sealed));
      const row: VaultConnectionRow = {
        id,
        name,
        token_url: changes.token_url!,
        grant_type: input.grant_type,
        client_id: changes.client_id!,
        client_secret_sealed: changes.client_secret_sealed!,
        token_endpoint_auth_method: input.token_endpoint_auth_method ?? 'client_secret_basic',
        scope: changes.scope ?? null,
        extra_params: changes.extra_params ?? null,
        refresh_token_sealed: changes.refresh_token_sealed ?? null,
        refresh_margin_seconds: input.refresh_margin_seconds ?? DEFAULT_REFRESH_MARGIN_SECONDS,
        ...RESET_TOKEN,
        last_refresh_at: null,
        revision: 0,
        created_at: now,
        updated_at: now,
      };
      if (!(await insertVaultConnection(db, row))) throw exists(name);
      events.audit('vault.connection.create', actor, { detail: { connection: name, connection_id: id } });
      // The first token is fetched at once, so a wrong secret or URL shows in this answer, not at first use.
      return view(await refreshNow(name, actor));
    },

    async update(
      name: string,
      patch: ConnectionPatch,
      actor: Actor = INTERNAL_ACTOR,
    ): Promise<ConnectionView> {
      const row = await requireConnection(deps, name);
      const changes = settings(row.id, patch);
      if (changes.name !== undefined && changes.name !== row.name) await assertNameFree(changes.name);
      const grantType = changes.grant_type ?? row.grant_type;
      const refreshToken =
        changes.refresh_token_sealed !== undefined ? changes.refresh_token_sealed : row.refresh_token_sealed;
      assertGrantHasCredentials(grantType, refreshToken !== null);
      const changed = Object.keys(patch).filter(
        (field) => patch[field as keyof ConnectionPatch] !== undefined,
      );
      const reshaped = TOKEN_SHAPING_FIELDS.some((field) => changed.includes(field));
      await updateVaultConnection(db, row.id, { ...changes, ...(reshaped ? RESET_TOKEN : {}) }, clock.now());
      events.audit('vault.connection.update', actor, {
        detail: { connection: changes.name ?? row.name, connection_id: row.id, changed },
      });
      const current = changes.name ?? row.name;
      return view(reshaped ? await refreshNow(current, actor) : await requireConnection(deps, current));
    },

    async remove(name: string, actor: Actor = INTERNAL_ACTOR): Promise<void> {
      const row = await requireConnection(deps, name);
      await deleteVaultConnection(db, row.id);
      deps.metrics.vaultForget(row.name);
      events.audit('vault.connection.delete', actor, { detail: { connection: name, connection_id: row.id } });
    },

    async list(): Promise<ConnectionView[]> {
      return Promise.all((await listVaultConnections(db)).map((row) => view(row)));
    },

    get: async (name: string, historyLimit?: number): Promise<ConnectionView> =>
      view(await requireConnection(deps, name), historyLimit),

    refresh: async (name: string, actor: Actor = INTERNAL_ACTOR): Promise<ConnectionView> =>
      view(await refreshNow(name, actor)),
  };
}

export type Connections = ReturnType<typeof createConnections>;
