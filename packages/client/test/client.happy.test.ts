import { afterEach, describe, expect, it } from 'vitest';
import { call, PASSWORD, uniqueEmail } from '../../server/test/support/http.js';
import { enableMfa, totpAt } from '../../server/test/support/mfa.js';
import { offsetClock, type TestServer, useTestServer } from '../../server/test/support/test-server.js';
import { createGatehouseClient, type GatehouseClient, GatehouseClientError } from '../src/index.js';
import { countingFetch, FAST_RETRY, recorder } from './support/client.js';

describe('@gatehouse/client against a real Gatehouse', () => {
  let server: TestServer;
  const clock = offsetClock();
  useTestServer({ clock, env: { GATEHOUSE_LOGIN_RATE_LIMIT: '0' } }, (started) => {
    server = started.server;
  });
  const clients: GatehouseClient[] = [];
  const newClient = (options: Partial<Parameters<typeof createGatehouseClient>[0]> = {}) => {
    const client = createGatehouseClient({ baseUrl: server.url, retry: FAST_RETRY, ...options });
    clients.push(client);
    return client;
  };
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  it('signs up, calls Gatehouse with the token, and signs out revoking the session at the server', async () => {
    const client = newClient();
    const record = recorder();
    record.watch(client);
    const email = uniqueEmail('sdk');

    const signedUp = await client.signUp({ email, password: PASSWORD, name: 'Ada' });
    expect(signedUp.user?.email).toBe(email);
    const me = await client.fetch(`${server.url}/v1/auth/me`);
    expect(me.status).toBe(200);
    expect((await me.json()).name).toBe('Ada');
    const session = await client.getSession();
    expect(session).toMatchObject({ mode: 'token', user: { email } });
    expect(session!.accessTokenExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 500_000);

    const token = (await client.getAccessToken())!;
    await client.signOut();
    expect(await client.getSession()).toBeNull();
    expect(await client.getAccessToken()).toBeNull();
    const after = await call(server.url, 'GET', '/v1/auth/me', { token });
    expect(after.body.code).toBe('session_revoked');
    expect(record.events).toEqual([{ type: 'signed_in' }, { type: 'signed_out' }]);
  });

  it('refuses a wrong password with its reason code and no session', async () => {
    const client = newClient();
    const email = uniqueEmail('sdk');
    await newClient().signUp({ email, password: PASSWORD });
    const refused = await client.signIn({ email, password: 'not the password' }).catch((error) => error);
    expect(refused).toBeInstanceOf(GatehouseClientError);
    expect(refused).toMatchObject({ code: 'invalid_credentials', status: 401, transient: false });
    expect(await client.getSession()).toBeNull();
  });

  it('completes a sign-in that needs the second step', async () => {
    const email = uniqueEmail('sdk-mfa');
    const first = newClient();
    await first.signUp({ email, password: PASSWORD });
    const { secret } = await enableMfa(server, (await first.getAccessToken())!, clock);

    const client = newClient();
    const record = recorder();
    record.watch(client);
    const step = await client.signIn({ email, password: PASSWORD });
    expect(step.status).toBe('mfa_required');
    if (step.status !== 'mfa_required') return;
    expect(await client.getSession()).toBeNull();
    const wrong = await step.verify('000000').catch((error) => error);
    expect(wrong).toMatchObject({ code: 'mfa_invalid', transient: false });
    const done = await step.verify(totpAt(secret, clock.now()));
    expect(done.user?.email).toBe(email);
    expect((await client.fetch(`${server.url}/v1/auth/me`)).status).toBe(200);
    expect(record.events).toEqual([{ type: 'signed_in' }]);
  });

  it('refreshes once and replays when the server says token_expired', async () => {
    const counter = countingFetch();
    const client = newClient({ fetch: counter.fetch, autoRefresh: false });
    const record = recorder();
    record.watch(client);
    await client.signUp({ email: uniqueEmail('sdk'), password: PASSWORD });
    const issued = (await client.getAccessToken())!;

    // The server's clock moves past the token's expiry; the client's does not know yet.
    clock.advance(11 * 60_000);
    const me = await client.fetch(`${server.url}/v1/auth/me`);
    expect(me.status).toBe(200);
    expect(counter.count('POST /oauth/token')).toBe(1);
    expect(counter.statuses.filter((status) => status === 401)).toHaveLength(1);
    const refreshed = (await client.getAccessToken())!;
    expect(refreshed).not.toBe(issued);
    expect(record.events.map((event) => event.type)).toEqual(['signed_in', 'refreshed']);
  });

  it('makes one refresh for ten concurrent calls that find the access token expired', async () => {
    const counter = countingFetch();
    const client = newClient({ fetch: counter.fetch, autoRefresh: false });
    await client.signUp({ email: uniqueEmail('sdk'), password: PASSWORD });
    clock.advance(11 * 60_000);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => client.fetch(`${server.url}/v1/auth/me`)),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200));
    expect(counter.count('POST /oauth/token')).toBe(1);
  });
});
