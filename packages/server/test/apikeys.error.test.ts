import { beforeAll, describe, expect, it } from 'vitest';
import { adminToken, clientWithKey } from './support/admin.js';
import { call } from './support/http.js';
import { offsetClock, type TestServer, useTestServer } from './support/test-server.js';

/** The installation tag inside a key: the 8 hex characters after `gk_`. */
const tagOf = (key: string) => key.slice(3, 11);

describe('API keys: every refusal names its reason', () => {
  let server: TestServer;
  let admin: string;
  const clock = offsetClock();
  useTestServer({ clock }, (started) => {
    server = started.server;
  });
  beforeAll(async () => {
    admin = await adminToken(server);
  });

  const verify = (key: string) => call(server.url, 'POST', '/v1/keys/verify', { body: { key } });
  const createKey = (clientId: string, body: Record<string, unknown>) =>
    call(server.url, 'POST', `/v1/admin/clients/${clientId}/keys`, { token: admin, body });

  it('refuses a truncated key as key_malformed, saying it is too short', async () => {
    const { key } = await clientWithKey(server, admin);
    for (const cut of [key.slice(0, -1), key.slice(0, -10)]) {
      const reply = await verify(cut);
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ valid: false, code: 'key_malformed' });
      expect(reply.body.detail).toContain(`${cut.length} characters`);
    }
  });

  it('refuses a key with one character of its secret changed as key_malformed, by its checksum', async () => {
    const { key } = await clientWithKey(server, admin);
    const at = 30;
    const typo = `${key.slice(0, at)}${key[at] === 'a' ? 'b' : 'a'}${key.slice(at + 1)}`;
    const reply = await verify(typo);
    expect(reply.body).toMatchObject({ valid: false, code: 'key_malformed' });
    expect(reply.body.detail).toContain('checksum');
  });

  it('refuses something that is not a key at all (a JWT pasted by mistake) as key_malformed', async () => {
    const reply = await verify(admin);
    expect(reply.body).toMatchObject({ valid: false, code: 'key_malformed' });
    expect(reply.body.detail).toContain('gk_');
  });

  describe('a key from another installation', () => {
    let other: TestServer;
    useTestServer({}, (started) => {
      other = started.server;
    });

    it('is key_not_found with a hint naming both installations', async () => {
      const { key: ours } = await clientWithKey(server, admin);
      const { key: theirs } = await clientWithKey(other, await adminToken(other));
      expect(tagOf(theirs)).not.toBe(tagOf(ours));

      const reply = await verify(theirs);
      expect(reply.body).toMatchObject({ valid: false, code: 'key_not_found' });
      expect(reply.body.hint).toContain(tagOf(theirs));
      expect(reply.body.hint).toContain(tagOf(ours));
    });
  });

  it('refuses a revoked key at once, although it was verified (and cached) a moment before', async () => {
    const { clientId, keyId, key } = await clientWithKey(server, admin);
    const { agent_id } = (
      await call(server.url, 'POST', '/v1/agents/register', { token: key, body: { name: 'doomed' } })
    ).body;
    expect((await verify(key)).body.valid).toBe(true);

    const revoked = await call(server.url, 'DELETE', `/v1/admin/keys/${keyId}`, { token: admin });
    expect(revoked.status).toBe(204);
    expect(revoked.text).toBe('');

    const reply = await verify(key);
    expect(reply.body).toMatchObject({ valid: false, code: 'key_revoked' });
    const [listed] = (await call(server.url, 'GET', `/v1/admin/clients/${clientId}/keys`, { token: admin }))
      .body.keys;
    expect(listed).toMatchObject({ id: keyId, status: 'revoked', replaced_by: null });
    expect(reply.body.hint).toContain(listed.revoked_at);

    const beat = await call(server.url, 'POST', `/v1/agents/${agent_id}/heartbeat`, { token: key, body: {} });
    expect(beat.status).toBe(401);
    expect(beat.body.code).toBe('key_revoked');
    expect(beat.headers.get('www-authenticate')).toContain('error_description="key_revoked"');
  });

  it('refuses a key of a suspended client as client_inactive, on verify and on a heartbeat', async () => {
    const { clientId, key } = await clientWithKey(server, admin);
    const { agent_id } = (
      await call(server.url, 'POST', '/v1/agents/register', { token: key, body: { name: 'benched' } })
    ).body;
    expect((await verify(key)).body.valid).toBe(true);

    const suspended = await call(server.url, 'PATCH', `/v1/admin/clients/${clientId}`, {
      token: admin,
      body: { status: 'suspended' },
    });
    expect(suspended.status).toBe(200);

    const reply = await verify(key);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ valid: false, code: 'client_inactive' });
    expect(reply.body.hint).toContain(clientId);

    const beat = await call(server.url, 'POST', `/v1/agents/${agent_id}/heartbeat`, { token: key, body: {} });
    expect(beat.status).toBe(401);
    expect(beat.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(beat.body.code).toBe('client_inactive');
    expect(beat.headers.get('www-authenticate')).toContain('error_description="client_inactive"');
  });

  it('refuses an expired key as key_expired, naming when it expired', async () => {
    const { clientId } = await clientWithKey(server, admin);
    const created = await createKey(clientId, { name: 'short-lived', expires_in: 60 });
    expect(created.status).toBe(201);
    expect(Date.parse(created.body.expires_at) - clock.now()).toBeGreaterThan(55_000);
    expect((await verify(created.body.key)).body.valid).toBe(true);

    clock.advance(61_000);
    const reply = await verify(created.body.key);
    expect(reply.body).toMatchObject({ valid: false, code: 'key_expired' });
    expect(reply.body.hint).toContain(created.body.expires_at);
  });

  it('answers verify with rate_limited once a key’s own rate limit is used up', async () => {
    const { clientId } = await clientWithKey(server, admin);
    const limited = await createKey(clientId, {
      name: 'metered',
      rate_limit: { limit: 3, window_seconds: 60 },
    });
    const other = await createKey(clientId, { name: 'unmetered' });
    for (let i = 0; i < 3; i++) expect((await verify(limited.body.key)).body.valid).toBe(true);
    const fourth = await verify(limited.body.key);
    expect(fourth.status).toBe(200);
    expect(fourth.body).toMatchObject({ valid: false, code: 'rate_limited' });
    expect((await verify(other.body.key)).body.valid).toBe(true);
  });

  it('refuses metadata over 4 KiB with 400 validation_failed', async () => {
    const { clientId } = await clientWithKey(server, admin);
    const reply = await createKey(clientId, { name: 'bloated', metadata: { blob: 'x'.repeat(5 * 1024) } });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ code: 'validation_failed' });
    expect(reply.body.detail).toContain('metadata');
  });

  it('refuses an unknown scope at creation with 400 validation_failed naming it', async () => {
    const { clientId } = await clientWithKey(server, admin);
    const reply = await createKey(clientId, { name: 'typo', scopes: ['agent', 'adminn'] });
    expect(reply.status).toBe(400);
    expect(reply.body.code).toBe('validation_failed');
    expect(reply.body.detail).toContain('adminn');
  });
});
