import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { ApiKeyRow } from '../store/api-keys-store.js';
import type { ClientRow } from '../store/clients-store.js';

export interface CachedKey {
  key: ApiKeyRow;
  client: ClientRow;
}

/**
 * Verified keys by hash, so the hot path reads no database. This instance forgets an entry the moment it
 * revokes or rotates the key or suspends its client; another instance's change is seen within `ttlSeconds`.
 */
export class KeyCache {
  readonly #entries: LRUCache<string, CachedKey>;
  readonly #enabled: boolean;

  constructor(clock: Clock, ttlSeconds: number, max = 100_000) {
    this.#enabled = ttlSeconds > 0;
    this.#entries = new LRUCache({
      max,
      ttl: Math.max(ttlSeconds, 1) * 1000,
      perf: { now: () => clock.now() },
    });
  }

  get(keyHash: string): CachedKey | undefined {
    return this.#enabled ? this.#entries.get(keyHash) : undefined;
  }

  set(keyHash: string, entry: CachedKey): void {
    if (this.#enabled) this.#entries.set(keyHash, entry);
  }

  forget(match: (entry: CachedKey) => boolean): void {
    for (const [hash, entry] of this.#entries.entries()) if (match(entry)) this.#entries.delete(hash);
  }
}
