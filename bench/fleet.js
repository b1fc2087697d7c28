import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { markdownTable } from './markdown-table.js';
import { startPgBouncer } from './pgbouncer.js';
import { replaceSection } from './results-file.js';
import { createPostgresDatabase, startServer } from './servers.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const RESULTS = path.join(BENCH_DIR, 'RESULTS.md');
const HEADING = '## Several instances on PostgreSQL through PgBouncer';
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const DURATION_SECONDS = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 50;
const API_KEYS = 10_000;
const API_KEYS_IN_ROTATION = 1000;
const MAX_REDIS_OVERHEAD = 0.05;
const REDIS_ROUNDS = 3 * ROUNDS;

/** autocannon against each target at once, the connections split between them; rates add up. */
async function load(targets, seconds = DURATION_SECONDS) {
  const results = await Promise.all(
    targets.map((target) =>
      autocannon({ ...target, connections: CONNECTIONS / targets.length, duration: seconds }),
    ),
  );
  for (const result of results) {
    if (result.errors || result.non2xx)
      throw new Error(`${result.url}: ${result.errors} errors, ${result.non2xx} non-2xx`);
  }
  return {
    requestsPerSecond: results.reduce((sum, result) => sum + result.requests.average, 0),
    p99: Math.max(...results.map((result) => result.latency.p99)),
  };
}

/** `a` and `b` take turns for `rounds` rounds; the round with the median ratio b/a is kept. */
async function compare(a, b, rounds = ROUNDS) {
  await load(a, 2);
  await load(b, 2);
  const results = [];
  for (let round = 0; round < rounds; round++) {
    const first = await load(a);
    const second = await load(b);
    results.push({ first, second, ratio: second.requestsPerSecond / first.requestsPerSecond });
  }
  return [...results].sort((x, y) => x.ratio - y.ratio)[Math.floor(results.length / 2)];
}

async function signUp(url) {
  const response = await fetch(`${url}/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'fleet-bench@example.com', password: 'correct horse battery staple' }),
  });
  if (response.status !== 201) throw new Error(`signup failed: ${response.status} ${await response.text()}`);
  return (await response.json()).access_token;
}

function meTarget(url, token) {
  return { url: `${url}/v1/auth/me`, headers: { authorization: `Bearer ${token}` } };
}

function verifyTarget(url, keys) {
  const bodies = keys.map((key) => JSON.stringify({ key }));
  let sent = 0;
  return {
    url: `${url}/v1/keys/verify`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [{ setupRequest: (request) => ({ ...request, body: bodies[sent++ % bodies.length] }) }],
  };
}

async function measure() {
  const database = await createPostgresDatabase(POSTGRES_URL);
  if (database.unavailable) return { skipped: database.unavailable };
  const pgbouncer = await startPgBouncer(POSTGRES_URL);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-fleet-'));
  const servers = [];
  const start = async (env) => {
    const server = await startServer('gatehouse', {
      BENCH_DATA_DIR: dataDir,
      BENCH_DATABASE_URL: pgbouncer.through(database.url),
      ...env,
    });
    servers.push(server);
    return server;
  };
  try {
    const a = await start({
      BENCH_API_KEYS: String(API_KEYS),
      BENCH_API_KEYS_KEPT: String(API_KEYS_IN_ROTATION),
    });
    const b = await start({});
    // Two fresh instances alike but for Redis, used for nothing else, so their histories do not differ.
    const withoutRedis = await start({});
    const withRedis = await start({ BENCH_REDIS_URL: REDIS_URL });
    const token = await signUp(a.url);
    console.error('measuring one instance against two, and Redis against none');
    return {
      me: await compare([meTarget(a.url, token)], [meTarget(a.url, token), meTarget(b.url, token)]),
      verify: await compare(
        [verifyTarget(a.url, a.apiKeys)],
        [verifyTarget(a.url, a.apiKeys), verifyTarget(b.url, a.apiKeys)],
      ),
      // A 5 % difference is within one round's noise here: more rounds, so the median means something.
      redis: await compare(
        [meTarget(withoutRedis.url, token)],
        [meTarget(withRedis.url, token)],
        REDIS_ROUNDS,
      ),
    };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    pgbouncer.stop();
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const rate = (value) => String(Math.round(value));
const COLUMNS = [
  { title: 'Scenario', cell: (row) => row.name },
  { title: 'req/s', cell: (row) => rate(row.requestsPerSecond), right: true },
  { title: 'p99 (ms)', cell: (row) => String(row.p99), right: true },
  { title: 'ratio', cell: (row) => row.ratio, right: true },
  { title: 'Target', cell: (row) => row.target ?? '—' },
  { title: 'Result', cell: (row) => (row.passed === undefined ? '—' : row.passed ? 'pass' : '**FAIL**') },
];

function section(measured, command) {
  if (measured.skipped) return `${HEADING}\n\nSkipped: ${measured.skipped}.\n`;
  const { me, verify, redis } = measured;
  const overhead = 1 - redis.ratio;
  const rows = [
    { name: '`GET /v1/auth/me`, one instance', ...me.first, ratio: '1.00' },
    { name: '`GET /v1/auth/me`, two instances', ...me.second, ratio: me.ratio.toFixed(2) },
    { name: '`POST /v1/keys/verify`, one instance', ...verify.first, ratio: '1.00' },
    { name: '`POST /v1/keys/verify`, two instances', ...verify.second, ratio: verify.ratio.toFixed(2) },
    { name: '`GET /v1/auth/me`, one instance without Redis', ...redis.first, ratio: '1.00' },
    {
      name: '`GET /v1/auth/me`, one instance with Redis invalidation',
      ...redis.second,
      ratio: redis.ratio.toFixed(2),
      target: `overhead < ${MAX_REDIS_OVERHEAD * 100} %`,
      passed: overhead < MAX_REDIS_OVERHEAD,
    },
  ];
  return `${HEADING}

Method: Gatehouse instances in their own processes share one PostgreSQL database (created for the run, dropped after) through PgBouncer in transaction mode on this machine; autocannon runs in the benchmark's process with ${CONNECTIONS} connections in all, split evenly between the instances it loads.
"Two instances" loads both at once (the rates add up) and is compared with one instance carrying all ${CONNECTIONS} connections; the Redis rows compare an instance without \`GATEHOUSE_REDIS_URL\` with one that has it (Redis at ${new URL(REDIS_URL).host}).
Each comparison is ${ROUNDS} rounds (the Redis one ${REDIS_ROUNDS}) of ${DURATION_SECONDS} s each way after 2 s of warm-up each way; the table shows the round with the median ratio.
Nothing on the \`/v1/auth/me\` path talks to Redis (changes arrive on a subscription in the background), so the Redis rows differ by what the machine does meanwhile.
Key verification presents ${API_KEYS_IN_ROTATION.toLocaleString('en-US')} of ${API_KEYS.toLocaleString('en-US')} seeded keys in turn.
On 2 cores the instances and the load generator compete for the same CPUs, so two instances cannot double the rate here (on this machine they share the same two cores with the load generator); what the rows can show is whether sharing the database costs throughput: a ratio near 1.0 means it does not.

- Command: \`${command}\`
- Date: ${new Date().toISOString()}
- Machine: ${os.cpus()[0].model} × ${os.cpus().length}, Node ${process.version}, load average ${os.loadavg()[0].toFixed(2)} at the end

${markdownTable(COLUMNS, rows)}

Redis invalidation overhead on the hot path: ${(overhead * 100).toFixed(1)} % (target under ${MAX_REDIS_OVERHEAD * 100} %).
`;
}

/** The fleet section of bench/RESULTS.md, measured now. */
export async function fleetSection(command = 'npm run bench:fleet') {
  return section(await measure(), command);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const markdown = await fleetSection();
  await replaceSection(RESULTS, HEADING, markdown);
  console.log(markdown);
}
