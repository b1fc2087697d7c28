import { LRUCache } from 'lru-cache';
import { deepFreeze } from './deep-freeze.js';
import type { Clock } from './options.js';
import type { AccessTokenClaims, TokenResult } from './results.js';

export interface VerifiedTokens {
  /**
   * The earlier answer for this exact token, while it is still before its `exp` and the cache's max age. It is
   * kept as a settled promise, so a hit allocates nothing and costs one await.
   */
  get(token: string): Promise<TokenResult> | undefined;
  /** Keeps the answer for a token just verified, and returns it (frozen). */
  remember(token: string, claims: AccessTokenClaims): TokenResult;
}

interface Entry {
  answer: Promise<TokenResult>;
  /** Epoch ms after which the entry is never served: the token's exp, or the max age if that comes first. */
  until: number;
}

/**
 * A bounded LRU keyed by the exact token string. A token is served from it only before its `exp`: from then
 * on every call verifies it again, so the answer past `exp` (inside or beyond the skew) is the verifier's, not
 * the cache's. Deadlines are checked against the injected clock on each hit rather than through lru-cache's
 * own TTL, which reads the system clock.
 */
export function createVerifiedTokens(clock: Clock, maxEntries: number, maxAgeMs: number): VerifiedTokens {
  const entries = new LRUCache<string, Entry>({ max: maxEntries });
  return {
    get(token) {
      const entry = entries.get(token);
      if (entry === undefined) return undefined;
      if (clock.now() < entry.until) return entry.answer;
      entries.delete(token);
      return undefined;
    },
    remember(token, claims) {
      const until = Math.min(claims.exp * 1000, clock.now() + maxAgeMs);
      const result: TokenResult = deepFreeze({ ok: true, claims });
      entries.set(token, { answer: Promise.resolve(result), until });
      return result;
    },
  };
}
