import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';

/** What an instance does without Redis, said wherever its absence is reported. */
export const WITHOUT_REDIS =
  'changes reach other instances through the database poll, rate limits are counted in the database';

/** How long Redis has to connect, and then to answer a probe: past it, it counts as unavailable. */
const ANSWER_WITHIN_MS = 2000;

/** The instance's Redis connections: one for commands, one subscribed to channels (Redis requires two). */
export interface RedisConnections {
  commands: Redis;
  /** Connects on its first subscription: a one-shot command subscribes to nothing. */
  subscriber: Redis;
  /** The URL without its password, for logs. */
  description: string;
  /**
   * Resolves once the command connection is ready, at once when it is. A command sent before would fail
   * (commands have no offline queue); rejects with the connection's error, or when it takes too long.
   */
  ready(): Promise<void>;
  /** PING's round trip in milliseconds, once connected; rejects when Redis does not answer in time. */
  ping(): Promise<number>;
  close(): void;
}

function describeRedisUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.href;
}

function noAnswer(): Error {
  return new Error(`Redis did not answer within ${ANSWER_WITHIN_MS} ms`);
}

async function untilReady(connection: Redis): Promise<void> {
  if (connection.status === 'end') throw new Error('the Redis connection is closed');
  // `once` rejects with the connection's own error (refused, authentication) as soon as it is emitted.
  await once(connection, 'ready', { signal: AbortSignal.timeout(ANSWER_WITHIN_MS) }).catch(
    (error: unknown) => {
      throw (error as Error).name === 'AbortError' ? noAnswer() : error;
    },
  );
}

async function answerInTime<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(noAnswer()), ANSWER_WITHIN_MS);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** `onError` hears the first error of each outage; commands fail fast until Redis is back. */
export function connectRedis(url: string, onError: (error: Error) => void): RedisConnections {
  // No offline queue and one try per command: while Redis is away a command fails at once, and the caller
  // falls back to the database instead of waiting.
  const commands = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: ANSWER_WITHIN_MS,
  });
  const subscriber = new Redis(url, {
    maxRetriesPerRequest: 1,
    connectTimeout: ANSWER_WITHIN_MS,
    lazyConnect: true,
  });
  let closing = false;
  // ioredis reports every failed reconnection; one report per outage is enough.
  for (const connection of [commands, subscriber]) {
    let reported = false;
    connection.on('error', (error: Error) => {
      // Closing while the handshake runs fails the handshake: this process leaving, not Redis going away.
      if (closing || reported) return;
      reported = true;
      onError(error);
    });
    connection.on('ready', () => {
      reported = false;
    });
  }
  // Every caller waiting for the same connection shares one wait (and one pair of listeners).
  let connecting: Promise<void> | undefined;
  const ready = () => {
    if (commands.status === 'ready') return Promise.resolve();
    connecting ??= untilReady(commands).finally(() => {
      connecting = undefined;
    });
    return connecting;
  };
  return {
    commands,
    subscriber,
    description: describeRedisUrl(url),
    ready,
    async ping() {
      await ready();
      const sent = performance.now();
      await answerInTime(commands.ping());
      return Math.round(performance.now() - sent);
    },
    close() {
      closing = true;
      commands.disconnect();
      subscriber.disconnect();
    },
  };
}
