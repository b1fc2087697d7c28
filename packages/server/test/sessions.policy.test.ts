import { describe, expect, it } from 'vitest';
import { adminToken } from './support/admin.js';
import { call, PASSWORD, signUp, uniqueEmail } from './support/http.js';
import { offsetClock, type TestServer, useTestServer } from './support/test-server.js';

describe('session policy', () => {
  let server: TestServer;
  const clock = offsetClock();
  useTestServer(
    {
      clock,
      env: {
        GATEHOUSE_MAX_SESSIONS_PER_USER: '3',
        GATEHOUSE_SESSION_IDLE_TIMEOUT: '1h',
        GATEHOUSE_SESSION_ABSOLUTE_TIMEOUT: '1d',
        GATEHOUSE_ACCESS_TOKEN_TTL: '1d',
      },
    },
    (started) => {
      server = started.server;
    },
  );

  const login = (email: string) =>
    call(server.url, 'POST', '/v1/auth/login', { body: { email, password: PASSWORD } });
  const me = (token: string) => call(server.url, 'GET', '/v1/auth/me', { token });

  it('revokes the oldest session beyond the per-user limit, with an event', async () => {
    const email = uniqueEmail('many-devices');
    const first = await signUp(server.url, email);
    const others = [await login(email), await login(email), await login(email)];
    expect((await me(first.access_token)).body).toMatchObject({ code: 'session_revoked' });
    expect((await me(first.access_token)).body.detail).toContain('session_limit');
    for (const other of others) expect((await me(other.body.access_token)).status).toBe(200);

    const admin = await adminToken(server);
    const events = await call(
      server.url,
      'GET',
      `/v1/admin/events?user_id=${first.user.id}&type=session.revoke`,
      { token: admin },
    );
    expect(events.body.events[0]).toMatchObject({
      session_id: first.session_id,
      detail: { reason: 'session_limit' },
    });
  });

  it('signs out everywhere with DELETE /v1/auth/sessions', async () => {
    const email = uniqueEmail('everywhere');
    const first = await signUp(server.url, email);
    const second = await login(email);
    const reply = await call(server.url, 'DELETE', '/v1/auth/sessions', { token: second.body.access_token });
    expect(reply.body).toEqual({ revoked: 2 });
    for (const token of [first.access_token, second.body.access_token]) {
      expect((await me(token)).body.code).toBe('session_revoked');
    }
  });

  it('ends a session after the idle timeout, and after the absolute timeout even when used', async () => {
    const idle = await signUp(server.url);
    clock.advance(61 * 60_000);
    expect((await me(idle.access_token)).body.code).toBe('session_expired');

    const busy = await signUp(server.url);
    const started = clock.now();
    let refresh = busy.refresh_token;
    let refusal: { code: string } | undefined;
    while (!refusal && clock.now() - started < 2 * 86_400_000) {
      clock.advance(50 * 60_000);
      const next = await call(server.url, 'POST', '/oauth/token', {
        form: { grant_type: 'refresh_token', refresh_token: refresh },
      });
      if (next.status === 200) refresh = next.body.refresh_token;
      else refusal = next.body;
    }
    expect(refusal?.code).toBe('session_expired');
    expect(clock.now() - started).toBeGreaterThanOrEqual(86_400_000);
    expect(clock.now() - started).toBeLessThan(86_400_000 + 50 * 60_000);
  });
});
