import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import { countRequest, deleteRateLimitsBefore, readRequestCount } from '../store/rate-limits-store.js';
import type { Database } from '../store/schema.js';
import type { RedisConnections } from './redis.js';

export interface RateCount {
  count: number;
  /** Until the window ends. */
  resetInMs: number;
}

/**
 * Request counters every instance shares: in Redis when configured, in the database when Redis is not
 * configured or does not answer — never nowhere, so a Redis outage cannot lift a limit. Embedded SQLite
 * without Redis is one instance: its counters live in memory, sparing a write on every limited request.
 */
export interface RateCounter {
  hit(key: string, windowMs: number): Promise<RateCount>;
  /** The count so far in `key`'s window, counting nothing: what the next `hit` will add one to. */
  peek(key: string, windowMs: number): Promise<number>;
  prune(): Promise<void>;
}

const REDIS_WINDOW = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
`;

export function createRateCounter(options: {
  db: Kysely<Database>;
  clock: Clock;
  redis?: RedisConnections;
  inMemory: boolean;
  /** Keeps installations that share one Redis apart. */
  prefix: string;
  onRedisError: (error: unknown) => void;
}): RateCounter {
  const { db, clock, redis } = options;

  const inDatabase = async (key: string, windowMs: number): Promise<RateCount> => {
    const now = clock.now();
    const { count, windowStart } = await countRequest(db, key, now, windowMs);
    return { count, resetInMs: windowStart + windowMs - now };
  };

  const windows = new LRUCache<string, { start: number; count: number }>({ max: 100_000 });
  const inMemory = async (key: string, windowMs: number): Promise<RateCount> => {
    const now = clock.now();
    const window = windows.get(key);
    const current = window !== undefined && window.start > now - windowMs;
    const start = current ? window.start : now;
    const count = current ? window.count + 1 : 1;
    windows.set(key, { start, count });
    return { count, resetInMs: start + windowMs - now };
  };
  const local = options.inMemory ? inMemory : inDatabase;

  const peekLocal = async (key: string, windowMs: number): Promise<number> => {
    if (!options.inMemory) return readRequestCount(db, key, clock.now(), windowMs);
    const window = windows.peek(key);
    return window !== undefined && window.start > clock.now() - windowMs ? window.count : 0;
  };

  const inRedis = async (connections: RedisConnections, key: string, windowMs: number) => {
    const [count, ttl] = (await connections.commands.eval(
      REDIS_WINDOW,
      1,
      `${options.prefix}${key}`,
      windowMs,
    )) as [number, number];
    return { count, resetInMs: ttl };
  };

  return {
    async hit(key, windowMs) {
      if (!redis) return local(key, windowMs);
      try {
        return await inRedis(redis, key, windowMs);
      } catch (error) {
        options.onRedisError(error);
        return inDatabase(key, windowMs);
      }
    },
    async peek(key, windowMs) {
      if (!redis) return peekLocal(key, windowMs);
      try {
        return Number((await redis.commands.get(`${options.prefix}${key}`)) ?? 0);
      } catch (error) {
        options.onRedisError(error);
        return readRequestCount(db, key, clock.now(), windowMs);
      }
    },
    prune: () => deleteRateLimitsBefore(db, clock.now() - 3_600_000),
  };
}
