import { beforeAll, describe, expect, it } from 'vitest';
import { adminToken, clientWithKey } from './support/admin.js';
import { call } from './support/http.js';
import { offsetClock, type TestServer, useTestServer } from './support/test-server.js';

// The incident: an agent registers fine, then every heartbeat fails with a bare 401 and nobody can say why.
describe('an agent whose client is suspended is told why, and so is the operator', () => {
  let server: TestServer;
  let admin: string;
  const clock = offsetClock();
  useTestServer({ clock }, (started) => {
    server = started.server;
  });
  beforeAll(async () => {
    admin = await adminToken(server);
  });

  const heartbeat = (agentId: string, key: string) =>
    call(server.url, 'POST', `/v1/agents/${agentId}/heartbeat`, { token: key, body: { status: 'running' } });
  const agentsList = async () =>
    (await call(server.url, 'GET', '/v1/admin/agents', { token: admin })).body.agents;

  it('register → heartbeat OK → suspend → 401 client_inactive with a hint, visible to the admin → activate → OK at once', async () => {
    const { clientId, key } = await clientWithKey(server, admin);
    const registered = await call(server.url, 'POST', '/v1/agents/register', {
      token: key,
      body: { name: 'spot-agent', hostname: 'ip-10-0-0-7', version: '5.2' },
    });
    expect(registered.status).toBe(201);
    const agentId = registered.body.agent_id;

    const ok = await heartbeat(agentId, key);
    expect(ok.status).toBe(200);
    expect(ok.body.ok).toBe(true);
    expect(Date.parse(ok.body.server_time)).not.toBeNaN();

    const suspend = await call(server.url, 'PATCH', `/v1/admin/clients/${clientId}`, {
      token: admin,
      body: { status: 'suspended' },
    });
    expect(suspend.status).toBe(200);

    const refused = await heartbeat(agentId, key);
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('client_inactive');
    expect(refused.body.hint).toContain('suspended');
    expect(refused.body.hint).toContain(clientId);
    expect(refused.headers.get('www-authenticate')).toContain('error_description="client_inactive"');

    const listed = (await agentsList()).find((a: { id: string }) => a.id === agentId);
    expect(listed).toMatchObject({
      client_id: clientId,
      name: 'spot-agent',
      last_auth_code: 'client_inactive',
      status: 'online',
    });

    const events = await call(
      server.url,
      'GET',
      `/v1/admin/events?agent_id=${agentId}&code=client_inactive`,
      { token: admin },
    );
    expect(events.body.events).toHaveLength(1);
    expect(events.body.events[0]).toMatchObject({
      type: 'agent.heartbeat',
      client_id: clientId,
      request_id: refused.body.request_id,
    });

    await call(server.url, 'PATCH', `/v1/admin/clients/${clientId}`, {
      token: admin,
      body: { status: 'active' },
    });
    const again = await heartbeat(agentId, key);
    expect(again.status).toBe(200);
    expect((await agentsList()).find((a: { id: string }) => a.id === agentId).last_auth_code).toBe('ok');
  });

  // Regression: an agent that registered at every start became a new agent each time.
  it('registers a name once per client: again answers 200 with the same agent, at once or one after another', async () => {
    const { key } = await clientWithKey(server, admin);
    const register = (name: string, token = key) =>
      call(server.url, 'POST', '/v1/agents/register', { token, body: { name, hostname: 'ip-10-0-0-9' } });
    const first = await register('batch-agent');
    expect(first.status).toBe(201);
    const again = await register(' batch-agent ');
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ agent_id: first.body.agent_id });

    const together = await Promise.all(Array.from({ length: 5 }, () => register('burst-agent')));
    expect(together.map((reply) => reply.status).sort()).toEqual([200, 200, 200, 200, 201]);
    expect(new Set(together.map((reply) => reply.body.agent_id)).size).toBe(1);

    const elsewhere = await register('batch-agent', (await clientWithKey(server, admin)).key);
    expect(elsewhere.status).toBe(201);
    expect(elsewhere.body.agent_id).not.toBe(first.body.agent_id);
    const named = (await agentsList()).filter((agent: { name: string }) => agent.name === 'batch-agent');
    expect(named).toHaveLength(2);
  });

  it('answers an unknown agent with 404 agent_not_found, and a missing key with 401 token_missing', async () => {
    const { key } = await clientWithKey(server, admin);
    const unknown = await heartbeat('01a20b25-0000-7000-8000-000000000000', key);
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('agent_not_found');
    const missing = await call(
      server.url,
      'POST',
      '/v1/agents/01a20b25-0000-7000-8000-000000000000/heartbeat',
      { body: {} },
    );
    expect(missing.status).toBe(401);
    expect(missing.body.code).toBe('token_missing');
  });

  it('lists an agent offline once GATEHOUSE_AGENT_HEARTBEAT_TIMEOUT passes without a heartbeat', async () => {
    const { key } = await clientWithKey(server, admin);
    const { agent_id } = (
      await call(server.url, 'POST', '/v1/agents/register', { token: key, body: { name: 'quiet' } })
    ).body;
    const statusOf = async () => (await agentsList()).find((a: { id: string }) => a.id === agent_id).status;
    expect(await statusOf()).toBe('online');
    clock.advance(91_000);
    expect(await statusOf()).toBe('offline');
    await heartbeat(agent_id, key);
    expect(await statusOf()).toBe('online');
  });
});
