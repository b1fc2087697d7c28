import { Redis } from 'ioredis';

/** The instance's Redis connections: one for commands, one subscribed to channels (Redis requires two). */
export interface RedisConnections {
  commands: Redis;
  subscriber: Redis;
  close(): void;
}

/** `onError` hears the first error of each outage; commands fail fast until Redis is back. */
export function connectRedis(url: string, onError: (error: Error) => void): RedisConnections {
  // No offline queue and one try per command: while Redis is away a command fails at once, and the caller
  // falls back to the database instead of waiting.
  const commands = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
  });
  const subscriber = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
  // ioredis reports every failed reconnection; one report per outage is enough.
  for (const connection of [commands, subscriber]) {
    let reported = false;
    connection.on('error', (error: Error) => {
      if (!reported) onError(error);
      reported = true;
    });
    connection.on('ready', () => {
      reported = false;
    });
  }
  return {
    commands,
    subscriber,
    close() {
      commands.disconnect();
      subscriber.disconnect();
    },
  };
}
