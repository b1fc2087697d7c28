import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouseCli } from './support/cli.js';
import { type GatehouseProcess, startGatehouseProcess } from './support/gatehouse-process.js';
import { call, PASSWORD, signUp, uniqueEmail } from './support/http.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

// Restarts lose nothing: SIGTERM turns /readyz to 503 first (a balancer drains the instance), keeps
// answering for the drain period, finishes what is in flight, writes the queued events, then exits 0.
describe('SIGTERM drains the instance, then stops', () => {
  let database: TestDatabase;
  let instance: GatehouseProcess;
  let env: Record<string, string>;
  let accessToken: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    env = {
      GATEHOUSE_DATA_DIR: database.dataDir,
      GATEHOUSE_DATABASE_URL: database.url,
      GATEHOUSE_SHUTDOWN_DRAIN_SECONDS: '1',
      GATEHOUSE_PASSWORD_HASH_CONCURRENCY: '1',
      GATEHOUSE_PASSWORD_HASH_QUEUE: '500',
      GATEHOUSE_LOGIN_RATE_LIMIT: '0',
    };
    instance = await startGatehouseProcess(env);
  });
  afterAll(async () => {
    await instance?.stop('SIGKILL');
    await database?.drop();
  });

  it('answers not-ready while still serving, finishes in-flight logins, and writes every event', async () => {
    const email = uniqueEmail();
    const { access_token } = await signUp(instance.url, email);
    expect((await call(instance.url, 'GET', '/readyz')).status).toBe(200);

    const signalledAt = performance.now();
    instance.child.kill('SIGTERM');
    await sleep(50);
    const readiness = await call(instance.url, 'GET', '/readyz');
    expect(readiness.status).toBe(503);
    expect(readiness.body.status).toBe('draining');
    expect((await call(instance.url, 'GET', '/v1/auth/me', { token: access_token })).status).toBe(200);

    // Two hundred logins, hashed one at a time (at least 10 ms each), take longer than the one-second drain:
    // the last ones are still in flight when the listener closes, and must be answered all the same.
    const answeredAt: number[] = [];
    const logins = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const login = await call(instance.url, 'POST', '/v1/auth/login', {
          body: { email, password: PASSWORD },
        });
        answeredAt.push(performance.now() - signalledAt);
        // The newest session survives the per-user session limit; it is checked after the restart.
        accessToken = login.body.access_token;
        return login.status;
      }),
    );
    expect(logins).toEqual(Array(200).fill(200));
    expect(Math.max(...answeredAt)).toBeGreaterThan(1000);

    expect(await instance.exited).toBe(0);
    expect(instance.output()).toMatch(/stopped: in-flight requests finished/);
    const events = await gatehouseCli(['events', '--type', 'login', '--json', '--limit', '500'], env);
    expect(events.code, events.stderr).toBe(0);
    const logged = events.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { code: string });
    expect(logged.filter((event) => event.code === 'ok')).toHaveLength(200);
  });

  it('refuses new connections once stopped, and a restart on the same data accepts the tokens issued before', async () => {
    const refused = await fetch(`${instance.url}/healthz`).then(
      () => 'answered',
      () => 'refused',
    );
    expect(refused).toBe('refused');
    instance = await startGatehouseProcess(env, instance.port);
    expect((await call(instance.url, 'GET', '/v1/auth/me', { token: accessToken })).status).toBe(200);
  });
});
