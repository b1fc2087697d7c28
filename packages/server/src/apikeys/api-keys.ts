import { type Code, reasonCodes } from '@gatehouse/codes';
import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { type Check, CheckTrail } from '../checks/check-trail.js';
import type { ClientRow, Clients } from '../clients/clients.js';
import { type Clock, toIso } from '../clock.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { type Actor, type EventContext, type Events, INTERNAL_ACTOR } from '../events/events.js';
import type { RateCounter } from '../fleet/rate-counter.js';
import type { Metrics } from '../metrics/metrics.js';
import {
  type ApiKeyRow,
  findApiKeyByHash,
  findApiKeyById,
  insertApiKey,
  listClientApiKeys,
  revokeApiKey,
  rotateApiKey,
} from '../store/api-keys-store.js';
import type { Database } from '../store/schema.js';
import type { KeyCache } from './key-cache.js';
import {
  API_KEY_PREFIX,
  generateApiKey,
  hashApiKey,
  type InputNote,
  normalizeCredential,
  parseApiKey,
  previewApiKey,
} from './key-format.js';
import type { LastUsedBatcher } from './last-used.js';

export const API_KEY_SCOPES = ['agent', 'introspect', 'vault:read', 'admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export interface RateLimit {
  limit: number;
  window_seconds: number;
}

export interface KeyView {
  id: string;
  client_id: string;
  name: string;
  preview: string;
  scopes: string[];
  metadata: Record<string, unknown> | null;
  rate_limit: RateLimit | null;
  status: 'active' | 'rotating' | 'revoked' | 'expired';
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  replaced_by: { id: string; preview: string } | null;
}

export interface IssuedKey {
  id: string;
  key: string;
  preview: string;
  scopes: string[];
  expires_at: string | null;
}

export type KeyVerification =
  | {
      valid: true;
      client: { id: string; name: string };
      key: { id: string; preview: string; scopes: string[]; metadata: Record<string, unknown> | null };
      notes: InputNote[];
    }
  | {
      valid: false;
      code: Code;
      hint: string;
      detail?: string;
      preview: string | null;
      keyId?: string;
      clientId?: string;
      notes: InputNote[];
    };

export interface VerifyOptions {
  /** The request's context, read only when an event is recorded one by one (a tallied acceptance needs none). */
  context?: () => EventContext;
  /** The event type the decision is recorded under (`key.verify`, `agent.heartbeat`, …). */
  eventType?: string;
  agentId?: string;
}

export interface ApiKeys {
  create(
    clientId: string,
    input: {
      name: string;
      scopes?: string[];
      expiresInSeconds?: number;
      metadata?: Record<string, unknown>;
      rateLimit?: RateLimit;
    },
    actor?: Actor,
  ): Promise<IssuedKey>;
  list(clientId: string): Promise<KeyView[]>;
  get(keyId: string): Promise<KeyView>;
  rotate(keyId: string, graceSeconds: number, actor?: Actor): Promise<IssuedKey>;
  revoke(keyId: string, actor?: Actor): Promise<KeyView>;
  /** Never throws for a bad key: the answer says why, and the decision is recorded as an event. */
  verify(raw: string, options?: VerifyOptions): Promise<KeyVerification>;
  /** Every check a key goes through, for `doctor`: no event, no rate limit, no last-use update. */
  explain(raw: string): Promise<{ verdict: KeyVerification; checks: Check[] }>;
}

export interface ApiKeysOptions {
  db: Kysely<Database>;
  clock: Clock;
  events: Events;
  cache: KeyCache;
  lastUsed: LastUsedBatcher;
  installationTag: string;
  metrics: Pick<Metrics, 'cacheLookup'>;
  rateCounter: Pick<RateCounter, 'hit' | 'peek'>;
  /** Whose keys these are: a key is issued to, and listed for, an existing client only. */
  clients: Pick<Clients, 'get'>;
}

/** A key as presented, once normalized, with the diagnosis trail when one is being recorded. */
interface Presented {
  value: string;
  notes: InputNote[];
  trail: CheckTrail | undefined;
}

const parseJson = <T>(text: string | null): T | null => (text ? (JSON.parse(text) as T) : null);

function describeLimit(rateLimit: string): string {
  const { limit, window_seconds } = JSON.parse(rateLimit) as RateLimit;
  return `${limit} uses per ${window_seconds} s`;
}

function keyStatus(row: ApiKeyRow, now: number): KeyView['status'] {
  if (row.revoked_at !== null && row.revoked_at <= now) return 'revoked';
  if (row.revoked_at !== null) return 'rotating';
  if (row.expires_at !== null && row.expires_at <= now) return 'expired';
  return 'active';
}

function toView(row: ApiKeyRow, now: number): KeyView {
  return {
    id: row.id,
    client_id: row.client_id,
    name: row.name,
    preview: row.preview,
    scopes: JSON.parse(row.scopes) as string[],
    metadata: parseJson(row.metadata),
    rate_limit: parseJson(row.rate_limit),
    status: keyStatus(row, now),
    created_at: toIso(row.created_at),
    expires_at: row.expires_at === null ? null : toIso(row.expires_at),
    last_used_at: row.last_used_at === null ? null : toIso(row.last_used_at),
    revoked_at: row.revoked_at === null ? null : toIso(row.revoked_at),
    replaced_by:
      row.successor_id && row.successor_preview
        ? { id: row.successor_id, preview: row.successor_preview }
        : null,
  };
}

function validateScopes(scopes: string[]): string[] {
  const unknown = scopes.filter((scope) => !(API_KEY_SCOPES as readonly string[]).includes(scope));
  if (unknown.length) {
    throw new GatehouseError('validation_failed', {
      detail: `scopes: unknown scope ${unknown.join(', ')} (known: ${API_KEY_SCOPES.join(', ')})`,
    });
  }
  return [...new Set(scopes)];
}

export function createApiKeys(options: ApiKeysOptions): ApiKeys {
  const { db, clock, events, cache, lastUsed, installationTag, rateCounter, clients } = options;

  /**
   * A key's own limit, counted on the counters every instance shares. A use counts itself; a diagnosis counts
   * nothing and predicts the next use, which would be one over what is counted so far.
   */
  async function overRateLimit(row: ApiKeyRow, use: boolean): Promise<boolean> {
    const limit = parseJson<RateLimit>(row.rate_limit);
    if (!limit) return false;
    const counterKey = `key|${row.id}`;
    const windowMs = limit.window_seconds * 1000;
    if (!use) return (await rateCounter.peek(counterKey, windowMs)) >= limit.limit;
    const { count } = await rateCounter.hit(counterKey, windowMs);
    return count > limit.limit;
  }

  async function requireKey(keyId: string): Promise<ApiKeyRow> {
    const row = await findApiKeyById(db, keyId);
    if (!row)
      throw new GatehouseError('key_not_found', {
        detail: `No API key with id ${keyId}`,
        hint: 'Check the key id.',
      });
    return row;
  }

  async function issue(
    clientId: string,
    input: {
      name: string;
      scopes: string[];
      expiresAt: number | null;
      metadata: string | null;
      rateLimit: string | null;
    },
  ): Promise<{ row: ApiKeyRow; key: string }> {
    const key = generateApiKey(installationTag);
    const row: ApiKeyRow = {
      id: uuidv7(),
      client_id: clientId,
      name: input.name,
      key_hash: hashApiKey(key),
      preview: previewApiKey(key),
      scopes: JSON.stringify(input.scopes),
      metadata: input.metadata,
      rate_limit: input.rateLimit,
      created_at: clock.now(),
      expires_at: input.expiresAt,
      last_used_at: null,
      revoked_at: null,
      revoked_reason: null,
      rotated_at: null,
      successor_id: null,
      successor_preview: null,
    };
    return { row, key };
  }

  const issued = ({ row, key }: { row: ApiKeyRow; key: string }): IssuedKey => ({
    id: row.id,
    key,
    preview: row.preview,
    scopes: JSON.parse(row.scopes) as string[],
    expires_at: row.expires_at === null ? null : toIso(row.expires_at),
  });

  /** What a refused key answers; `trail` records the failed check for a diagnosis. */
  function refusal(
    presented: Presented,
    code: Code,
    check: string,
    extra: { hint?: string; detail?: string; keyId?: string; clientId?: string } = {},
  ) {
    presented.trail?.fail(check, extra.detail ?? extra.hint ?? reasonCodes[code].title);
    const { value, notes } = presented;
    return {
      valid: false,
      code,
      hint: extra.hint ?? reasonCodes[code].hint,
      preview: value.startsWith(API_KEY_PREFIX) && value.length > 16 ? previewApiKey(value) : null,
      notes,
      ...extra,
    } as const;
  }

  /** The refusal a key earns by its form alone (shape, checksum, installation), if any. */
  function formRefusal(presented: Presented) {
    const { trail } = presented;
    const parsed = parseApiKey(presented.value);
    const foreign = (tag: string) =>
      refusal(presented, 'key_not_found', 'installation', {
        hint: `This key was issued by installation ${tag}; this is installation ${installationTag} (another environment, or a database that was reset).`,
      });
    if (!parsed.ok) {
      if (parsed.installation && parsed.installation !== installationTag) return foreign(parsed.installation);
      return refusal(presented, 'key_malformed', 'format', {
        detail: `The key is malformed: ${parsed.reason}`,
      });
    }
    trail?.pass('format', 'gk_ prefix, length and checksum are right');
    if (parsed.installation !== installationTag) return foreign(parsed.installation);
    trail?.pass('installation', `Issued by this installation (${installationTag})`);
    return undefined;
  }

  /**
   * The checks a presented key goes through, in order; the first failure names the reason. `trail` records
   * each step for a diagnosis (a plain verification has none, and so builds none of its texts); `use` counts
   * the use (rate limit, last used), which a diagnosis must not.
   */
  async function decide(raw: string, trail: CheckTrail | undefined, use: boolean): Promise<KeyVerification> {
    const presented: Presented = { ...normalizeCredential(raw), trail };
    const { notes } = presented;
    if (notes.length) trail?.pass('input', `Stripped from the key: ${notes.join(', ')}`);
    else trail?.pass('input', 'No surrounding whitespace, quotes or Bearer prefix');
    const keyHash = hashApiKey(presented.value);
    // A diagnosis reads the database and fills no cache: asking the doctor changes nothing a request sees.
    let entry = trail ? undefined : cache.get(keyHash);
    if (!trail) options.metrics.cacheLookup('api_key', entry !== undefined);
    // A cached key passed the form checks before, byte for byte. Any other key is judged on its form
    // before the database is asked.
    if (!entry) {
      const refused = formRefusal(presented);
      if (refused) return refused;
      entry = await findApiKeyByHash(db, keyHash);
      if (entry && !trail) cache.set(keyHash, entry);
    }
    if (!entry) {
      return refusal(presented, 'key_not_found', 'lookup', {
        hint: 'No key with this value exists in this installation: it was never issued here, or the database was restored from before it was created.',
      });
    }
    const { key, client } = entry;
    const ids = { keyId: key.id, clientId: client.id };
    trail?.pass('lookup', `Key ${key.preview} "${key.name}" (${key.id}) of client "${client.name}"`);
    const now = clock.now();
    if (key.revoked_at !== null && key.revoked_at <= now) {
      const hint =
        key.revoked_reason === 'rotated'
          ? `This key was rotated at ${toIso(key.rotated_at ?? key.revoked_at)} and its grace period ended at ${toIso(key.revoked_at)}. Use the key that replaced it (${key.successor_preview}).`
          : `This key was revoked at ${toIso(key.revoked_at)}. Ask an administrator for a new key.`;
      return refusal(presented, 'key_revoked', 'revocation', { ...ids, hint, detail: hint });
    }
    trail?.pass(
      'revocation',
      key.revoked_at === null
        ? 'Not revoked'
        : `Rotated: usable until ${toIso(key.revoked_at)}, then replaced by ${key.successor_preview}`,
    );
    if (key.expires_at !== null && key.expires_at <= now) {
      return refusal(presented, 'key_expired', 'expiry', {
        ...ids,
        hint: `This key expired at ${toIso(key.expires_at)}. Ask an administrator for a new key.`,
      });
    }
    trail?.pass(
      'expiry',
      key.expires_at === null ? 'Does not expire' : `Expires at ${toIso(key.expires_at)}`,
    );
    if (client.status !== 'active') {
      return refusal(presented, 'client_inactive', 'client', {
        ...ids,
        hint: `Client "${client.name}" (${client.id}) is suspended${
          client.status_changed_at ? ` since ${toIso(client.status_changed_at)}` : ''
        }; an administrator can activate it with \`gatehouse clients activate ${client.id}\`.`,
      });
    }
    trail?.pass('client', `Client "${client.name}" is active`);
    // Most keys have no limit of their own: they skip the counter and its await.
    if (key.rate_limit !== null && (await overRateLimit(key, use))) {
      return refusal(presented, 'rate_limited', 'rate_limit', {
        ...ids,
        detail: `Over its own limit of ${describeLimit(key.rate_limit)}`,
      });
    }
    trail?.pass(
      'rate_limit',
      key.rate_limit === null ? 'No limit of its own' : `Within ${describeLimit(key.rate_limit)}`,
    );
    if (use) lastUsed.note(key.id, now);
    return verified(key, client, notes);
  }

  /** What a valid key grants, parsed once per row (a cached row is the same object on every check). */
  const grants = new WeakMap<ApiKeyRow, { scopes: string[]; metadata: Record<string, unknown> | null }>();
  function grantOf(key: ApiKeyRow) {
    let grant = grants.get(key);
    if (!grant) {
      grant = { scopes: JSON.parse(key.scopes) as string[], metadata: parseJson(key.metadata) };
      grants.set(key, grant);
    }
    return grant;
  }

  function verified(key: ApiKeyRow, client: ClientRow, notes: InputNote[]): KeyVerification {
    const { scopes, metadata } = grantOf(key);
    return {
      valid: true,
      client: { id: client.id, name: client.name },
      key: { id: key.id, preview: key.preview, scopes: [...scopes], metadata },
      notes,
    };
  }

  return {
    async create(clientId, input, actor = INTERNAL_ACTOR) {
      await clients.get(clientId);
      const created = await issue(clientId, {
        name: input.name,
        scopes: validateScopes(input.scopes ?? ['agent']),
        expiresAt: input.expiresInSeconds ? clock.now() + input.expiresInSeconds * 1000 : null,
        metadata: input.metadata ? JSON.stringify(input.metadata) : null,
        rateLimit: input.rateLimit ? JSON.stringify(input.rateLimit) : null,
      });
      await insertApiKey(db, created.row);
      events.audit('key.create', actor, { clientId, keyId: created.row.id });
      return issued(created);
    },

    async list(clientId) {
      await clients.get(clientId);
      const now = clock.now();
      return (await listClientApiKeys(db, clientId)).map((row) => toView(row, now));
    },

    get: async (keyId) => toView(await requireKey(keyId), clock.now()),

    async rotate(keyId, graceSeconds, actor = INTERNAL_ACTOR) {
      const old = await requireKey(keyId);
      const now = clock.now();
      if (keyStatus(old, now) !== 'active' && keyStatus(old, now) !== 'expired') {
        throw new GatehouseError('key_revoked', {
          detail: `Key ${old.preview} is ${keyStatus(old, now)}; only an active key can be rotated`,
        });
      }
      const created = await issue(old.client_id, {
        name: old.name,
        scopes: JSON.parse(old.scopes) as string[],
        expiresAt: old.expires_at === null ? null : now + (old.expires_at - old.created_at),
        metadata: old.metadata,
        rateLimit: old.rate_limit,
      });
      if (!(await rotateApiKey(db, keyId, created.row, now, now + graceSeconds * 1000))) {
        throw new GatehouseError('key_revoked', {
          detail: `Key ${old.preview} was rotated or revoked meanwhile`,
        });
      }
      cache.forgetKey(keyId);
      events.audit('key.rotate', actor, {
        clientId: old.client_id,
        keyId,
        detail: { successor_id: created.row.id, grace_seconds: graceSeconds },
      });
      return issued(created);
    },

    async revoke(keyId, actor = INTERNAL_ACTOR) {
      const row = await requireKey(keyId);
      await revokeApiKey(db, keyId, clock.now());
      cache.forgetKey(keyId);
      events.audit('key.revoke', actor, { clientId: row.client_id, keyId });
      return toView(await requireKey(row.id), clock.now());
    },

    async explain(raw) {
      const trail = new CheckTrail();
      const verdict = await decide(raw, trail, false);
      return { verdict, checks: trail.checks };
    },

    async verify(raw, verifyOptions = {}) {
      const result = await decide(raw, undefined, true);
      const type = verifyOptions.eventType ?? 'key.verify';
      if (result.valid && type === 'key.verify' && result.notes.length === 0) {
        events.tally({ type, keyId: result.key.id, clientId: result.client.id });
        return result;
      }
      events.record({
        type,
        code: result.valid ? 'ok' : result.code,
        context: verifyOptions.context?.(),
        agentId: verifyOptions.agentId,
        keyId: result.valid ? result.key.id : result.keyId,
        clientId: result.valid ? result.client.id : result.clientId,
        tokenPreview: result.valid ? result.key.preview : result.preview,
        detail: {
          ...(result.notes.length ? { stripped: result.notes } : {}),
          ...(result.valid ? {} : { hint: result.hint }),
        },
      });
      return result;
    },
  };
}
