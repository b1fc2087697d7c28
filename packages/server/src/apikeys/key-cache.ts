import { LRUCache } from 'lru-cache';
import type { ClientRow } from '../clients/clients.js';
import type { Clock } from '../clock.js';
import type { ChangeFeed } from '../fleet/change-feed.js';
import type { ApiKeyRow } from '../store/api-keys-store.js';

export interface CachedKey {
  key: ApiKeyRow;
  client: ClientRow;
}

/**
 * Verified keys by hash, so the hot path reads no database. Revoking or rotating a key and suspending a
 * client are announced on the change feed: this instance forgets the entry at once, the others when the
 * feed reaches them; `ttlSeconds` bounds how long an entry is trusted even if a change were missed.
 */
export class KeyCache {
  readonly #entries: LRUCache<string, CachedKey>;
  readonly #enabled: boolean;
  readonly #feed: ChangeFeed;

  constructor(clock: Clock, ttlSeconds: number, feed: ChangeFeed, max = 100_000) {
    this.#feed = feed;
    this.#enabled = ttlSeconds > 0;
    this.#entries = new LRUCache({
      max,
      ttl: Math.max(ttlSeconds, 1) * 1000,
      perf: { now: () => clock.now() },
    });
    feed.subscribe((change) => {
      if (change.kind === 'key') this.#drop((entry) => entry.key.id === change.id);
      else if (change.kind === 'client') this.#drop((entry) => entry.client.id === change.id);
      else if (change.kind === 'all') this.#entries.clear();
    });
  }

  get(keyHash: string): CachedKey | undefined {
    return this.#enabled ? this.#entries.get(keyHash) : undefined;
  }

  set(keyHash: string, entry: CachedKey): void {
    if (this.#enabled) this.#entries.set(keyHash, entry);
  }

  forgetKey(keyId: string): void {
    this.#feed.announce({ kind: 'key', id: keyId });
  }

  forgetClient(clientId: string): void {
    this.#feed.announce({ kind: 'client', id: clientId });
  }

  #drop(match: (entry: CachedKey) => boolean): void {
    for (const [hash, entry] of this.#entries.entries()) if (match(entry)) this.#entries.delete(hash);
  }
}
