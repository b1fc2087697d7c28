// The example app: a page that signs in with @gatehouse/client, an API that checks tokens with
// @gatehouse/verify, and a Gatehouse it can restart — to watch the page stay signed in while it is down.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, request as forward } from 'node:http';
import { createServer as createProbe } from 'node:net';
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

const STOP_WITHIN_MS = 10_000;
/** Every Gatehouse this process started and that has not exited yet. */
const gatehouses = new Set();

/** `preferred` when nothing listens on it, else a port the system picks. */
async function portFrom(preferred) {
  const bind = (port) =>
    new Promise((resolve, reject) => {
      const probe = createProbe();
      probe.once('error', reject);
      probe.listen(port, '127.0.0.1', () => {
        const { port: bound } = probe.address();
        probe.close(() => resolve(bound));
      });
    });
  return bind(preferred).catch((error) => {
    if (error.code !== 'EADDRINUSE') throw error;
    return bind(0);
  });
}

/**
 * Gatehouse as `npx gatehouse start` runs it, on the example's data directory, in a process group of its
 * own: stopping the group stops whatever it started too.
 */
function startGatehouse({ port, dataDir, publicUrl }) {
  const child = spawn(
    process.execPath,
    [gatehouseCli, 'start', '--port', String(port), '--data-dir', dataDir],
    {
      env: { ...process.env, GATEHOUSE_PUBLIC_URL: publicUrl, GATEHOUSE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    },
  );
  gatehouses.add(child);
  child.once('exit', () => gatehouses.delete(child));
  return child;
}

function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch (error) {
    // ESRCH: the group is already gone, which is what stopping wants.
    if (error.code !== 'ESRCH') throw error;
  }
}

async function stopGatehouse(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  signalGroup(child, 'SIGTERM');
  const kill = setTimeout(() => signalGroup(child, 'SIGKILL'), STOP_WITHIN_MS);
  await exited;
  clearTimeout(kill);
}

/** The issuer of the Gatehouse answering at `url`; undefined while nothing, or something else, answers there. */
async function issuerAt(url) {
  // A refused connection is the normal answer while Gatehouse starts.
  const answer = await fetch(`${url}/.well-known/openid-configuration`).catch(() => undefined);
  const json = answer?.ok && answer.headers.get('content-type')?.startsWith('application/json');
  return json ? (await answer.json()).issuer : undefined;
}

/**
 * Waits until our own Gatehouse serves: one that answers with another issuer is someone else's installation.
 * A Gatehouse that exits first failed to start, and has said why on stderr.
 */
async function waitUntilServing(child, gatehouseUrl, publicUrl, deadlineMs = 30_000) {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`Gatehouse exited with ${child.exitCode ?? child.signalCode} before serving`);
    }
    if ((await issuerAt(gatehouseUrl)) === publicUrl) return;
    await sleep(200);
  }
  throw new Error(`Gatehouse did not serve ${publicUrl} at ${gatehouseUrl} within ${deadlineMs / 1000} s`);
}

async function startServingGatehouse(options, gatehouseUrl) {
  const child = startGatehouse(options);
  try {
    await waitUntilServing(child, gatehouseUrl, options.publicUrl);
    return child;
  } catch (error) {
    await stopGatehouse(child);
    throw error;
  }
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
 * Starts Gatehouse and the example on `port`; Gatehouse on `gatehousePort`, or on a free port when another
 * program holds that one. `restartGatehouse(downMs)` stops Gatehouse, keeps it down, and starts it again on
 * the same data: what an operator's deploy does.
 */
export async function startExample({
  port = 3000,
  gatehousePort = 4000,
  dataDir = path.join(here, '.gatehouse'),
} = {}) {
  const publicUrl = `http://127.0.0.1:${port}`;
  const ownPort = await portFrom(gatehousePort);
  if (ownPort !== gatehousePort) {
    console.log(
      `Port ${gatehousePort} is taken (another Gatehouse?): the example's own Gatehouse uses ${ownPort}.`,
    );
  }
  const gatehouseUrl = `http://127.0.0.1:${ownPort}`;
  const options = { port: ownPort, dataDir, publicUrl };
  let gatehouse = await startServingGatehouse(options, gatehouseUrl);

  async function restartGatehouse(downMs = 5000) {
    await stopGatehouse(gatehouse);
    await sleep(downMs);
    gatehouse = await startServingGatehouse(options, gatehouseUrl);
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
  await once(site, 'listening').catch(async (error) => {
    await stopGatehouse(gatehouse);
    throw new Error(`the example cannot listen on ${publicUrl}: ${error.message}`);
  });
  return { url: publicUrl, gatehouseUrl, restartGatehouse };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Installed before anything starts: a signal during the start must stop the Gatehouse already running.
  const stop = () => Promise.all([...gatehouses].map(stopGatehouse)).then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // Whatever else ends this process (an uncaught error) must not leave Gatehouse running without it.
  process.once('exit', () => {
    for (const child of gatehouses) signalGroup(child, 'SIGTERM');
  });
  const example = await startExample({
    port: Number(process.env.PORT ?? 3000),
    gatehousePort: Number(process.env.GATEHOUSE_PORT ?? 4000),
    ...(process.env.GATEHOUSE_DATA_DIR ? { dataDir: process.env.GATEHOUSE_DATA_DIR } : {}),
  }).catch((error) => {
    console.error(`The example did not start: ${error.message}`);
    process.exit(1);
  });
  console.log(`Example app on ${example.url} (its Gatehouse on ${example.gatehouseUrl})`);
}
