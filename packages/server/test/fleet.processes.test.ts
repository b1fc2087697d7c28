import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouseCli } from './support/cli.js';
import { type GatehouseProcess, startGatehouseProcess } from './support/gatehouse-process.js';
import { call, PASSWORD, signUp, uniqueEmail } from './support/http.js';
import { type PgBouncer, startPgBouncer } from './support/pgbouncer.js';
import { createTestDatabase, type TestDatabase, testDialect } from './support/test-database.js';

// Several `gatehouse start` processes on one PostgreSQL, through PgBouncer in transaction mode, behave as
// one server. (SQLite is the embedded, single-instance deployment.)
const MASTER_KEY = Buffer.alloc(32, 7).toString('base64url');

async function query<T>(databaseUrl: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

/** How long until `done()` holds, polling every 25 ms for at most 3 s. */
async function timeUntil(done: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (!(await done())) {
    if (Date.now() - start > 3000) return Number.POSITIVE_INFINITY;
    await sleep(25);
  }
  return Date.now() - start;
}

describe.runIf(testDialect === 'postgres')('instances as processes, through PgBouncer', () => {
  let database: TestDatabase;
  let pgbouncer: PgBouncer;
  let env: Record<string, string>;
  let instances: GatehouseProcess[] = [];
  let admin: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    pgbouncer = await startPgBouncer();
    env = {
      GATEHOUSE_ENV: 'development',
      GATEHOUSE_MASTER_KEY: MASTER_KEY,
      GATEHOUSE_PUBLIC_URL: 'http://gatehouse.test',
      GATEHOUSE_DATABASE_URL: pgbouncer.through(database.directUrl ?? database.url),
      GATEHOUSE_DATA_DIR: database.dataDir,
      GATEHOUSE_SHUTDOWN_DRAIN_SECONDS: '1',
      GATEHOUSE_LOG_LEVEL: 'warn',
      GATEHOUSE_LOGIN_RATE_LIMIT: '0',
      GATEHOUSE_TOKEN_RATE_LIMIT: '0',
    };
    // Three instances started at the same moment on an empty database.
    instances = await Promise.all([0, 1, 2].map(() => startGatehouseProcess(env)));
  });
  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.stop('SIGKILL')));
    await pgbouncer?.stop();
    await database?.drop();
  });

  it('started together on an empty database, they migrated once and all serve', async () => {
    const runs = await query<{ name: string; runs: string }>(
      database.directUrl ?? database.url,
      'select name, count(*) as runs from gatehouse_migrations group by name',
    );
    expect(runs.length).toBeGreaterThan(5);
    for (const run of runs) expect(Number(run.runs)).toBe(1);
    for (const instance of instances) expect((await call(instance.url, 'GET', '/readyz')).status).toBe(200);

    const email = uniqueEmail('admin');
    const created = await gatehouseCli(['admin', 'create', '--email', email, '--password', PASSWORD], env);
    expect(created.code, created.stderr).toBe(0);
    const login = await call(instances[0]!.url, 'POST', '/v1/auth/login', {
      body: { email, password: PASSWORD },
    });
    admin = login.body.access_token;
    expect(admin).toBeTruthy();
  });

  it('sign up on A, refresh on B, me on C; logout on C is refused on A and B within a second', async () => {
    const [a, b, c] = instances as [GatehouseProcess, GatehouseProcess, GatehouseProcess];
    const { refresh_token } = await signUp(a.url);
    const refreshed = await call(b.url, 'POST', '/oauth/token', {
      form: { grant_type: 'refresh_token', refresh_token },
    });
    expect(refreshed.status, refreshed.text).toBe(200);
    const token = refreshed.body.access_token as string;
    for (const instance of instances) {
      expect((await call(instance.url, 'GET', '/v1/auth/me', { token })).status).toBe(200);
    }
    expect((await call(c.url, 'POST', '/v1/auth/logout', { token })).status).toBe(204);
    const refusedEverywhere = async () => {
      const answers = await Promise.all(
        [a, b].map((instance) => call(instance.url, 'GET', '/v1/auth/me', { token })),
      );
      return answers.every((answer) => answer.body.code === 'session_revoked');
    };
    expect(await timeUntil(refusedEverywhere)).toBeLessThan(1000);
  });

  it('a client suspended on B: its key fails on A at once', async () => {
    const [a, b] = instances as [GatehouseProcess, GatehouseProcess];
    const client = await call(b.url, 'POST', '/v1/admin/clients', { token: admin, body: { name: 'fleet' } });
    const issued = await call(b.url, 'POST', `/v1/admin/clients/${client.body.id}/keys`, {
      token: admin,
      body: { name: 'k', scopes: ['agent'] },
    });
    const verify = () => call(a.url, 'POST', '/v1/keys/verify', { body: { key: issued.body.key } });
    expect((await verify()).body.valid).toBe(true);
    const suspended = await call(b.url, 'PATCH', `/v1/admin/clients/${client.body.id}`, {
      token: admin,
      body: { status: 'suspended' },
    });
    expect(suspended.status, suspended.text).toBe(200);
    expect(await timeUntil(async () => (await verify()).body.code === 'client_inactive')).toBeLessThan(1000);
  });

  it('keys rotate on one: every token any instance signs, before or after, verifies on all of them', async () => {
    const kidOf = (token: string) =>
      JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid as string;
    const before = (await signUp(instances[0]!.url)).access_token;
    const rotated = await gatehouseCli(['keys', 'rotate', '--force', '--json'], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    // Each instance re-reads the keyring within GATEHOUSE_KEYRING_REFRESH_SECONDS (5 s); meanwhile some sign
    // with the old key and some with the new one, and every token must verify everywhere all along.
    const kids = new Set<string>();
    const deadline = Date.now() + 7000;
    while (Date.now() < deadline) {
      for (const signer of instances) {
        const { access_token } = await signUp(signer.url);
        kids.add(kidOf(access_token));
        for (const verifier of instances) {
          for (const token of [access_token, before]) {
            const me = await call(verifier.url, 'GET', '/v1/auth/me', { token });
            expect(me.status, me.text).toBe(200);
          }
        }
      }
      await sleep(250);
    }
    expect(kids.size).toBe(2);
  });

  it('twenty concurrent refreshes of one token over the three instances get one successor', async () => {
    const { refresh_token } = await signUp(instances[0]!.url);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(instances[i % 3]!.url, 'POST', '/oauth/token', {
          form: { grant_type: 'refresh_token', refresh_token },
        }),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
    expect(new Set(answers.map((answer) => answer.body.refresh_token)).size).toBe(1);
  });

  it('a rolling restart under steady traffic: no 5xx, no 401, and every decision is an event', async () => {
    const sessions = await Promise.all([0, 1, 2, 3].map(() => signUp(instances[0]!.url)));
    let stop = false;
    const failures: string[] = [];
    let refreshes = 0;
    let next = 0;
    /** A client as a balancer would be: a refused or reset connection is sent to the next instance. */
    const send = async (path: string, form: Record<string, string>) => {
      for (let attempt = 0; attempt < 12; attempt++) {
        const instance = instances[next++ % 3]!;
        try {
          return await call(instance.url, 'POST', path, { form });
        } catch {
          await sleep(20);
        }
      }
      throw new Error(`no instance answered ${path}`);
    };
    const traffic = sessions.map(async (session) => {
      let refreshToken = session.refresh_token;
      while (!stop) {
        const answer = await send('/oauth/token', {
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
        });
        if (answer.status !== 200) failures.push(`${answer.status} ${answer.text}`);
        else {
          refreshes++;
          refreshToken = answer.body.refresh_token;
        }
        await sleep(10);
      }
    });

    for (let i = 0; i < instances.length; i++) {
      const old = instances[i]!;
      expect(await old.stop('SIGTERM')).toBe(0);
      instances[i] = await startGatehouseProcess(env, old.port);
    }
    stop = true;
    await Promise.all(traffic);

    expect(failures).toEqual([]);
    expect(refreshes).toBeGreaterThan(50);
    // Every instance that stopped wrote its queued events first; the live ones flush within half a second.
    await sleep(1000);
    const sessionIds = sessions.map((session) => `'${session.session_id}'`).join(',');
    const [row] = await query<{ events: string }>(
      database.directUrl ?? database.url,
      `select count(*) as events from events where type = 'refresh' and code = 'ok' and session_id in (${sessionIds})`,
    );
    expect(Number(row!.events)).toBe(refreshes);
  });
});
