import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { gatehouseCli } from './support/cli.js';
import { call, type Reply } from './support/http.js';
import type { TestDatabase } from './support/test-database.js';
import { type TestServer, useTestServer } from './support/test-server.js';

/**
 * The CLI runs in another process, so the server's in-memory key cache learns of its changes only after
 * GATEHOUSE_CACHE_SECONDS (1 s by default): retry a request until it gives the expected answer, for up to 3 s.
 */
async function eventually(request: () => Promise<Reply>, done: (reply: Reply) => boolean): Promise<Reply> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const reply = await request();
    if (done(reply) || Date.now() > deadline) return reply;
    await sleep(100);
  }
}

describe('gatehouse clients / api-keys against a running server', () => {
  let database: TestDatabase;
  let server: TestServer;
  useTestServer({}, ({ server: started, database: startedDatabase }) => {
    server = started;
    database = startedDatabase;
  });

  const cli = async (...args: string[]) => {
    const result = await gatehouseCli(args, server.env);
    expect(result.code, `gatehouse ${args.join(' ')}: ${result.stderr}`).toBe(0);
    return result;
  };
  const cliJson = async (...args: string[]) => JSON.parse((await cli(...args, '--json')).stdout);
  const verify = (key: string) => call(server.url, 'POST', '/v1/keys/verify', { body: { key } });

  it('creates a client and a key, shows a refused heartbeat in `clients list`, and lets the agent back in on activate', async () => {
    const client = await cliJson('clients', 'create', '--name', 'edge-fleet');
    expect(client).toMatchObject({ id: expect.any(String), name: 'edge-fleet', status: 'active' });

    const created = await cli(
      'api-keys',
      'create',
      '--client',
      client.id,
      '--name',
      'n',
      '--scopes',
      'agent',
      '--json',
    );
    const issued = JSON.parse(created.stdout);
    expect(issued).toMatchObject({ key: expect.stringMatching(/^gk_/), scopes: ['agent'], expires_at: null });
    expect(created.stdout.split(issued.key)).toHaveLength(2);
    expect((await verify(issued.key)).body).toMatchObject({ valid: true, client: { id: client.id } });

    const { agent_id } = (
      await call(server.url, 'POST', '/v1/agents/register', {
        token: issued.key,
        body: { name: 'edge-7', hostname: 'edge-7.internal' },
      })
    ).body;
    let lastBeatAt = '';
    const heartbeat = async () => {
      const reply = await call(server.url, 'POST', `/v1/agents/${agent_id}/heartbeat`, {
        token: issued.key,
        body: {},
      });
      if (reply.status === 200) lastBeatAt = reply.body.server_time;
      return reply;
    };
    expect((await heartbeat()).status).toBe(200);

    expect((await cli('clients', 'suspend', client.id)).stdout).toContain('suspended');
    const refused = await eventually(heartbeat, (reply) => reply.status === 401);
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('client_inactive');

    const section = blockOf((await cli('clients', 'list')).stdout, client.id);
    expect(section).toContain(`${client.id}  suspended since`);
    expect(section).toContain(`key   "n" ${issued.preview}`);
    expect(section).toMatch(new RegExp(`${escapeRegExp(issued.preview)}\\s+active`));
    expect(section).toContain(`agent edge-7 (${agent_id})`);
    expect(section).toContain(`last heartbeat ${lastBeatAt}`);
    expect(section).toContain('last auth client_inactive');

    await cli('clients', 'activate', client.id);
    const again = await eventually(heartbeat, (reply) => reply.status === 200);
    expect(again.status).toBe(200);
    expect(blockOf((await cli('clients', 'list')).stdout, client.id)).toContain('last auth ok');
  });

  it('rotates with --grace 0 (the old key is key_revoked at once, naming its successor) and revokes', async () => {
    const client = await cliJson('clients', 'create', '--name', 'batch-jobs');
    const old = await cliJson('api-keys', 'create', '--client', client.id, '--name', 'cron');
    expect((await verify(old.key)).body.valid).toBe(true);

    const successor = await cliJson('api-keys', 'rotate', old.id, '--grace', '0');
    expect(successor).toMatchObject({
      key: expect.stringMatching(/^gk_/),
      scopes: ['agent'],
      replaces: { id: old.id, usable_until: expect.any(String) },
    });
    expect(successor.id).not.toBe(old.id);
    const refused = await eventually(
      () => verify(old.key),
      (reply) => reply.body.valid === false,
    );
    expect(refused.body).toMatchObject({ valid: false, code: 'key_revoked' });
    expect(refused.body.hint).toContain(successor.preview);
    expect((await verify(successor.key)).body.valid).toBe(true);

    const keys = (await cliJson('api-keys', 'list', '--client', client.id)).keys as any[];
    expect(keys.find((k) => k.id === old.id)).toMatchObject({
      status: 'revoked',
      replaced_by: { id: successor.id, preview: successor.preview },
    });
    expect(blockOf((await cli('clients', 'list')).stdout, client.id)).toContain(
      `replaced by ${successor.preview}`,
    );

    const listed = (await cli('api-keys', 'list', '--client', client.id)).stdout;
    expect(listed).toContain(`${successor.preview}  "cron"  ${successor.id}`);
    const graceful = (await cli('api-keys', 'rotate', successor.id, '--grace', '3600')).stdout;
    const until = /keeps working until (\S+)\./.exec(graceful)?.[1];
    expect(Date.parse(until ?? '') - Date.now()).toBeGreaterThan(3_500_000);

    expect((await cli('api-keys', 'revoke', successor.id)).stdout).toContain('revoked');
    const revoked = await eventually(
      () => verify(successor.key),
      (reply) => reply.body.valid === false,
    );
    expect(revoked.body).toMatchObject({ valid: false, code: 'key_revoked' });
  });

  it('fails with a reason and a non-zero exit for an unknown client or scope', async () => {
    const unknownClient = await gatehouseCli(
      ['api-keys', 'create', '--client', '01a20b25-0000-7000-8000-000000000000', '--name', 'x'],
      server.env,
    );
    expect(unknownClient.code).not.toBe(0);
    expect(unknownClient.stderr).toContain('client_not_found');

    const client = await cliJson('clients', 'create', '--name', 'typos');
    const badScope = await gatehouseCli(
      ['api-keys', 'create', '--client', client.id, '--name', 'x', '--scopes', 'agent,root'],
      server.env,
    );
    expect(badScope.code).not.toBe(0);
    expect(badScope.stderr).toContain('validation_failed');
    expect(badScope.stderr).toContain('root');
  });

  // Regression: `doctor token` lost --json, --data-dir and --database-url to its parent command.
  it('`gatehouse doctor token KEY --json --data-dir DIR` explains the key as JSON, on that installation', async () => {
    const client = await cliJson('clients', 'create', '--name', 'doctor-patient');
    const { key } = await cliJson('api-keys', 'create', '--client', client.id, '--name', 'x');
    // The environment names a decoy installation; the flags must win over it.
    const decoy = await mkdtemp(path.join(tmpdir(), 'gatehouse-decoy-'));
    try {
      const result = await gatehouseCli(
        ['doctor', 'token', key, '--json', '--data-dir', database.dataDir, '--database-url', database.url],
        { ...server.env, GATEHOUSE_DATA_DIR: decoy, GATEHOUSE_DATABASE_URL: `sqlite:${decoy}/decoy.db` },
      );
      expect(result.stdout.trimStart().startsWith('{'), result.stdout).toBe(true);
      expect(JSON.parse(result.stdout)).toMatchObject({ kind: 'api_key', valid: true });
      expect(result.code).toBe(0);
    } finally {
      await rm(decoy, { recursive: true, force: true });
    }
  });
});

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One client's lines of `gatehouse clients list`: its header line (● or ○) and the indented lines under it. */
function blockOf(listing: string, clientId: string): string {
  const blocks = listing.split(/\n(?=[●○] )/);
  const block = blocks.find((text) => text.split('\n')[0]!.includes(clientId));
  if (!block) throw new Error(`client ${clientId} is not in the listing:\n${listing}`);
  return block;
}
