import { loadConfig } from '../../packages/server/dist/config/load-config.js';
import { openGatehouse } from '../../packages/server/dist/gatehouse.js';
import { buildApp } from '../../packages/server/dist/http/app.js';
import { createLogger } from '../../packages/server/dist/logger.js';
import { seedApiKeys } from './seed-api-keys.js';

// Port 0: the issuer reads http://127.0.0.1:0, which is fine as it only has to agree with itself here.
const config = loadConfig({
  env: {
    GATEHOUSE_DATA_DIR: process.env.BENCH_DATA_DIR,
    GATEHOUSE_DATABASE_URL: process.env.BENCH_DATABASE_URL,
    GATEHOUSE_PORT: '0',
    GATEHOUSE_LOG_LEVEL: 'warn',
    // Per-IP limits would answer the load generator, one IP, with 429.
    GATEHOUSE_LOGIN_RATE_LIMIT: '0',
    GATEHOUSE_KEY_VERIFY_RATE_LIMIT: '0',
    ...(process.env.BENCH_REDIS_URL ? { GATEHOUSE_REDIS_URL: process.env.BENCH_REDIS_URL } : {}),
  },
});
const gatehouse = await openGatehouse({ config, logger: createLogger(config.logLevel) });
// A second instance on a database another one seeded seeds nothing (BENCH_API_KEYS=0).
const seedCount = Number(process.env.BENCH_API_KEYS ?? 0);
const seedStarted = performance.now();
const apiKeys = seedCount
  ? await seedApiKeys(gatehouse, seedCount, Number(process.env.BENCH_API_KEYS_KEPT))
  : [];
if (seedCount) {
  console.error(
    `seeded ${seedCount} API keys into ${gatehouse.store.dialect} in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`,
  );
}
const app = await buildApp(gatehouse);
await app.listen({ port: 0, host: '127.0.0.1' });
gatehouse.startBackgroundWork();
process.send({ port: app.server.address().port, apiKeys });
process.on('disconnect', () => process.exit());
