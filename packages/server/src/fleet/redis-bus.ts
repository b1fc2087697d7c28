import type { RedisConnections } from './redis.js';

/** A Redis pub/sub channel: instances hear each other's changes at once instead of at their next poll. */
export interface ChangeBus {
  publish(message: string): void;
  onMessage(listener: (message: string) => void): void;
}

export function redisBus(
  redis: RedisConnections,
  channel: string,
  onError: (error: Error) => void,
): ChangeBus {
  void redis.subscriber.subscribe(channel).catch(onError);
  return {
    publish(message) {
      redis.commands.publish(channel, message).catch(onError);
    },
    onMessage(listener) {
      redis.subscriber.on('message', (from: string, message: string) => {
        if (from === channel) listener(message);
      });
    },
  };
}
