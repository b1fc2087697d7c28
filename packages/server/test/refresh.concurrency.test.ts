import { describe, expect, it } from 'vitest';
import { call, signUp } from './support/http.js';
import { offsetClock, type TestServer, useTestServer } from './support/test-server.js';

const refresh = (url: string, token: string) =>
  call(url, 'POST', '/oauth/token', { form: { grant_type: 'refresh_token', refresh_token: token } });

describe('refresh-token rotation under concurrency', () => {
  let server: TestServer;
  const clock = offsetClock();
  useTestServer({ clock, env: { GATEHOUSE_REFRESH_GRACE_SECONDS: '10' } }, (started) => {
    server = started.server;
  });

  it('gives twenty concurrent refreshes of one token the same successor', async () => {
    const { refresh_token } = await signUp(server.url);
    const replies = await Promise.all(Array.from({ length: 20 }, () => refresh(server.url, refresh_token)));
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
    const successors = new Set(replies.map((r) => r.body.refresh_token));
    expect(successors.size).toBe(1);
    expect(successors.has(refresh_token)).toBe(false);
    for (const reply of replies) {
      expect((await call(server.url, 'GET', '/v1/auth/me', { token: reply.body.access_token })).status).toBe(
        200,
      );
    }
  });

  it('revokes the whole family when a rotated token is replayed after the grace interval', async () => {
    const first = await signUp(server.url);
    const second = await refresh(server.url, first.refresh_token);
    const newest = await refresh(server.url, second.body.refresh_token);
    expect(newest.status).toBe(200);

    clock.advance(11_000);
    const replay = await refresh(server.url, first.refresh_token);
    expect(replay.status).toBe(400);
    expect(replay.body).toMatchObject({ error: 'invalid_grant', code: 'refresh_token_reused' });

    const afterReuse = await refresh(server.url, newest.body.refresh_token);
    expect(afterReuse.status).toBe(400);
    expect(afterReuse.body.code).toBe('session_revoked');
    expect(afterReuse.body.error_description).toContain('refresh_token_reused');
    const me = await call(server.url, 'GET', '/v1/auth/me', { token: newest.body.access_token });
    expect(me.status).toBe(401);
    expect(me.body.code).toBe('session_revoked');
  });

  it('tells an unknown refresh token apart from a malformed one', async () => {
    const unknown = await refresh(server.url, `grt_${'A'.repeat(43)}`);
    expect(unknown.body).toMatchObject({ error: 'invalid_grant', code: 'refresh_token_not_found' });
    const unsupported = await call(server.url, 'POST', '/oauth/token', { form: { grant_type: 'password' } });
    expect(unsupported.body).toMatchObject({
      error: 'unsupported_grant_type',
      code: 'unsupported_grant_type',
    });
  });
});
