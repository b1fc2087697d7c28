import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createVerifier } from '@gatehouse/verify';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { loadConfig } from '../packages/server/dist/config/load-config.js';
import { openGatehouse } from '../packages/server/dist/gatehouse.js';
import { buildApp } from '../packages/server/dist/http/app.js';
import { createLogger } from '../packages/server/dist/logger.js';
import { markdownTable } from './markdown-table.js';
import { replaceSection } from './results-file.js';

// @gatehouse/verify measured against raw jose.jwtVerify in the same process and run: local verification of
// distinct tokens (the cache cannot help) must keep ≥ 0.9 of jose's rate, and a repeated token (the cache)
// must be answered ≥ 1,000,000 times a second.

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const RESULTS = path.join(BENCH_DIR, 'RESULTS.md');
const HEADING = '## @gatehouse/verify';
const TOKENS = Number(process.env.BENCH_VERIFY_TOKENS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_VERIFY_ROUNDS ?? 7);
const REPEATS = Number(process.env.BENCH_VERIFY_REPEATS ?? 2_000_000);
const CHUNK = 100;
const MIN_RATIO = 0.9;
const MIN_REPEATED_PER_SECOND = 1_000_000;

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A real Gatehouse (fresh SQLite data directory) in this process: it signs the tokens and serves the JWKS. */
async function startIssuer() {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-bench-verify-'));
  const port = await freePort();
  const config = loadConfig({
    env: { GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_PORT: String(port), GATEHOUSE_LOG_LEVEL: 'warn' },
  });
  const gatehouse = await openGatehouse({ config, logger: createLogger(config.logLevel) });
  const app = await buildApp(gatehouse);
  await app.listen({ port, host: '127.0.0.1' });
  return {
    gatehouse,
    issuer: config.issuer,
    async close() {
      await app.close();
      await gatehouse.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function issueTokens(gatehouse, count) {
  const tokens = [];
  for (let i = 0; i < count; i++) {
    const sub = `01900000-0000-7000-8000-${String(i).padStart(12, '0')}`;
    tokens.push((await gatehouse.accessTokens.issue({ sub, scope: 'openid profile email' })).token);
  }
  return tokens;
}

/**
 * Seconds spent verifying `tokens` one at a time, as a request handler awaits it; `method.verify` resolves an
 * answer that `method.accepted` must approve, so a refusal cannot pass for speed.
 */
async function timed(tokens, method) {
  const started = performance.now();
  for (const token of tokens) {
    if (!method.accepted(await method.verify(token))) throw new Error(`${method.name} refused a valid token`);
  }
  return (performance.now() - started) / 1000;
}

/**
 * Both over the same tokens, interleaved chunk by chunk (in alternating order), so that load from elsewhere on
 * the machine falls on both alike; verifications per second of each.
 */
async function interleaved(tokens, baseline, candidate) {
  const seconds = { baseline: 0, candidate: 0 };
  for (let start = 0, chunk = 0; start < tokens.length; start += CHUNK, chunk++) {
    const slice = tokens.slice(start, start + CHUNK);
    const order = chunk % 2 === 0 ? ['baseline', 'candidate'] : ['candidate', 'baseline'];
    for (const name of order) seconds[name] += await timed(slice, name === 'baseline' ? baseline : candidate);
  }
  return { base: tokens.length / seconds.baseline, ours: tokens.length / seconds.candidate };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function measure({ gatehouse, issuer }) {
  const tokens = await issueTokens(gatehouse, TOKENS + 1);
  const warmToken = tokens.pop();
  const held = gatehouse.keyring.verificationKey(decodeProtectedHeader(warmToken).kid);
  // The checks createVerifier makes, with the issuer's own key object and no JWKS, cache or mapping.
  const joseOptions = {
    algorithms: [held.alg],
    issuer,
    audience: issuer,
    typ: 'at+jwt',
    clockTolerance: 30,
    requiredClaims: ['sub', 'exp', 'iat', 'jti'],
  };
  const raw = {
    name: 'jose.jwtVerify',
    verify: (token) => jwtVerify(token, held.key, { ...joseOptions, currentDate: new Date() }),
    accepted: (result) => typeof result.payload.sub === 'string',
  };
  /** A fresh verifier per round (JWKS fetched before the clock starts), so every token is new to its cache. */
  const freshVerifier = async () => {
    const verifier = createVerifier({ issuer });
    const first = await verifier.verify(warmToken);
    if (!first.ok) throw new Error(`the verifier refused a valid token: ${first.code}`);
    return { name: 'verifier.verify', verify: verifier.verify, accepted: (result) => result.ok };
  };

  await interleaved(tokens, raw, await freshVerifier());
  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    const { base, ours } = await interleaved(tokens, raw, await freshVerifier());
    rounds.push({ base, ours, ratio: ours / base });
  }
  const medianRound = rounds.find((round) => round.ratio === median(rounds.map((r) => r.ratio)));

  const repeated = await freshVerifier();
  const sameToken = Array.from({ length: REPEATS }, () => warmToken);
  await timed(sameToken.slice(0, REPEATS / 10), repeated);
  const passes = [
    await timed(sameToken, repeated),
    await timed(sameToken, repeated),
    await timed(sameToken, repeated),
  ];
  const repeatedRate = REPEATS / median(passes);
  return { medianRound, rounds, repeatedRate };
}

const COLUMNS = [
  { title: 'Scenario', cell: (row) => row.name },
  { title: 'verifications/s', cell: (row) => String(Math.round(row.rate)), right: true },
  { title: '× raw jose', cell: (row) => row.ratio.toPrecision(3), right: true },
  { title: 'Target', cell: (row) => row.target },
  { title: 'Result', cell: (row) => (row.passed === undefined ? '—' : row.passed ? 'pass' : '**FAIL**') },
];

function section({ medianRound, rounds, repeatedRate }, command) {
  const rows = [
    { name: 'Baseline: `jose.jwtVerify`, distinct tokens', rate: medianRound.base, ratio: 1, target: '—' },
    {
      name: '`verifier.verify`, distinct tokens',
      rate: medianRound.ours,
      ratio: medianRound.ratio,
      target: `≥ ${MIN_RATIO.toFixed(2)}× raw jose`,
      passed: medianRound.ratio >= MIN_RATIO,
    },
    {
      name: '`verifier.verify`, one repeated token',
      rate: repeatedRate,
      ratio: repeatedRate / medianRound.base,
      target: `≥ ${MIN_REPEATED_PER_SECOND.toLocaleString('en-US')}/s`,
      passed: repeatedRate >= MIN_REPEATED_PER_SECOND,
    },
  ];
  const failed = rows.filter((row) => row.passed === false);
  return `${HEADING}

Method: a real Gatehouse (fresh SQLite data directory) runs in the benchmark's process, signs ${TOKENS.toLocaleString('en-US')} distinct EdDSA access tokens with its active key and serves its discovery document and JWKS over HTTP on 127.0.0.1.
The baseline is \`jose.jwtVerify\` with the issuer's own key object and the checks the verifier makes (algorithm, \`typ\`, issuer, audience, times with 30 s of skew, required claims); the verifier is \`createVerifier({ issuer })\`, which found the same key through discovery.
Each token is verified once per pass by each, one at a time (\`await\` in a loop, as a request handler does); the verifier is created afresh for each pass and its JWKS fetched before the clock starts, so its cache of verified tokens never answers a distinct token.
Baseline and verifier take turns every ${CHUNK} tokens (in alternating order), so load from elsewhere on the machine falls on both alike; ${ROUNDS} such passes (\`BENCH_VERIFY_ROUNDS\`) after a warm-up pass, and the table shows the pass with the median ratio (all passes: ${rounds.map((round) => round.ratio.toFixed(3)).join(', ')}).
The repeated token is one token verified ${REPEATS.toLocaleString('en-US')} times in a row by one verifier (the median of three passes): every answer after the first comes from the cache of verified tokens.

- Command: \`${command}\`
- Date: ${new Date().toISOString()}
- Machine: ${os.cpus()[0].model} × ${os.cpus().length}, Node ${process.version}, load average ${os.loadavg()[0].toFixed(2)} at the end

${markdownTable(COLUMNS, rows)}

${failed.length ? `Targets missed: ${failed.map((row) => `${row.name} (${row.target})`).join('; ')}.` : 'All targets met.'}
`;
}

/** The verifier's section of bench/RESULTS.md, measured now. */
export async function verifierSection(command = 'npm run bench:verify') {
  const issuer = await startIssuer();
  try {
    return section(await measure(issuer), command);
  } finally {
    await issuer.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const markdown = await verifierSection();
  await replaceSection(RESULTS, HEADING, markdown);
  console.log(markdown);
}
