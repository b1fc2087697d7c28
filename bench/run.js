import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { fleetSection } from './fleet.js';
import { markdownTable } from './markdown-table.js';
import { createPostgresDatabase, startServer } from './servers.js';
import { verifierSection } from './verify.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const DURATION_SECONDS = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP_SECONDS = 2;
const CONNECTIONS = 50;
const LOGIN_CONNECTIONS = 8;
const PROBE_INTERVAL_MS = 20;
const EMAIL = 'bench@example.com';
const PASSWORD = 'correct horse battery staple';
const API_KEYS = 100_000;
const API_KEYS_IN_ROTATION = 1000;
const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

const run = (options, duration) => autocannon({ connections: CONNECTIONS, ...options, duration });

async function measure(options) {
  const result = await run(options, DURATION_SECONDS);
  if (result.errors || result.non2xx) {
    throw new Error(`${options.url}: ${result.errors} errors and ${result.non2xx} non-2xx responses`);
  }
  return { requestsPerSecond: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

/** One request at a time, every PROBE_INTERVAL_MS, until `until` settles. */
async function probe(url, until) {
  let running = true;
  const stop = () => {
    running = false;
  };
  until.then(stop, stop);
  const latencies = [];
  while (running) {
    const started = performance.now();
    const response = await fetch(url);
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    const elapsed = performance.now() - started;
    latencies.push(elapsed);
    await sleep(Math.max(0, PROBE_INTERVAL_MS - elapsed));
  }
  latencies.sort((a, b) => a - b);
  const percentile = (p) => latencies[Math.ceil((p / 100) * latencies.length) - 1];
  return { requestsPerSecond: latencies.length / DURATION_SECONDS, p50: percentile(50), p99: percentile(99) };
}

/** The run whose `key` is the median: machines shared with other work drift, so one run proves little. */
function median(runs, key) {
  return [...runs].sort((a, b) => a[key] - b[key])[Math.floor(runs.length / 2)];
}

async function signUp(baseUrl) {
  const response = await fetch(`${baseUrl}/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
  });
  if (response.status !== 201) throw new Error(`signup failed: ${response.status} ${await response.text()}`);
  return (await response.json()).access_token;
}

/** A refused key still answers 200, which the load would not notice: every key in rotation is checked first. */
async function assertKeysValid(server) {
  for (const key of server.apiKeys) {
    const response = await fetch(`${server.url}/v1/keys/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    });
    const verdict = await response.json();
    if (!verdict.valid) throw new Error(`seeded key refused: ${JSON.stringify(verdict)}`);
  }
}

/** Each request presents the next key in rotation, from whichever connection sends it. */
async function verifyScenario(dialect, server) {
  const scenario = {
    name: `\`POST /v1/keys/verify\`, ${API_KEYS.toLocaleString('en-US')} keys, ${dialect}`,
    keyCheck: dialect,
    minRatio: 0.6,
    maxP99: 10,
  };
  if (server.unavailable) return { ...scenario, skipped: server.unavailable };
  await assertKeysValid(server);
  const bodies = server.apiKeys.map((key) => JSON.stringify({ key }));
  let sent = 0;
  return {
    ...scenario,
    options: {
      url: `${server.url}/v1/keys/verify`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      requests: [{ setupRequest: (request) => ({ ...request, body: bodies[sent++ % bodies.length] }) }],
    },
  };
}

/** A reference row: a server that answers a key check's request with a fixed verdict, doing nothing else. */
function shapedReference(name, url, gatehouse) {
  return {
    name,
    options: {
      url: `${url}/verify-shaped`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: gatehouse.apiKeys[0] }),
    },
  };
}

async function benchmark(baselineUrl, nodeHttpUrl, gatehouse, postgresGatehouse) {
  const gatehouseUrl = gatehouse.url;
  const accessToken = await signUp(gatehouseUrl);
  const baseline = { name: 'Baseline: Fastify hello world `GET /`', options: { url: `${baselineUrl}/` } };
  const scenarios = [
    {
      name: '`GET /v1/auth/me` (valid access token)',
      options: { url: `${gatehouseUrl}/v1/auth/me`, headers: { authorization: `Bearer ${accessToken}` } },
      minRatio: 0.5,
    },
    {
      name: '`GET /.well-known/jwks.json`',
      options: { url: `${gatehouseUrl}/.well-known/jwks.json` },
      minRatio: 0.8,
    },
    await verifyScenario('SQLite', gatehouse),
    await verifyScenario('PostgreSQL', postgresGatehouse),
    {
      ...shapedReference(
        'Reference: Fastify `POST` shaped like a key check, doing nothing',
        baselineUrl,
        gatehouse,
      ),
      fastifyReference: true,
    },
    shapedReference('Reference: the same `POST` on Node `http` alone, doing nothing', nodeHttpUrl, gatehouse),
  ];
  const baselineRuns = [];
  const rows = [];
  for (const scenario of scenarios) {
    const target =
      scenario.minRatio === undefined
        ? undefined
        : `≥ ${scenario.minRatio.toFixed(2)}× baseline${scenario.maxP99 ? `, p99 < ${scenario.maxP99} ms` : ''}`;
    if (scenario.skipped) {
      rows.push({ ...scenario, target });
      continue;
    }
    console.error(`measuring ${scenario.name} against the baseline, ${ROUNDS} rounds`);
    await run(baseline.options, WARMUP_SECONDS);
    await run(scenario.options, WARMUP_SECONDS);
    const rounds = [];
    for (let round = 0; round < ROUNDS; round++) {
      const base = await measure(baseline.options);
      const result = await measure(scenario.options);
      baselineRuns.push(base);
      rounds.push({ ...result, ratio: result.requestsPerSecond / base.requestsPerSecond });
    }
    const row = { ...scenario, ...median(rounds, 'ratio'), target };
    const fastEnough = scenario.maxP99 === undefined || row.p99 < scenario.maxP99;
    const passed = scenario.minRatio === undefined ? undefined : row.ratio >= scenario.minRatio && fastEnough;
    rows.push({ ...row, passed });
  }
  const baselineRow = { ...baseline, ...median(baselineRuns, 'requestsPerSecond'), ratio: 1 };
  rows.unshift(baselineRow);

  const login = {
    url: `${gatehouseUrl}/v1/auth/login`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
    connections: LOGIN_CONNECTIONS,
  };
  console.error('measuring POST /v1/auth/login with a /healthz probe');
  await run(login, WARMUP_SECONDS);
  const loginRun = measure(login);
  const [loginResult, healthz] = await Promise.all([loginRun, probe(`${gatehouseUrl}/healthz`, loginRun)]);
  rows.push(
    {
      name: `\`POST /v1/auth/login\` (${LOGIN_CONNECTIONS} connections)`,
      ...loginResult,
      ratio: loginResult.requestsPerSecond / baselineRow.requestsPerSecond,
    },
    {
      name: `\`GET /healthz\` during login (1 request every ${PROBE_INTERVAL_MS} ms)`,
      ...healthz,
      target: 'p99 < 20 ms',
      passed: healthz.p99 < 20,
    },
  );
  return rows;
}

const milliseconds = (value) => (Number.isInteger(value) ? String(value) : value.toFixed(1));
const orDash = (value, format) => (value === undefined ? '—' : format(value));

function result(row) {
  if (row.skipped) return 'skipped';
  if (row.passed === undefined) return '—';
  return row.passed ? 'pass' : '**FAIL**';
}

const COLUMNS = [
  { title: 'Scenario', cell: (row) => row.name },
  {
    title: 'req/s',
    cell: (row) => orDash(row.requestsPerSecond, (rate) => String(Math.round(rate))),
    right: true,
  },
  { title: 'p50 (ms)', cell: (row) => orDash(row.p50, milliseconds), right: true },
  { title: 'p99 (ms)', cell: (row) => orDash(row.p99, milliseconds), right: true },
  { title: '× baseline', cell: (row) => orDash(row.ratio, (ratio) => ratio.toPrecision(2)), right: true },
  { title: 'Target', cell: (row) => row.target ?? '—' },
  { title: 'Result', cell: result },
];

/**
 * What a key check costs beyond what Fastify costs for its request, in µs of one server's time per request:
 * the difference of the two rates' inverses (each rate is what one process sustained).
 */
function keyCheckWork(rows) {
  const reference = rows.find((row) => row.fastifyReference && row.requestsPerSecond);
  const checks = rows.filter((row) => row.keyCheck && row.requestsPerSecond);
  if (!reference || checks.length === 0) return '';
  const microseconds = (rate) => 1e6 / rate;
  const work = checks.map(
    (row) =>
      `${(microseconds(row.requestsPerSecond) - microseconds(reference.requestsPerSecond)).toFixed(1)} µs on ${row.keyCheck}`,
  );
  return `A key check's own work, beyond what Fastify costs for the same request (1/rate of the key check − 1/rate of the Fastify reference): ${work.join(', ')}.`;
}

function report(rows, loadAverage) {
  const cpus = os.cpus();
  const failed = rows.filter((row) => row.passed === false);
  const skipped = rows.filter((row) => row.skipped);
  const verdict = [
    failed.length
      ? `Targets missed: ${failed.map((row) => `${row.name} (${row.target})`).join('; ')}.`
      : 'All targets met.',
    ...(skipped.length
      ? [`Skipped: ${skipped.map((row) => `${row.name} (${row.skipped})`).join('; ')}.`]
      : []),
  ].join('\n\n');
  return `# Gatehouse benchmark

Method: a Fastify hello-world server (the baseline) and a real Gatehouse (fresh SQLite data directory, log level warn, no per-IP limits on logins and key checks) are measured in the same run, and Gatehouse throughput is given as a ratio to the baseline's requests/s.
Each ratio scenario runs ${ROUNDS} rounds (\`BENCH_ROUNDS\`) of baseline-then-scenario back to back; the table shows the round with the median ratio, and the baseline row the median of all baseline runs.
Each server runs in its own child process and autocannon runs in the parent, so the load generator does not share the server's event loop.
Every scenario gets a ${WARMUP_SECONDS} s warm-up, then ${DURATION_SECONDS} s of measurement (\`BENCH_DURATION\`), with ${CONNECTIONS} connections, except login with ${LOGIN_CONNECTIONS} since argon2 bounds it.
For \`POST /v1/keys/verify\`, ${API_KEYS.toLocaleString('en-US')} active keys of one client are first inserted straight into the database (one transaction, not over HTTP), and the load presents ${API_KEYS_IN_ROTATION.toLocaleString('en-US')} of them in turn, one per request: most checks are answered from the key cache (\`GATEHOUSE_CACHE_SECONDS\`, 30 s by default), and each key is read from the database again whenever its entry has expired.
The two reference rows answer a \`POST\` with the key check's body and response and do nothing else: the baseline's own Fastify server (with the route's schemas), and a server on Node's \`http\` module alone. They show what such a request costs before any work is done, on the machine of the run: a key check cannot be faster than the framework it runs in, nor than Node without one.
The PostgreSQL row uses a second Gatehouse, on a database created for the run on the PostgreSQL server at ${new URL(POSTGRES_URL).host} and dropped after it.
During the login run a separate probe sends one \`GET /healthz\` at a time every ${PROBE_INTERVAL_MS} ms, to show whether password hashing blocks the event loop.
autocannon latencies have 1 ms resolution; the probe's are timed with \`performance.now()\`. Only 127.0.0.1 traffic. Other load on the machine skews the figures, hence the load average below. This file is overwritten by each run.

- Command: \`npm run bench\`
- Date: ${new Date().toISOString()}
- Machine: ${cpus[0].model} × ${cpus.length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}, load average ${loadAverage.toFixed(2)} before the run

${markdownTable(COLUMNS, rows)}

${keyCheckWork(rows)}

${verdict}
`;
}

const loadAverage = os.loadavg()[0];
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-'));
const postgres = await createPostgresDatabase(POSTGRES_URL);
const servers = [];
async function start(name, env) {
  const server = await startServer(name, env);
  servers.push(server);
  return server;
}
try {
  const gatehouseEnv = {
    BENCH_DATA_DIR: dataDir,
    BENCH_API_KEYS: String(API_KEYS),
    BENCH_API_KEYS_KEPT: String(API_KEYS_IN_ROTATION),
  };
  const baseline = await start('baseline');
  const nodeHttp = await start('node-http');
  const gatehouse = await start('gatehouse', gatehouseEnv);
  const postgresGatehouse = postgres.unavailable
    ? postgres
    : await start('gatehouse', { ...gatehouseEnv, BENCH_DATABASE_URL: postgres.url });
  const rows = await benchmark(baseline.url, nodeHttp.url, gatehouse, postgresGatehouse);
  await Promise.all(servers.splice(0).map((server) => server.stop()));
  // The verifier's rows (in-process, against raw jose) and the fleet's, each under its own heading.
  const markdown = [
    report(rows, loadAverage),
    await verifierSection('npm run bench'),
    await fleetSection('npm run bench'),
  ].join('\n');
  await writeFile(path.join(BENCH_DIR, 'RESULTS.md'), markdown);
  console.log(markdown);
} finally {
  await Promise.all(servers.map((server) => server.stop()));
  await postgres.drop?.();
  await rm(dataDir, { recursive: true, force: true });
}
