import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { ApiKeys } from '../apikeys/api-keys.js';
import { type Clock, toIso } from '../clock.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { EventContext, Events } from '../events/events.js';
import {
  type AgentRow,
  findAgentById,
  insertAgentUnlessNamed,
  listAgents,
  updateAgent,
} from '../store/agents-store.js';
import type { Database } from '../store/schema.js';

export interface AgentView {
  id: string;
  client_id: string;
  name: string;
  hostname: string | null;
  version: string | null;
  status: 'online' | 'offline';
  reported_status: string | null;
  created_at: string;
  last_heartbeat_at: string | null;
  last_auth_code: string | null;
  last_auth_at: string | null;
}

/** The machine a request authenticated as, by API key. */
export interface KeyPrincipal {
  keyId: string;
  clientId: string;
  scopes: string[];
}

export interface Agents {
  /**
   * Registers an agent under the key's client; a name the client already registered answers that agent
   * (`created: false`), so an agent that registers at every start stays one agent.
   */
  register(
    principal: KeyPrincipal,
    input: { name: string; hostname?: string; version?: string },
    context: EventContext,
  ): Promise<{ agent_id: string; created: boolean }>;
  /** Authenticates the key and records the beat; a refused key is recorded on the agent and as an event naming it. */
  /**
   * A heartbeat's credential check, before anything else about the request: the key, its `agent` scope and
   * the agent it speaks for. The result (or the refusal) is recorded on the agent as its last auth result.
   */
  authenticateHeartbeat(
    agentId: string,
    rawKey: string | undefined,
    context: EventContext,
  ): Promise<HeartbeatPass>;
  /** Records a heartbeat that passed its check, with the status the agent reports. */
  recordHeartbeat(
    pass: HeartbeatPass,
    status: string | undefined,
  ): Promise<{ ok: true; server_time: string }>;
  list(clientId?: string): Promise<AgentView[]>;
}

/** A heartbeat whose key was accepted for its agent. */
export interface HeartbeatPass {
  agentId: string;
}

export interface AgentsOptions {
  db: Kysely<Database>;
  clock: Clock;
  events: Events;
  apiKeys: ApiKeys;
  heartbeatTimeoutSeconds: number;
}

const trimmed = (value: string | undefined, max: number) =>
  value?.normalize('NFKC').trim().slice(0, max) || null;

export function createAgents(options: AgentsOptions): Agents {
  const { db, clock, events, apiKeys } = options;

  function toView(row: AgentRow, now: number): AgentView {
    const online =
      row.last_heartbeat_at !== null && now - row.last_heartbeat_at <= options.heartbeatTimeoutSeconds * 1000;
    return {
      id: row.id,
      client_id: row.client_id,
      name: row.name,
      hostname: row.hostname,
      version: row.version,
      status: online ? 'online' : 'offline',
      reported_status: row.reported_status,
      created_at: toIso(row.created_at),
      last_heartbeat_at: row.last_heartbeat_at === null ? null : toIso(row.last_heartbeat_at),
      last_auth_code: row.last_auth_code,
      last_auth_at: row.last_auth_at === null ? null : toIso(row.last_auth_at),
    };
  }

  return {
    async register(principal, input, context) {
      const now = clock.now();
      const name = trimmed(input.name, 200);
      if (!name || /\p{Cc}/u.test(name))
        throw new GatehouseError('validation_failed', { detail: 'name: must be non-empty text' });
      const row: AgentRow = {
        id: uuidv7(),
        client_id: principal.clientId,
        key_id: principal.keyId,
        name,
        hostname: trimmed(input.hostname, 255),
        version: trimmed(input.version, 64),
        reported_status: null,
        created_at: now,
        last_heartbeat_at: now,
        last_auth_code: 'ok',
        last_auth_at: now,
      };
      const { agent, created } = await insertAgentUnlessNamed(db, row);
      events.record({
        type: 'agent.register',
        code: 'ok',
        context,
        agentId: agent.id,
        clientId: agent.client_id,
        keyId: principal.keyId,
        ...(created ? {} : { detail: { already_registered: true } }),
      });
      return { agent_id: agent.id, created };
    },

    async authenticateHeartbeat(agentId, rawKey, context) {
      const agent = await findAgentById(db, agentId);
      const now = clock.now();
      if (!rawKey) {
        if (agent) await updateAgent(db, agentId, { last_auth_code: 'token_missing', last_auth_at: now });
        events.record({
          type: 'agent.heartbeat',
          code: 'token_missing',
          context,
          agentId,
          clientId: agent?.client_id,
        });
        throw new GatehouseError('token_missing', {
          detail: `Heartbeat of agent ${agentId} carried no API key`,
        });
      }
      const verdict = await apiKeys.verify(rawKey, {
        context: () => context,
        eventType: 'agent.heartbeat',
        agentId,
      });
      if (!verdict.valid) {
        if (agent) await updateAgent(db, agentId, { last_auth_code: verdict.code, last_auth_at: now });
        throw new GatehouseError(verdict.code, {
          hint: verdict.hint,
          detail: `Heartbeat of agent ${agentId} refused${verdict.preview ? ` (key ${verdict.preview})` : ''}${verdict.detail ? `: ${verdict.detail}` : ''}`,
        });
      }
      if (!verdict.key.scopes.includes('agent')) {
        throw new GatehouseError('scope_insufficient', { detail: 'The key lacks the agent scope' });
      }
      if (!agent || agent.client_id !== verdict.client.id) {
        events.record({
          type: 'agent.heartbeat',
          code: 'agent_not_found',
          context,
          agentId,
          clientId: verdict.client.id,
          keyId: verdict.key.id,
        });
        throw new GatehouseError('agent_not_found', {
          detail: `No agent ${agentId} for client ${verdict.client.name}; register it again`,
        });
      }
      return { agentId };
    },

    async recordHeartbeat({ agentId }, status) {
      const now = clock.now();
      await updateAgent(db, agentId, {
        last_heartbeat_at: now,
        last_auth_code: 'ok',
        last_auth_at: now,
        reported_status: trimmed(status, 64),
      });
      return { ok: true, server_time: toIso(now) };
    },

    async list(clientId) {
      const now = clock.now();
      return (await listAgents(db, clientId)).map((row) => toView(row, now));
    },
  };
}
