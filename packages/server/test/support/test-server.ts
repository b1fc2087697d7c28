import { createServer } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { loadConfig } from '../../src/config/load-config.js';
import { type Gatehouse, openGatehouse } from '../../src/gatehouse.js';
import { buildApp } from '../../src/http/app.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface TestServer {
  url: string;
  gatehouse: Gatehouse;
  env: Record<string, string>;
  close(): Promise<void>;
}

/** A real Gatehouse on a random port of 127.0.0.1, on the given database, as `gatehouse start` would run it. */
export async function startTestServer(
  database: TestDatabase,
  options: {
    env?: Record<string, string>;
    clock?: Clock;
    port?: number;
    logs?: { write(line: string): void };
  } = {},
): Promise<TestServer> {
  const port = options.port ?? (await freePort());
  const env: Record<string, string> = {
    GATEHOUSE_DATA_DIR: database.dataDir,
    GATEHOUSE_DATABASE_URL: database.url,
    GATEHOUSE_PORT: String(port),
    GATEHOUSE_LOG_LEVEL: 'silent',
    ...options.env,
  };
  const config = loadConfig({ env });
  const gatehouse = await openGatehouse({
    config,
    logger: createLogger(options.logs ? 'debug' : config.logLevel, options.logs),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const app = await buildApp(gatehouse);
  await app.listen({ port, host: '127.0.0.1' });
  gatehouse.startBackgroundWork();
  return {
    url: `http://127.0.0.1:${port}`,
    gatehouse,
    env,
    async close() {
      await app.close();
      await gatehouse.close();
    },
  };
}

/** A clock that runs with the system clock plus an offset the test can move. */
export function offsetClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance: (ms) => {
      offset += ms;
    },
  };
}

/**
 * One real server on a fresh database for the tests of a describe block: started before them, closed and
 * its database dropped after them. `ready` hands both to the block's variables.
 */
export function useTestServer(
  options: Parameters<typeof startTestServer>[1],
  ready: (started: { server: TestServer; database: TestDatabase }) => void,
): void {
  let started: { server: TestServer; database: TestDatabase } | undefined;
  beforeAll(async () => {
    const database = await createTestDatabase();
    started = { database, server: await startTestServer(database, options) };
    ready(started);
  });
  afterAll(async () => {
    await started?.server.close();
    await started?.database.drop();
  });
}
