import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouseCli } from './support/cli.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';
import { freePort, startTestServer } from './support/test-server.js';

const bin = fileURLToPath(new URL('../bin/gatehouse.js', import.meta.url));
/** The machine's Redis; each test database is its own installation, so its channel is its own. */
const REDIS_URL = process.env.GATEHOUSE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const STACK_FRAME = /^\s+at /m;

describe('the CLI with Redis: no false alarm, every change announced', () => {
  let database: TestDatabase;
  let env: Record<string, string>;
  let listener: Redis;
  const heard: { kind: string; id: string }[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
    env = {
      GATEHOUSE_DATA_DIR: database.dataDir,
      GATEHOUSE_DATABASE_URL: database.url,
      GATEHOUSE_REDIS_URL: REDIS_URL,
    };
    listener = new Redis(REDIS_URL);
    await listener.psubscribe('gatehouse:*:changes');
    listener.on('pmessage', (_pattern: string, _channel: string, message: string) => {
      heard.push(JSON.parse(message) as { kind: string; id: string });
    });
  });
  afterAll(async () => {
    listener?.disconnect();
    await database?.drop();
  });

  // The incident: one write command in three warned "redis unavailable" with a stack trace while Redis was
  // up (fleet.redis.test.ts pins down both causes); end to end, commands say nothing and announce every change.
  it('suspend and activate, twice: each exits 0 with nothing on stderr, and each change is published', async () => {
    const created = await gatehouseCli(['clients', 'create', '--name', 'announced', '--json'], env);
    expect(created.stderr).toBe('');
    const client = JSON.parse(created.stdout) as { id: string };
    for (let round = 0; round < 2; round++) {
      for (const command of ['suspend', 'activate']) {
        const result = await gatehouseCli(['clients', command, client.id], env);
        expect(result.code, result.stderr).toBe(0);
        expect(result.stderr).toBe('');
      }
    }
    await expect
      .poll(() => heard.filter((change) => change.kind === 'client' && change.id === client.id).length)
      .toBe(4);
  });

  it('with Redis down, a command still succeeds and warns once, in one line without a stack trace', async () => {
    const created = await gatehouseCli(['clients', 'create', '--name', 'no redis', '--json'], env);
    const client = JSON.parse(created.stdout) as { id: string };
    const deadRedis = `redis://127.0.0.1:${await freePort()}`;
    const result = await gatehouseCli(['clients', 'suspend', client.id], {
      ...env,
      GATEHOUSE_REDIS_URL: deadRedis,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /^gatehouse: warn: redis unavailable: .* \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)\n$/,
    );
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('`gatehouse events | head`', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    const server = await startTestServer(database);
    for (let i = 0; i < 3000; i++) {
      server.gatehouse.events.record({ type: 'login', code: 'invalid_credentials', detail: { attempt: i } });
    }
    await server.gatehouse.events.flush();
    await server.close();
  });
  afterAll(async () => {
    await database?.drop();
  });

  // Regression: the reader closing the pipe crashed the command with an unhandled EPIPE and its stack.
  it('stops quietly, exit 0, when `head` has its line and closes the pipe', async () => {
    const pipeline = `"${process.execPath}" "${bin}" events --limit 5000 | head -n 1 >/dev/null; exit \${PIPESTATUS[0]}`;
    const child = spawn('bash', ['-c', pipeline], {
      env: { ...process.env, GATEHOUSE_DATA_DIR: database.dataDir, GATEHOUSE_DATABASE_URL: database.url },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = await once(child, 'exit');
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
