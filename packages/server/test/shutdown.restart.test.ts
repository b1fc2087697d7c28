import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouseCli } from './support/cli.js';
import { type Answer, getOnNewConnection, holdConnection } from './support/connections.js';
import { type GatehouseProcess, startGatehouseProcess } from './support/gatehouse-process.js';
import { call, PASSWORD, signUp, uniqueEmail } from './support/http.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

/** GETs `url` on a new connection every 20 ms until `done` accepts the answer (`undefined`: refused). */
async function pollNewConnections(url: string, done: (answer: Answer | undefined) => boolean) {
  for (;;) {
    const answer = await getOnNewConnection(url);
    if (done(answer)) return answer;
    await sleep(20);
  }
}

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
      GATEHOUSE_SHUTDOWN_DRAIN_SECONDS: '3',
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

  it('answers not-ready while still serving, answers every request sent before it, and writes every event', async () => {
    // The request made while draining has a user of its own, as the logins below revoke old sessions.
    const { access_token } = await signUp(instance.url);
    const email = uniqueEmail();
    await signUp(instance.url, email);
    expect((await call(instance.url, 'GET', '/readyz')).status).toBe(200);

    // Every login is written before the signal on a connection the server has accepted, so every one must be
    // answered, none reset. One is still in flight when the listener closes: its last byte is sent only then.
    const credentials = { email, password: PASSWORD };
    const [unfinishedConnection, ...connections] = await Promise.all(
      Array.from({ length: 21 }, () => holdConnection(instance.url)),
    );
    const unfinished = unfinishedConnection!.sendUnfinished('POST', '/v1/auth/login', credentials);
    const logins = [
      ...connections.map((connection) => connection.send('POST', '/v1/auth/login', credentials)),
      unfinished,
    ];
    await Promise.all(logins.map((login) => login.sent));
    const statuses = Promise.all(
      logins.map((login) =>
        login.answer.then(
          (answer) => {
            // The newest session survives the per-user session limit; it is checked after the restart.
            accessToken = JSON.parse(answer.body).access_token;
            return answer.status;
          },
          (error: NodeJS.ErrnoException) => error.code,
        ),
      ),
    );
    instance.child.kill('SIGTERM');

    const readiness = await pollNewConnections(`${instance.url}/readyz`, (answer) => answer?.status !== 200);
    expect(readiness?.status).toBe(503);
    expect(JSON.parse(readiness!.body).status).toBe('draining');
    expect((await call(instance.url, 'GET', '/v1/auth/me', { token: access_token })).status).toBe(200);
    await pollNewConnections(`${instance.url}/healthz`, (answer) => answer === undefined);
    unfinished.finish();
    expect(await statuses).toEqual(Array(21).fill(200));
    for (const connection of [unfinishedConnection!, ...connections]) connection.close();

    expect(await instance.exited).toBe(0);
    expect(instance.output()).toMatch(/stopped: in-flight requests finished/);
    const events = await gatehouseCli(['events', '--type', 'login', '--json', '--limit', '500'], env);
    expect(events.code, events.stderr).toBe(0);
    const logged = events.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { code: string });
    expect(logged.filter((event) => event.code === 'ok')).toHaveLength(21);
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
