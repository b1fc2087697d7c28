// The example app: a page that signs in with @gatehouse/client, an API that checks tokens with
// @gatehouse/verify, and a Gatehouse it can restart — to watch the page stay signed in while it is down.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, request as forward } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createVerifier } from '@gatehouse/verify';

const here = path.dirname(fileURLToPath(import.meta.url));
const gatehouseCli = path.resolve(here, '../../packages/server/bin/gatehouse.js');
/** The page imports the packages' built ES modules through an import map: no bundler needed. */
const modules = {
  client: path.dirname(fileURLToPath(import.meta.resolve('@gatehouse/client'))),
  codes: path.dirname(fileURLToPath(import.meta.resolve('@gatehouse/codes'))),
};
const STATIC = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript'],
};
const GATEHOUSE_PATHS = /^\/(v1|oauth|\.well-known)\//;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Gatehouse as `npx gatehouse start` runs it, on the example's data directory. */
function startGatehouse({ port, dataDir, publicUrl }) {
  const child = spawn(
    process.execPath,
    [gatehouseCli, 'start', '--port', String(port), '--data-dir', dataDir],
    {
      env: { ...process.env, GATEHOUSE_PUBLIC_URL: publicUrl, GATEHOUSE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  return child;
}

async function stopGatehouse(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

async function waitForHealth(url, deadlineMs = 30_000) {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    const healthy = await fetch(`${url}/healthz`).then(
      (answer) => answer.ok,
      () => false,
    );
    if (healthy) return;
    await sleep(200);
  }
  throw new Error(`Gatehouse did not answer ${url}/healthz within ${deadlineMs / 1000} s`);
}

async function serveFile(response, file, type) {
  const body = await readFile(file).catch(() => undefined);
  if (!body) return response.writeHead(404).end();
  return response.writeHead(200, { 'content-type': type }).end(body);
}

/** The page's origin is Gatehouse's public URL: one origin for page, API and Gatehouse (cookie-safe). */
function proxyToGatehouse(incoming, outgoing, gatehouseUrl) {
  const target = new URL(gatehouseUrl);
  const proxied = forward(
    {
      host: target.hostname,
      port: target.port,
      path: incoming.url,
      method: incoming.method,
      headers: incoming.headers,
    },
    (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
    },
  );
  // Gatehouse is down (restarting): a 502, which the client retries rather than taking as a sign-out.
  proxied.on('error', () => {
    if (!outgoing.headersSent) outgoing.writeHead(502, { 'content-type': 'text/plain' });
    outgoing.end('Gatehouse is not answering');
  });
  incoming.pipe(proxied);
}

function notesApi(verifier) {
  const guard = verifier.expressMiddleware();
  return (request, response) =>
    guard(request, response, () => {
      const { sub } = request.gatehouse.claims;
      const notes = [
        { id: 1, text: `Checked by the API with @gatehouse/verify: you are ${sub}.` },
        { id: 2, text: 'Restart Gatehouse and watch the status line: retrying, still signed in.' },
      ];
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ notes }));
    });
}

/**
 * Starts Gatehouse and the example on `port`. `restartGatehouse(downMs)` stops Gatehouse, keeps it down,
 * and starts it again on the same data: what an operator's deploy does.
 */
export async function startExample({
  port = 3000,
  gatehousePort = 4000,
  dataDir = path.join(here, '.gatehouse'),
} = {}) {
  const publicUrl = `http://127.0.0.1:${port}`;
  const gatehouseUrl = `http://127.0.0.1:${gatehousePort}`;
  let gatehouse = startGatehouse({ port: gatehousePort, dataDir, publicUrl });
  await waitForHealth(gatehouseUrl);

  async function restartGatehouse(downMs = 5000) {
    await stopGatehouse(gatehouse);
    await sleep(downMs);
    gatehouse = startGatehouse({ port: gatehousePort, dataDir, publicUrl });
    await waitForHealth(gatehouseUrl);
  }

  const notes = notesApi(createVerifier({ issuer: publicUrl }));
  const site = createServer((request, response) => {
    const url = new URL(request.url ?? '/', publicUrl);
    if (GATEHOUSE_PATHS.test(url.pathname)) return proxyToGatehouse(request, response, gatehouseUrl);
    if (url.pathname === '/api/notes') return notes(request, response);
    if (url.pathname === '/demo/restart-gatehouse' && request.method === 'POST') {
      restartGatehouse().catch((error) => console.error('restart failed:', error.message));
      return response.writeHead(202).end();
    }
    const module = /^\/modules\/(client|codes)\/([\w.-]+\.js)$/.exec(url.pathname);
    if (module) return serveFile(response, path.join(modules[module[1]], module[2]), 'text/javascript');
    const file = STATIC[url.pathname];
    if (file) return serveFile(response, path.join(here, 'public', file[0]), file[1]);
    return response.writeHead(404).end();
  });
  site.listen(port, '127.0.0.1');
  await once(site, 'listening');
  return {
    url: publicUrl,
    restartGatehouse,
    async close() {
      site.closeAllConnections();
      site.close();
      await stopGatehouse(gatehouse);
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const example = await startExample({
    port: Number(process.env.PORT ?? 3000),
    gatehousePort: Number(process.env.GATEHOUSE_PORT ?? 4000),
    ...(process.env.GATEHOUSE_DATA_DIR ? { dataDir: process.env.GATEHOUSE_DATA_DIR } : {}),
  });
  console.log(`Example app on ${example.url} (Gatehouse behind it)`);
  const stop = () => example.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
