import { setImmediate, setTimeout } from 'node:timers/promises';
import type { Command } from 'commander';
import { openGatehouse } from '../gatehouse.js';
import { buildApp } from '../http/app.js';
import { createLogger } from '../logger.js';
import type { CommonOptions } from './context.js';
import { configFrom, withCommonOptions } from './context.js';

/**
 * Closing the listener also destroys connections Node sees as idle, which includes one whose request is
 * already in the socket buffer but not yet read because the event loop was busy. A few turns of the loop
 * (each polls for I/O: first accepting, then reading) let those requests start, so they are finished
 * rather than reset.
 */
async function readPendingRequests(): Promise<void> {
  for (let turn = 0; turn < 3; turn++) await setImmediate();
}

async function start(options: CommonOptions): Promise<void> {
  const config = configFrom(options);
  const logger = createLogger(config.logLevel);
  const gatehouse = await openGatehouse({ config, logger });
  const app = await buildApp(gatehouse);
  await app.listen({ port: config.port, host: config.host });
  gatehouse.startBackgroundWork();
  const signer = gatehouse.keyring.signer();
  const next = gatehouse.keyring.list().find((key) => key.state === 'next');
  logger.info(
    {
      url: config.issuer,
      data_dir: config.dataDir,
      database: gatehouse.databaseName,
      installation_id: gatehouse.installation.id,
      master_key: gatehouse.masterKeyInfo,
      signing_keys: { active: signer.kid, next: next?.kid },
    },
    `Gatehouse listening on ${config.issuer} (data ${config.dataDir}, database ${gatehouse.databaseName}, signing key ${signer.kid})`,
  );
  if ((await gatehouse.users.list({ limit: 1 })).users.length === 0) {
    logger.info(
      "No users yet. Create the first admin: npx gatehouse admin create --email you@example.com --password '<password>'",
    );
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    gatehouse.beginDraining();
    logger.info(
      { signal, drain_seconds: config.shutdownDrainSeconds },
      'stopping: /readyz now answers 503; requests are still served until the listener closes',
    );
    await setTimeout(config.shutdownDrainSeconds * 1000);
    await readPendingRequests();
    await app.close();
    await gatehouse.close();
    logger.info('stopped: in-flight requests finished, events and key-use records written');
    logger.flush();
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

export function registerStart(program: Command): void {
  withCommonOptions(
    program
      .command('start')
      .description('serve Gatehouse over HTTP (SQLite in ./.gatehouse by default)')
      .option('--port <port>', 'port to listen on (GATEHOUSE_PORT, default 4000)')
      .option('--host <host>', 'address to listen on (GATEHOUSE_HOST, default 127.0.0.1)'),
  ).action(start);
}
