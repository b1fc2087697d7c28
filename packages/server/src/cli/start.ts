import type { AddressInfo } from 'node:net';
import { setImmediate, setTimeout } from 'node:timers/promises';
import type { Command } from 'commander';
import type { DestinationStream, Logger } from 'pino';
import type { Config } from '../config/config.js';
import { WITHOUT_REDIS } from '../fleet/redis.js';
import { type Gatehouse, openGatehouse } from '../gatehouse.js';
import { buildApp } from '../http/app.js';
import type { App } from '../http/types.js';
import { createLogger, prettyDestination } from '../logger.js';
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

/** JSON lines for machines; readable lines for a developer at a terminal, when pino-pretty is installed. */
async function logDestination(config: Readonly<Config>): Promise<DestinationStream | undefined> {
  return config.env === 'development' && process.stdout.isTTY ? prettyDestination() : undefined;
}

/** The keys that keep tokens valid across restarts: said before listening, so a wrong key shows at once. */
function logKeys(logger: Logger, gatehouse: Gatehouse): { active: string; next: string | undefined } {
  const active = gatehouse.keyring.signer().kid;
  const next = gatehouse.keyring.list().find((key) => key.state === 'next')?.kid;
  const { fingerprint, origin, created } = gatehouse.masterKeyInfo;
  logger.info(
    { master_key: gatehouse.masterKeyInfo, signing_keys: { active, next } },
    `signing keys: active ${active}, next ${next ?? 'none'}, sealed by master key ${fingerprint} from ${origin}${created ? ' (created now)' : ''}`,
  );
  return { active, next };
}

/** Whether Redis answers now; without it the instance still runs, on the database alone. */
async function checkRedis(
  logger: Logger,
  gatehouse: Gatehouse,
): Promise<'connected' | 'not connected' | 'not configured'> {
  const { redis } = gatehouse;
  if (!redis) return 'not configured';
  return redis.ping().then(
    (ms) => {
      logger.info(
        { redis: redis.description },
        `redis connected: ${redis.description} answers PING in ${ms} ms`,
      );
      return 'connected' as const;
    },
    (error: unknown) => {
      logger.warn(
        { redis: redis.description, reason: (error as Error).message },
        `redis not connected (${redis.description}: ${(error as Error).message}): ${WITHOUT_REDIS}`,
      );
      return 'not connected' as const;
    },
  );
}

function listeningAddress(app: App): string {
  const { address, family, port } = app.server.address() as AddressInfo;
  return `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`;
}

const shellWord = (word: string) =>
  /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;

/** The flags that chose this server's data, for a command to act on the same installation. */
function sameInstallationFlags(options: CommonOptions, databaseName: string): string {
  const flags = [
    ...(options.dataDir ? ['--data-dir', options.dataDir] : []),
    // The printable name: absolute for SQLite, and with any password masked.
    ...(options.databaseUrl ? ['--database-url', databaseName] : []),
  ];
  const hasPassword =
    options.databaseUrl && URL.canParse(options.databaseUrl) && new URL(options.databaseUrl).password;
  const masked = hasPassword ? ' (*** stands for the database password)' : '';
  return `${flags.map((flag) => ` ${shellWord(flag)}`).join('')}${masked}`;
}

async function start(options: CommonOptions): Promise<void> {
  const config = configFrom(options);
  const logger = createLogger(config.logLevel, await logDestination(config));
  for (const warning of config.warnings) logger.warn(warning);
  const gatehouse = await openGatehouse({ config, logger });
  const signingKeys = logKeys(logger, gatehouse);
  const redis = await checkRedis(logger, gatehouse);
  const app = await buildApp(gatehouse);
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    // Its open connections (the database pool, Redis) would keep a server that cannot listen running.
    await gatehouse.close();
    throw error;
  }
  gatehouse.startBackgroundWork();
  const listening = listeningAddress(app);
  logger.info(
    {
      listening,
      public_url: config.issuer,
      data_dir: config.dataDir,
      database: gatehouse.databaseName,
      installation_id: gatehouse.installation.id,
      master_key: gatehouse.masterKeyInfo,
      signing_keys: signingKeys,
      redis,
    },
    `Gatehouse listening on ${listening}, public URL ${config.issuer} (data ${config.dataDir}, database ${gatehouse.databaseName}, signing key ${signingKeys.active}, redis ${redis})`,
  );
  if ((await gatehouse.users.list({ limit: 1 })).users.length === 0) {
    logger.info(
      `No users yet. Create the first admin (it asks for the password): npx gatehouse admin create --email you@example.com${sameInstallationFlags(options, gatehouse.databaseName)}`,
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
