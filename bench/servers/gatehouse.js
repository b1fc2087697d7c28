import { loadConfig } from '../../packages/server/dist/config/load-config.js';
import { openGatehouse } from '../../packages/server/dist/gatehouse.js';
import { buildApp } from '../../packages/server/dist/http/app.js';
import { createLogger } from '../../packages/server/dist/logger.js';

// Port 0: the issuer reads http://127.0.0.1:0, which is fine as it only has to agree with itself here.
const config = loadConfig({
  env: { GATEHOUSE_DATA_DIR: process.env.BENCH_DATA_DIR, GATEHOUSE_PORT: '0', GATEHOUSE_LOG_LEVEL: 'warn' },
});
const gatehouse = await openGatehouse({ config, logger: createLogger(config.logLevel) });
const app = await buildApp(gatehouse);
await app.listen({ port: 0, host: '127.0.0.1' });
gatehouse.startBackgroundWork();
process.send({ port: app.server.address().port });
process.on('disconnect', () => process.exit());
