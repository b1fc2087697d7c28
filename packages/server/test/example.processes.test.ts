import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from './support/http.js';
import { freePort } from './support/test-server.js';

// The incident: with port 4000 taken, the example logged EADDRINUSE, kept running and proxied sign-ins to
// the other installation; and stopping it could leave its Gatehouse running.

const exampleServer = fileURLToPath(new URL('../../../examples/web-app/server.js', import.meta.url));
const OTHER_ISSUER = 'http://another-installation.invalid';

/** Another Gatehouse-looking program on port 4000, as when a second checkout runs `npm start`. */
async function occupyPort4000(): Promise<Server | undefined> {
  const other = createServer((request, response) => {
    const body = request.url === '/healthz' ? { status: 'ok' } : { issuer: OTHER_ISSUER };
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  other.listen(4000, '127.0.0.1');
  // Held by something on this machine already: occupied all the same.
  return once(other, 'listening').then(
    () => other,
    (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') throw error;
      return undefined;
    },
  );
}

async function childrenOf(pid: number): Promise<number[]> {
  const { stdout } = await promisify(execFile)('ps', ['-o', 'pid=', '--ppid', String(pid)]).catch(
    (error: { stdout?: string; code?: number }) => {
      // ps exits 1 when it lists nothing.
      if (error.code === 1) return { stdout: error.stdout ?? '' };
      throw error;
    },
  );
  return stdout.split('\n').filter(Boolean).map(Number);
}

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
};

describe('examples/web-app with port 4000 taken', () => {
  let other: Server | undefined;
  let dataDir: string;
  let example: ChildProcess;
  let output = '';
  let url: string;

  beforeAll(async () => {
    other = await occupyPort4000();
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-example-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    example = spawn(process.execPath, [exampleServer], {
      // No GATEHOUSE_PORT: the example's default, 4000.
      env: { ...process.env, PORT: String(port), GATEHOUSE_PORT: undefined, GATEHOUSE_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(example, 'exit');
    const started = new Promise<void>((resolve) => {
      const listen = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Example app on')) resolve();
      };
      example.stdout?.on('data', listen);
      example.stderr?.on('data', listen);
    });
    await Promise.race([started, exited]);
  });
  afterAll(async () => {
    if (example.exitCode === null && example.signalCode === null) example.kill('SIGKILL');
    other?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves its own Gatehouse on a port it picked, and says so', async () => {
    expect(output).toMatch(
      /Port 4000 is taken \(another Gatehouse\?\): the example's own Gatehouse uses \d+\./,
    );
    const discovery = await call(url, 'GET', '/.well-known/openid-configuration');
    expect(discovery.status).toBe(200);
    expect(discovery.body.issuer).toBe(url);
  });

  it('SIGTERM stops it and its Gatehouse: no process survives', async () => {
    const children = await childrenOf(example.pid!);
    expect(children.length).toBeGreaterThan(0);
    const exited = once(example, 'exit');
    example.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
    expect(children.filter(isRunning)).toEqual([]);
  });
});

describe('examples/web-app stopped while it starts', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-example-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('SIGTERM before it serves stops the Gatehouse it already started', async () => {
    const example = spawn(process.execPath, [exampleServer], {
      env: {
        ...process.env,
        PORT: String(await freePort()),
        GATEHOUSE_PORT: String(await freePort()),
        GATEHOUSE_DATA_DIR: dataDir,
      },
      stdio: 'ignore',
    });
    let children: number[] = [];
    while (children.length === 0 && example.exitCode === null) {
      children = await childrenOf(example.pid!);
    }
    const exited = once(example, 'exit');
    example.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
    expect(children.filter(isRunning)).toEqual([]);
  });
});

describe('examples/web-app whose Gatehouse cannot start', () => {
  it('stops with the reason and exit code 1, instead of serving without it', async () => {
    const scratch = await mkdtemp(path.join(tmpdir(), 'gatehouse-example-'));
    try {
      await writeFile(path.join(scratch, 'a file'), '');
      const example = spawn(process.execPath, [exampleServer], {
        env: {
          ...process.env,
          PORT: String(await freePort()),
          GATEHOUSE_PORT: String(await freePort()),
          GATEHOUSE_DATA_DIR: path.join(scratch, 'a file', 'data'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      example.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      expect(await once(example, 'exit')).toEqual([1, null]);
      expect(stderr).toMatch(
        /^gatehouse: .*\nThe example did not start: Gatehouse exited with 1 before serving\n$/s,
      );
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
