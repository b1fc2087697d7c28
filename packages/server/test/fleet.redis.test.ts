import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../src/fleet/redis.js';
import { redisBus } from '../src/fleet/redis-bus.js';
import { freePort } from './support/test-server.js';

/** The machine's Redis; every test here uses a channel of its own. */
const REDIS_URL = process.env.GATEHOUSE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('Redis connections as a one-shot command uses them', () => {
  let listener: Redis;
  beforeAll(() => {
    listener = new Redis(REDIS_URL);
  });
  afterAll(() => {
    listener?.disconnect();
  });

  // Regression: a command announced its change before the connection was ready; the publish failed (no
  // offline queue) and the other instances heard of it only at their next database poll.
  it('a change published at once, before the connection is ready, is delivered', async () => {
    const channel = `gatehouse-test:${uuidv7()}:changes`;
    await listener.subscribe(channel);
    const heard = once(listener, 'message');
    const failures: Error[] = [];
    const redis = connectRedis(REDIS_URL, (error) => failures.push(error));
    try {
      expect(redis.commands.status).not.toBe('ready');
      await redisBus(redis, channel, (error) => failures.push(error)).publish('{"kind":"user","id":"u1"}');
      expect(await heard).toEqual([channel, '{"kind":"user","id":"u1"}']);
      expect(failures).toEqual([]);
    } finally {
      redis.close();
      await listener.unsubscribe(channel);
    }
  });

  // Regression: closing while the handshake ran failed the handshake, reported as "redis unavailable".
  it('closing while the connection is still being made reports no outage', async () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const failures: Error[] = [];
      const redis = connectRedis(REDIS_URL, (error) => failures.push(error));
      await once(redis.commands, 'connect');
      redis.close();
      await sleep(50);
      expect(failures).toEqual([]);
    }
  });

  it('a Redis that is down: the outage is reported once, and the publish fails without throwing', async () => {
    const failures: Error[] = [];
    const redis = connectRedis(`redis://127.0.0.1:${await freePort()}`, (error) => failures.push(error));
    const publishFailures: Error[] = [];
    try {
      await redisBus(redis, 'gatehouse-test:nowhere', (error) => publishFailures.push(error)).publish('{}');
      await expect(redis.ping()).rejects.toThrow(/ECONNREFUSED/);
      expect(publishFailures.map((error) => error.message)).toEqual([expect.stringMatching(/ECONNREFUSED/)]);
      expect(failures).toHaveLength(1);
    } finally {
      redis.close();
    }
  });
});
