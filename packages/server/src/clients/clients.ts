import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { type Clock, toIso } from '../clock.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { type Actor, type Events, INTERNAL_ACTOR } from '../events/events.js';
import {
  type ClientRow,
  findClientById,
  insertClient,
  listClients,
  updateClient,
} from '../store/clients-store.js';
import type { ClientStatus, Database } from '../store/schema.js';
import { parseEmail } from '../users/email.js';

/** What other domains may hold of a client (the API keys' cache keeps it beside each verified key). */
export type { ClientRow } from '../store/clients-store.js';

export interface ClientView {
  id: string;
  name: string;
  email: string | null;
  status: ClientStatus;
  status_changed_at: string | null;
  created_at: string;
}

export interface Clients {
  create(input: { name: string; email?: string | null }, actor?: Actor): Promise<ClientView>;
  get(id: string): Promise<ClientView>;
  list(): Promise<ClientView[]>;
  update(id: string, patch: { name?: string; status?: ClientStatus }, actor?: Actor): Promise<ClientView>;
}

/**
 * A cache holding clients (the verified-key cache), told to forget a client that changed: it is declared here,
 * not imported, so the clients domain depends on no domain that depends on it.
 */
export interface CachedClients {
  forgetClient(clientId: string): void;
}

const toView = (row: ClientRow): ClientView => ({
  id: row.id,
  name: row.name,
  email: row.email,
  status: row.status,
  status_changed_at: row.status_changed_at === null ? null : toIso(row.status_changed_at),
  created_at: toIso(row.created_at),
});

function parseClientName(raw: string): string {
  const name = raw.normalize('NFKC').trim();
  if (!name || /\p{Cc}/u.test(name))
    throw new GatehouseError('validation_failed', { detail: 'name: must be non-empty text' });
  return name;
}

export function createClients(
  db: Kysely<Database>,
  clock: Clock,
  keyCache: CachedClients,
  events: Events,
): Clients {
  async function requireClient(id: string): Promise<ClientRow> {
    const row = await findClientById(db, id);
    if (!row) throw new GatehouseError('client_not_found', { detail: `No client with id ${id}` });
    return row;
  }

  return {
    async create(input, actor = INTERNAL_ACTOR) {
      const now = clock.now();
      const row: ClientRow = {
        id: uuidv7(),
        name: parseClientName(input.name),
        email: input.email ? parseEmail(input.email) : null,
        status: 'active',
        status_changed_at: null,
        created_at: now,
        updated_at: now,
      };
      await insertClient(db, row);
      events.audit('client.create', actor, { clientId: row.id });
      return toView(row);
    },

    get: async (id) => toView(await requireClient(id)),

    list: async () => (await listClients(db)).map(toView),

    async update(id, patch, actor = INTERNAL_ACTOR) {
      const row = await requireClient(id);
      const now = clock.now();
      const statusChanged = patch.status !== undefined && patch.status !== row.status;
      const next: ClientRow = {
        ...row,
        name: patch.name === undefined ? row.name : parseClientName(patch.name),
        status: patch.status ?? row.status,
        status_changed_at: statusChanged ? now : row.status_changed_at,
        updated_at: now,
      };
      await updateClient(db, id, {
        name: next.name,
        status: next.status,
        status_changed_at: next.status_changed_at,
        updated_at: now,
      });
      keyCache.forgetClient(id);
      const action = !statusChanged ? 'update' : next.status === 'suspended' ? 'suspend' : 'activate';
      events.audit(`client.${action}`, actor, { clientId: id });
      return toView(next);
    },
  };
}
