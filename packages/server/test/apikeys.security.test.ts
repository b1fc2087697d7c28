import { beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey, installationTag } from '../src/apikeys/key-format.js';
import { adminToken, clientWithKey } from './support/admin.js';
import { gatehouseCli } from './support/cli.js';
import { call, type Reply, signUp } from './support/http.js';
import { type TestServer, useTestServer } from './support/test-server.js';

const median = (samples: number[]) => {
  const ordered = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(ordered.length / 2);
  return ordered.length % 2 ? ordered[middle]! : (ordered[middle - 1]! + ordered[middle]!) / 2;
};

// Guards against a lookup that answers faster when the part of a key before the secret is known (e.g. a
// prefix index, then a comparison of the secret): the time would tell an attacker which prefixes exist.
describe('verify takes as long for an unknown key as for a wrong secret behind a real key’s prefix', () => {
  let server: TestServer;
  let admin: string;
  useTestServer({ env: { GATEHOUSE_KEY_VERIFY_RATE_LIMIT: '0' } }, (started) => {
    server = started.server;
  });
  beforeAll(async () => {
    admin = await adminToken(server);
  });

  it('has medians within 0.8–1.25 of each other over 300 interleaved requests each', async () => {
    const { key: real } = await clientWithKey(server, admin);
    const tag = installationTag(server.gatehouse.installation.id);
    const rounds = 300;
    const warmUp = 50;
    // Well-formed keys (valid checksum, our installation tag) that were never issued.
    const unknown = Array.from({ length: rounds + warmUp }, () => generateApiKey(tag));
    // The same shape built from a real key's prefix (all a preview shows before the secret), another secret.
    const wrongSecret = Array.from({ length: rounds + warmUp }, () => generateApiKey(tag));
    expect(wrongSecret.every((key) => key.slice(0, 12) === real.slice(0, 12) && key !== real)).toBe(true);

    const codes = new Set<string>();
    const timed = async (key: string) => {
      const started = performance.now();
      const response = await fetch(`${server.url}/v1/keys/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key }),
      });
      const body = (await response.json()) as { valid: boolean; code?: string };
      const elapsed = performance.now() - started;
      codes.add(body.valid ? 'valid' : body.code!);
      return elapsed;
    };

    const samples = { unknown: [] as number[], wrongSecret: [] as number[], real: [] as number[] };
    for (let i = 0; i < rounds + warmUp; i++) {
      // Alternate which kind goes first, so each follows the other equally often.
      const pair = [
        ['unknown', unknown[i]!],
        ['wrongSecret', wrongSecret[i]!],
      ] as const;
      for (const [kind, key] of i % 2 ? [pair[1], pair[0]] : pair) {
        const elapsed = await timed(key);
        if (i >= warmUp) samples[kind].push(elapsed);
      }
    }
    // For information only: a valid key is answered from the in-memory cache.
    for (let i = 0; i < rounds; i++) samples.real.push(await timed(real));

    expect([...codes].sort()).toEqual(['key_not_found', 'valid']);
    const ratio = median(samples.unknown) / median(samples.wrongSecret);
    console.info(
      `verify medians (ms): unknown ${median(samples.unknown).toFixed(3)}, wrong secret ${median(samples.wrongSecret).toFixed(3)}, valid ${median(samples.real).toFixed(3)}; ratio ${ratio.toFixed(3)}`,
    );
    expect(ratio).toBeGreaterThanOrEqual(0.8);
    expect(ratio).toBeLessThanOrEqual(1.25);
  });
});

describe('a key’s secret appears in no log line, no event and no response after the one that issued it', () => {
  let server: TestServer;
  let admin: string;
  const logLines: string[] = [];
  useTestServer({ logs: { write: (line) => logLines.push(line) } }, (started) => {
    server = started.server;
  });
  beforeAll(async () => {
    admin = await adminToken(server);
  });

  it('holds for keys created by the admin API and the CLI, used well and badly everywhere a key is taken', async () => {
    const { clientId, key: agentKey } = await clientWithKey(server, admin, ['agent']);
    const created = async (scopes: string[]) => {
      const reply = await call(server.url, 'POST', `/v1/admin/clients/${clientId}/keys`, {
        token: admin,
        body: { name: scopes.join('+'), scopes },
      });
      expect(reply.status).toBe(201);
      return reply.body.key as string;
    };
    const multiKey = await created(['agent', 'introspect']);
    const adminKey = await created(['admin']);
    const cli = await gatehouseCli(
      ['api-keys', 'create', '--client', clientId, '--name', 'from-cli', '--json'],
      server.env,
    );
    expect(cli.code).toBe(0);
    const cliKey = JSON.parse(cli.stdout).key as string;
    const keys = [agentKey, multiKey, adminKey, cliKey];
    for (const key of keys) expect(key).toMatch(/^gk_/);

    // Everything below is after creation: none of these answers may carry a key.
    const replies: Reply[] = [];
    const send = async (...args: Parameters<typeof call>) => {
      const reply = await call(...args);
      replies.push(reply);
      return reply;
    };
    const mistyped = (key: string) => `${key.slice(0, 54)}${key[54] === 'a' ? 'b' : 'a'}${key.slice(55)}`;
    const basic = (id: string, secret: string) =>
      `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

    for (const key of keys) {
      expect((await send(server.url, 'POST', '/v1/keys/verify', { body: { key } })).body.valid).toBe(true);
      for (const bad of [`${key}garbage`, `${key} and more`, ` "Bearer ${key}x"\n`, mistyped(key)]) {
        expect((await send(server.url, 'POST', '/v1/keys/verify', { body: { key: bad } })).body.valid).toBe(
          false,
        );
      }
      expect(
        (await send(server.url, 'POST', '/v1/keys/verify', { body: { key: key.repeat(80) } })).status,
      ).toBe(400);
    }

    const registered = await send(server.url, 'POST', '/v1/agents/register', {
      token: agentKey,
      body: { name: 'leak-check', hostname: 'box-1' },
    });
    expect(registered.status).toBe(201);
    const beat = (token: string) =>
      send(server.url, 'POST', `/v1/agents/${registered.body.agent_id}/heartbeat`, { token, body: {} });
    expect((await beat(agentKey)).status).toBe(200);
    expect((await beat(`${agentKey}garbage`)).status).toBe(401);
    expect((await beat(mistyped(agentKey))).status).toBe(401);
    expect((await beat(adminKey)).status).toBe(403);
    expect(
      (await send(server.url, 'POST', '/v1/agents/register', { token: `${cliKey}zz`, body: { name: 'x' } }))
        .status,
    ).toBe(401);

    const token = (init: Parameters<typeof call>[3]) => send(server.url, 'POST', '/oauth/token', init);
    expect(
      (await token({ form: { grant_type: 'client_credentials', client_secret: agentKey } })).status,
    ).toBe(200);
    expect(
      (
        await token({
          form: { grant_type: 'client_credentials' },
          headers: { authorization: basic(clientId, cliKey) },
        })
      ).status,
    ).toBe(200);
    expect(
      (await token({ body: { grant_type: 'client_credentials', client_secret: multiKey } })).status,
    ).toBe(200);
    expect(
      (await token({ form: { grant_type: 'client_credentials', client_secret: `${agentKey}garbage` } }))
        .status,
    ).toBe(401);
    expect(
      (await token({ form: { grant_type: 'client_credentials', client_secret: agentKey, scope: 'admin' } }))
        .status,
    ).toBe(400);
    expect(
      (
        await token({
          form: { grant_type: 'client_credentials', client_id: 'someone-else', client_secret: agentKey },
        })
      ).status,
    ).toBe(401);
    expect((await token({ form: { grant_type: 'refresh_token', refresh_token: agentKey } })).status).toBe(
      400,
    );

    expect((await send(server.url, 'GET', '/v1/admin/clients', { token: adminKey })).status).toBe(200);
    expect((await send(server.url, 'GET', '/v1/admin/clients', { token: `${adminKey}x` })).status).toBe(401);
    expect((await send(server.url, 'GET', '/v1/admin/clients', { token: agentKey })).status).toBe(403);
    const user = await signUp(server.url);
    expect(
      (
        await send(server.url, 'POST', '/oauth/introspect', {
          token: multiKey,
          form: { token: user.access_token },
        })
      ).body.active,
    ).toBe(true);
    // RFC 7662: a key this server issued introspects as active, with its client and scopes, never itself.
    expect(
      (await send(server.url, 'POST', '/oauth/introspect', { token: admin, form: { token: agentKey } })).body
        .active,
    ).toBe(true);
    expect((await send(server.url, 'POST', '/oauth/revoke', { form: { token: agentKey } })).status).toBe(200);

    for (const key of [agentKey, `${adminKey}garbage`, mistyped(cliKey)]) {
      const diagnosis = await send(server.url, 'POST', '/v1/admin/diagnose', {
        token: admin,
        body: { token: key },
      });
      expect(diagnosis.body.kind).toBe('api_key');
    }
    const doctor = await gatehouseCli(['doctor', 'token', multiKey], server.env);
    expect(doctor.stdout).toContain('api_key');

    // Every admin view there is, as an operator would read them.
    const get = (path: string) => send(server.url, 'GET', path, { token: admin });
    const clients = (await get('/v1/admin/clients')).body.clients as { id: string }[];
    for (const client of clients) {
      await get(`/v1/admin/clients/${client.id}`);
      expect((await get(`/v1/admin/clients/${client.id}/keys`)).status).toBe(200);
    }
    expect((await get('/v1/admin/agents')).status).toBe(200);
    expect((await get('/metrics')).status).toBe(200);
    const events = await get('/v1/admin/events?limit=1000');
    expect(events.status).toBe(200);
    const cliList = await gatehouseCli(['clients', 'list', '--json'], server.env);
    expect(cliList.code).toBe(0);

    // The checks can fail: the views and logs are there, and name the keys by preview.
    const previews = keys.map((key) => `${key.slice(0, 12)}…${key.slice(-4)}`);
    expect(events.text).toContain(previews[0]);
    expect(cliList.stdout).toContain(previews[3]);
    expect(logLines.length).toBeGreaterThan(10);

    const places = [
      ...replies.map((reply, i) => [`response #${i} (${reply.status})`, reply.text] as const),
      ...logLines.map((line, i) => [`log line #${i}`, line] as const),
      ['cli create stderr', cli.stderr] as const,
      ['doctor token', doctor.stdout + doctor.stderr] as const,
      ['cli list', cliList.stdout + cliList.stderr] as const,
    ];
    const leaks: string[] = [];
    for (const key of keys) {
      const secrets = {
        'the key': key,
        'its secret': key.slice(12),
        'the secret’s first 20': key.slice(12, 32),
      };
      for (const [what, secret] of Object.entries(secrets)) {
        for (const [where, text] of places) {
          if (text.includes(secret))
            leaks.push(`${what} of ${previews[keys.indexOf(key)]} in ${where}: ${text.slice(0, 300)}`);
        }
      }
    }
    expect(leaks).toEqual([]);
  });
});

describe('a key does only what its scopes allow', () => {
  let server: TestServer;
  let admin: string;
  useTestServer({}, (started) => {
    server = started.server;
  });
  beforeAll(async () => {
    admin = await adminToken(server);
  });

  it('refuses an agent key on the admin API with 403 scope_insufficient naming "admin"', async () => {
    const { key } = await clientWithKey(server, admin, ['agent']);
    const reply = await call(server.url, 'GET', '/v1/admin/clients', { token: key });
    expect(reply.status).toBe(403);
    expect(reply.body.code).toBe('scope_insufficient');
    expect(reply.body.detail).toContain('admin');
    expect(reply.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(reply.headers.get('www-authenticate')).toContain('error_description="scope_insufficient"');
  });

  it('lets an admin key use the admin API, and names the key as the actor of what it did', async () => {
    const { keyId, key } = await clientWithKey(server, admin, ['admin']);
    const list = await call(server.url, 'GET', '/v1/admin/clients', { token: key });
    expect(list.status).toBe(200);
    expect(list.body.clients.length).toBeGreaterThan(0);

    const created = await call(server.url, 'POST', '/v1/admin/clients', {
      token: key,
      body: { name: 'made-by-automation' },
    });
    expect(created.status).toBe(201);
    const events = await call(
      server.url,
      'GET',
      `/v1/admin/events?type=client.create&client_id=${created.body.id}`,
      { token: admin },
    );
    expect(events.body.events).toHaveLength(1);
    expect(events.body.events[0]).toMatchObject({ code: 'ok', actor_id: keyId });
  });

  it('lets an introspect key call /oauth/introspect, and refuses an agent key there with 403', async () => {
    const user = await signUp(server.url);
    const { key: introspectKey } = await clientWithKey(server, admin, ['introspect']);
    const allowed = await call(server.url, 'POST', '/oauth/introspect', {
      token: introspectKey,
      form: { token: user.access_token },
    });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toMatchObject({ active: true, sub: user.user.id });

    const { key: agentKey } = await clientWithKey(server, admin, ['agent']);
    const refused = await call(server.url, 'POST', '/oauth/introspect', {
      token: agentKey,
      form: { token: user.access_token },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('scope_insufficient');
    expect(refused.body.detail).toContain('introspect');
  });
});
