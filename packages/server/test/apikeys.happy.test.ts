import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { adminToken, clientWithKey } from './support/admin.js';
import { call } from './support/http.js';
import { offsetClock, type TestServer, useTestServer } from './support/test-server.js';

const sorted = (list: string[]) => [...list].sort();

describe('API keys: what works', () => {
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
  const keysOf = async (clientId: string) =>
    (await call(server.url, 'GET', `/v1/admin/clients/${clientId}/keys`, { token: admin })).body
      .keys as any[];
  /** The event of this type a request caused, found by its x-request-id. */
  const eventOf = async (keyId: string, type: string, reply: { headers: Headers }) => {
    const events = (
      await call(server.url, 'GET', `/v1/admin/events?key_id=${keyId}&type=${type}&limit=1000`, {
        token: admin,
      })
    ).body.events as any[];
    return events.find((event) => event.request_id === reply.headers.get('x-request-id'));
  };

  it('issues a key of the documented shape, shown in full once and by preview afterwards', async () => {
    const { clientId, keyId, key } = await clientWithKey(server, admin);
    expect(key).toMatch(/^gk_[0-9a-z]{8}_[0-9A-Za-z]{49}$/);
    const [listed] = await keysOf(clientId);
    expect(listed).toMatchObject({
      id: keyId,
      preview: `${key.slice(0, 12)}…${key.slice(-4)}`,
      scopes: ['agent'],
      status: 'active',
      last_used_at: null,
      replaced_by: null,
    });
    expect(listed).not.toHaveProperty('key');
  });

  describe('a key pasted with what copy-and-paste adds around it is still the key, and the event says what was stripped', () => {
    let clientId: string;
    let keyId: string;
    let key: string;
    beforeAll(async () => {
      ({ clientId, keyId, key } = await clientWithKey(server, admin));
    });

    it.each<[string, (key: string) => string, string[]]>([
      ['nothing around it', (k) => k, []],
      ['a trailing newline', (k) => `${k}\n`, ['whitespace']],
      ['spaces', (k) => `   ${k}  `, ['whitespace']],
      ['tabs and CRLF', (k) => `\t${k}\t\r\n`, ['whitespace']],
      ['double quotes', (k) => `"${k}"`, ['quotes']],
      ['single quotes', (k) => `'${k}'`, ['quotes']],
      ['a newline inside the quotes', (k) => `"${k}\n"`, ['quotes', 'whitespace']],
      ['a Bearer prefix', (k) => `Bearer ${k}`, ['bearer_prefix']],
      [
        'all of them: ` "Bearer gk_…"\\n`',
        (k) => ` "Bearer ${k}"\n`,
        ['whitespace', 'quotes', 'bearer_prefix'],
      ],
      [
        'a lowercase bearer in single quotes',
        (k) => `'bearer ${k}'\r\n`,
        ['whitespace', 'quotes', 'bearer_prefix'],
      ],
    ])('%s', async (_label, wrap, notes) => {
      const reply = await verify(wrap(key));
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({
        valid: true,
        client: { id: clientId },
        key: { id: keyId, preview: `${key.slice(0, 12)}…${key.slice(-4)}`, scopes: ['agent'] },
      });
      expect(sorted(reply.body.notes)).toEqual(sorted(notes));

      if (notes.length) {
        const event = await eventOf(keyId, 'key.verify', reply);
        expect(event).toMatchObject({ type: 'key.verify', code: 'ok', client_id: clientId });
        expect(sorted(event.detail.stripped)).toEqual(sorted(notes));
      } else {
        // A clean acceptance is tallied (one event per key per interval with a count), not written per request.
        const events = (
          await call(server.url, 'GET', `/v1/admin/events?key_id=${keyId}&type=key.verify`, { token: admin })
        ).body.events as any[];
        const tally = events.find((event) => event.detail?.count !== undefined);
        expect(tally).toMatchObject({ code: 'ok', client_id: clientId, request_id: null });
        expect(tally.detail.count).toBeGreaterThanOrEqual(1);
      }
    });

    it('on the agent routes, a quoted key or a doubled "Bearer" in Authorization authenticates, and the event notes it', async () => {
      const registered = await call(server.url, 'POST', '/v1/agents/register', {
        headers: { authorization: `Bearer "${key}"` },
        body: { name: 'pasted-agent' },
      });
      expect(registered.status).toBe(201);
      expect(await eventOf(keyId, 'key.auth', registered)).toMatchObject({
        code: 'ok',
        detail: { stripped: ['quotes'] },
      });

      const beat = await call(server.url, 'POST', `/v1/agents/${registered.body.agent_id}/heartbeat`, {
        headers: { authorization: `Bearer Bearer ${key}` },
        body: { status: 'running' },
      });
      expect(beat.status).toBe(200);
      expect(beat.body.ok).toBe(true);
      expect(await eventOf(keyId, 'agent.heartbeat', beat)).toMatchObject({
        type: 'agent.heartbeat',
        code: 'ok',
        detail: { stripped: ['bearer_prefix'] },
      });
    });

    // Regression: a quoted admin key on the admin API was taken for a JWT (401 token_malformed, action sign_out).
    it('on the admin API too, a quoted admin key or a doubled "Bearer" authenticates', async () => {
      const { key: adminKey } = await clientWithKey(server, admin, ['admin']);
      for (const authorization of [`Bearer "${adminKey}"`, `Bearer Bearer ${adminKey}`]) {
        const reply = await call(server.url, 'GET', '/v1/admin/clients', { headers: { authorization } });
        expect(reply.status, `${authorization.slice(0, 10)}…: ${reply.body.code}`).toBe(200);
      }
    });
  });

  it('clean acceptances are tallied per key: one ok event each, with the count and the first and last time', async () => {
    const { clientId } = await clientWithKey(server, admin);
    const issue = async (name: string) =>
      (await call(server.url, 'POST', `/v1/admin/clients/${clientId}/keys`, { token: admin, body: { name } }))
        .body as { id: string; key: string };
    const [busy, quiet] = [await issue('busy'), await issue('quiet')];
    const started = clock.now();
    for (let check = 0; check < 3; check++) expect((await verify(busy.key)).body.valid).toBe(true);
    expect((await verify(quiet.key)).body.valid).toBe(true);
    const talliesOf = async (keyId: string) =>
      (
        (await call(server.url, 'GET', `/v1/admin/events?key_id=${keyId}&type=key.verify`, { token: admin }))
          .body.events as any[]
      ).filter((event) => event.detail?.count !== undefined);
    const [busyTallies, quietTallies] = [await talliesOf(busy.id), await talliesOf(quiet.id)];
    expect(busyTallies).toHaveLength(1);
    expect(quietTallies).toHaveLength(1);
    expect(busyTallies[0]).toMatchObject({
      code: 'ok',
      key_id: busy.id,
      client_id: clientId,
      detail: { count: 3 },
    });
    expect(quietTallies[0]).toMatchObject({ key_id: quiet.id, detail: { count: 1 } });
    const { first_at, last_at } = busyTallies[0].detail;
    expect(Date.parse(first_at)).toBeGreaterThanOrEqual(started);
    expect(Date.parse(last_at)).toBeGreaterThanOrEqual(Date.parse(first_at));
  });

  it('a key answered from the cache is still diagnosed check by check, its form included', async () => {
    const { key } = await clientWithKey(server, admin);
    for (let check = 0; check < 2; check++) expect((await verify(key)).body.valid).toBe(true);
    const diagnosis = await call(server.url, 'POST', '/v1/admin/diagnose', {
      token: admin,
      body: { token: key },
    });
    expect(diagnosis.status).toBe(200);
    expect(diagnosis.body.checks.map(({ name, ok }: { name: string; ok: boolean }) => [name, ok])).toEqual([
      ['input', true],
      ['format', true],
      ['installation', true],
      ['lookup', true],
      ['revocation', true],
      ['expiry', true],
      ['client', true],
      ['rate_limit', true],
    ]);
  });

  it('returns a key’s metadata (up to 4 KiB) from verify and shows it, with its rate limit, in the listing', async () => {
    const { clientId } = await clientWithKey(server, admin);
    const metadata = { region: 'eu-west-1', tier: 3, tags: ['edge', 'blue'], pad: 'x'.repeat(3900) };
    expect(Buffer.byteLength(JSON.stringify(metadata))).toBeLessThanOrEqual(4096);
    const created = await call(server.url, 'POST', `/v1/admin/clients/${clientId}/keys`, {
      token: admin,
      body: { name: 'with-metadata', metadata, rate_limit: { limit: 100, window_seconds: 60 } },
    });
    expect(created.status).toBe(201);

    const reply = await verify(created.body.key);
    expect(reply.body).toMatchObject({ valid: true, key: { id: created.body.id, metadata } });
    const listed = (await keysOf(clientId)).find((k) => k.id === created.body.id);
    expect(listed).toMatchObject({ metadata, rate_limit: { limit: 100, window_seconds: 60 } });
  });

  it('rotation: both keys work during the grace period; afterwards the old one is key_revoked naming when and its successor', async () => {
    const { clientId, keyId, key } = await clientWithKey(server, admin);
    const rotated = await call(server.url, 'POST', `/v1/admin/keys/${keyId}/rotate`, {
      token: admin,
      body: { grace_seconds: 60 },
    });
    expect(rotated.status).toBe(201);
    const successor = rotated.body as { id: string; key: string; preview: string; scopes: string[] };
    expect(successor.id).not.toBe(keyId);
    expect(successor.key).not.toBe(key);
    expect(successor.scopes).toEqual(['agent']);

    expect((await verify(key)).body).toMatchObject({ valid: true, key: { id: keyId } });
    expect((await verify(successor.key)).body).toMatchObject({ valid: true, key: { id: successor.id } });
    const during = await keysOf(clientId);
    expect(during.find((k) => k.id === keyId)).toMatchObject({
      status: 'rotating',
      replaced_by: { id: successor.id, preview: successor.preview },
    });

    clock.advance(61_000);
    const old = await verify(key);
    expect(old.body).toMatchObject({ valid: false, code: 'key_revoked' });
    const after = await keysOf(clientId);
    const oldView = after.find((k) => k.id === keyId);
    expect(oldView).toMatchObject({
      status: 'revoked',
      replaced_by: { id: successor.id, preview: successor.preview },
    });
    expect(after.find((k) => k.id === successor.id)).toMatchObject({ status: 'active', replaced_by: null });
    expect(old.body.hint).toContain(oldView.revoked_at);
    expect(old.body.hint).toContain(successor.preview);
    expect((await verify(successor.key)).body).toMatchObject({ valid: true, key: { id: successor.id } });
  });

  it('records last_used_at within the batch writer’s interval (every 5 s) after a verify', async () => {
    const { clientId, keyId, key } = await clientWithKey(server, admin);
    const before = clock.now();
    expect((await verify(key)).body.valid).toBe(true);
    const after = clock.now();

    let lastUsed: string | null = null;
    for (const deadline = Date.now() + 7000; Date.now() < deadline && !lastUsed; await sleep(200)) {
      lastUsed = (await keysOf(clientId)).find((k) => k.id === keyId).last_used_at;
    }
    expect(lastUsed).not.toBeNull();
    expect(Date.parse(lastUsed!)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(lastUsed!)).toBeLessThanOrEqual(after);
  });
});
