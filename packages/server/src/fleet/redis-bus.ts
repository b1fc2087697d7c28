import { Redis } from 'ioredis';

/** A Redis pub/sub channel: instances hear each other's changes at once instead of at their next poll. */
export interface ChangeBus {
  publish(message: string): void;
  onMessage(listener: (message: string) => void): void;
  close(): Promise<void>;
}

export function connectRedisBus(url: string, channel: string, onError: (error: Error) => void): ChangeBus {
  // No offline queue: while Redis is away a publish fails at once and the database poll carries the change.
  const options = { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false };
  const publisher = new Redis(url, options);
  const subscriber = new Redis(url, { ...options, enableOfflineQueue: true });
  publisher.on('error', onError);
  subscriber.on('error', onError);
  void subscriber.subscribe(channel).catch(onError);
  return {
    publish(message) {
      publisher.publish(channel, message).catch(onError);
    },
    onMessage(listener) {
      subscriber.on('message', (_channel: string, message: string) => listener(message));
    },
    async close() {
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}
