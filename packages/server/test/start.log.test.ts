import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { gatehouseCli } from './support/cli.js';
import { freePort } from './support/test-server.js';

// The incident: a second instance behind a balancer logged "listening on" the public URL's port, not its
// own; the log said nothing of Redis; and the first-admin hint sent the operator to another data directory.

const bin = fileURLToPath(new URL('../bin/gatehouse.js', import.meta.url));
const REDIS_URL = process.env.GATEHOUSE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const MASTER_KEY = Buffer.alloc(32, 9).toString('base64url');

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

interface Started {
  child: ChildProcess;
  lines: LogLine[];
  stderr: string;
}

const running: ChildProcess[] = [];

/** `gatehouse start` with these flags, once it has logged its listening line (or has exited). */
async function start(
  args: string[],
  env: Record<string, string>,
): Promise<Started & { code: number | null }> {
  const child = spawn(process.execPath, [bin, 'start', ...args], {
    env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  const started: Started = { child, lines: [], stderr: '' };
  child.stderr?.on('data', (chunk: Buffer) => {
    started.stderr += chunk.toString();
  });
  let partial = '';
  const listening = new Promise<void>((resolve) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const complete = text.split('\n');
      partial = complete.pop() ?? '';
      for (const line of complete) {
        started.lines.push(JSON.parse(line) as LogLine);
        if (started.lines.at(-1)?.msg.startsWith('No users yet')) resolve();
      }
    });
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const code = await Promise.race([listening.then(() => null), exited]);
  return { ...started, code };
}

const messages = (started: Started) => started.lines.map((line) => line.msg);
const lineStarting = (started: Started, prefix: string) =>
  started.lines.find((line) => line.msg.startsWith(prefix));

describe('the start log', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-start-log-'));
  });
  afterEach(async () => {
    await Promise.all(
      running.splice(0).map(async (child) => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await once(child, 'exit');
        }
      }),
    );
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('says what it does before listening, then its own address and the public URL apart', async () => {
    const env = { GATEHOUSE_MASTER_KEY: MASTER_KEY, GATEHOUSE_DATA_DIR: dataDir };
    const firstPort = await freePort();
    const first = await start(['--port', String(firstPort)], env);
    const publicUrl = `http://127.0.0.1:${firstPort}`;
    expect(messages(first).slice(0, 5)).toEqual([
      `opening the database sqlite:${path.join(dataDir, 'gatehouse.db')}`,
      expect.stringMatching(/^migrations applied: 0001-core, /),
      expect.stringMatching(
        /^signing keys: active \S+, next \S+, sealed by master key mk_\w+ from GATEHOUSE_MASTER_KEY$/,
      ),
      expect.stringMatching(/^Server listening at /),
      expect.stringMatching(/^Gatehouse listening on /),
    ]);

    // The second instance, behind the same balancer: the public URL is the first one's.
    const secondPort = await freePort();
    const second = await start(['--port', String(secondPort)], { ...env, GATEHOUSE_PUBLIC_URL: publicUrl });
    expect(messages(second)).toContain('database schema already up to date');
    expect(lineStarting(second, 'Gatehouse listening on')).toMatchObject({
      msg: expect.stringMatching(
        new RegExp(
          `^Gatehouse listening on http://127\\.0\\.0\\.1:${secondPort}, public URL ${publicUrl} \\(`,
        ),
      ),
      listening: `http://127.0.0.1:${secondPort}`,
      public_url: publicUrl,
      redis: 'not configured',
    });
  });

  it('says whether Redis is connected', async () => {
    const env = { GATEHOUSE_MASTER_KEY: MASTER_KEY, GATEHOUSE_DATA_DIR: dataDir };
    const connected = await start(['--port', String(await freePort())], {
      ...env,
      GATEHOUSE_REDIS_URL: REDIS_URL,
    });
    expect(lineStarting(connected, 'redis connected: ')?.msg).toMatch(/answers PING in \d+ ms$/);
    expect(lineStarting(connected, 'Gatehouse listening on')).toMatchObject({ redis: 'connected' });

    const deadRedis = `redis://:secret-redis-password@127.0.0.1:${await freePort()}`;
    const away = await start(['--port', String(await freePort())], {
      ...env,
      GATEHOUSE_REDIS_URL: deadRedis,
    });
    expect(lineStarting(away, 'redis not connected')).toMatchObject({ level: 40 });
    expect(lineStarting(away, 'Gatehouse listening on')).toMatchObject({ redis: 'not connected' });
    expect(JSON.stringify(away.lines)).not.toContain('secret-redis-password');
  });

  it('repeats the flags it was started with in the first-admin hint', async () => {
    const fresh = await mkdtemp(path.join(dataDir, 'fresh '));
    const started = await start(['--port', String(await freePort()), '--data-dir', fresh], {
      GATEHOUSE_MASTER_KEY: MASTER_KEY,
    });
    expect(lineStarting(started, 'No users yet')?.msg).toMatch(
      new RegExp(`npx gatehouse admin create --email you@example\\.com --data-dir '${fresh}'$`),
    );
  });

  it('listening on 0.0.0.0 with the public URL left at its default: a warning in development', async () => {
    const started = await start(['--port', String(await freePort()), '--host', '0.0.0.0'], {
      GATEHOUSE_MASTER_KEY: MASTER_KEY,
      GATEHOUSE_DATA_DIR: dataDir,
    });
    expect(started.lines[0]).toMatchObject({
      level: 40,
      msg: expect.stringMatching(/^GATEHOUSE_PUBLIC_URL is not set while listening on 0\.0\.0\.0: /),
    });
    expect(lineStarting(started, 'Gatehouse listening on')?.msg).toMatch(
      /^Gatehouse listening on http:\/\/0\.0\.0\.0:/,
    );
  });

  it('a port already taken: one line naming it, and exit 1 even with Redis connected', async () => {
    const other = createServer();
    other.listen(0, '127.0.0.1');
    await once(other, 'listening');
    try {
      const taken = (other.address() as AddressInfo).port;
      const refused = await start(['--port', String(taken)], {
        GATEHOUSE_MASTER_KEY: MASTER_KEY,
        GATEHOUSE_DATA_DIR: dataDir,
        GATEHOUSE_REDIS_URL: REDIS_URL,
      });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(
        `gatehouse: listen EADDRINUSE: address already in use 127.0.0.1:${taken}\n`,
      );
    } finally {
      other.close();
    }
  });

  it('… and a refusal in production, in one line naming the setting', async () => {
    const refused = await start(['--port', String(await freePort()), '--host', '0.0.0.0'], {
      GATEHOUSE_ENV: 'production',
      GATEHOUSE_MASTER_KEY: MASTER_KEY,
      GATEHOUSE_DATA_DIR: dataDir,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^gatehouse: GATEHOUSE_PUBLIC_URL is not set while listening on 0\.0\.0\.0: [^\n]+\n$/,
    );
  });
});

describe('gatehouse doctor checks Redis when it is configured', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-doctor-redis-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('passes when it answers PING, fails (exit 1) when it does not', async () => {
    const env = { GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_REDIS_URL: REDIS_URL };
    const up = await gatehouseCli(['doctor', '--json'], env);
    expect(up.code, up.stdout).toBe(0);
    const redisCheck = (output: string) =>
      (JSON.parse(output) as { checks: { name: string }[] }).checks.find((check) => check.name === 'redis');
    expect(redisCheck(up.stdout)).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/answers PING in \d+ ms$/),
    });

    const down = await gatehouseCli(['doctor', '--json'], {
      ...env,
      GATEHOUSE_REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    });
    expect(down.code).toBe(1);
    expect(redisCheck(down.stdout)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/ECONNREFUSED.*database poll/),
    });
  });
});
