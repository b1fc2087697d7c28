import type { RedisConnections } from './redis.js';

/** A Redis pub/sub channel: instances hear each other's changes at once instead of at their next poll. */
export interface ChangeBus {
  /** Settles once the message is sent, or its failure reported: it never rejects. */
  publish(message: string): Promise<void>;
  onMessage(listener: (message: string) => void): void;
}

export function redisBus(
  redis: Pick<RedisConnections, 'commands' | 'subscriber' | 'ready'>,
  channel: string,
  onError: (error: Error) => void,
): ChangeBus {
  return {
    // A command opens its connection as it starts: a change it announces at once waits for the connection
    // rather than failing for want of one.
    publish: (message) =>
      redis
        .ready()
        .then(() => redis.commands.publish(channel, message))
        .then(() => undefined, onError),
    onMessage(listener) {
      void redis.subscriber.subscribe(channel).catch(onError);
      redis.subscriber.on('message', (from: string, message: string) => {
        if (from === channel) listener(message);
      });
    },
  };
}
