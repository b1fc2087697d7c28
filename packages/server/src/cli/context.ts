import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import { type ConfigFlags, loadConfig } from '../config/load-config.js';
import type { Actor } from '../events/events.js';
import { type Gatehouse, openGatehouse } from '../gatehouse.js';
import { createCommandLogger } from '../logger.js';

export interface CommonOptions extends ConfigFlags {
  json?: boolean;
}

/** Options every command takes: where the data lives, and machine-readable output. */
export function withCommonOptions(command: Command): Command {
  return command
    .option('--data-dir <dir>', 'data directory (GATEHOUSE_DATA_DIR)')
    .option('--database-url <url>', 'file path, sqlite:PATH or postgres://… (GATEHOUSE_DATABASE_URL)')
    .option('--json', 'print JSON instead of text');
}

export function configFrom(options: CommonOptions): Readonly<Config> {
  return loadConfig({
    flags: {
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
      ...(options.port ? { port: options.port } : {}),
      ...(options.host ? { host: options.host } : {}),
    },
  });
}

/** What a command works with: the services of an open Gatehouse, not its store, master key or lifecycle. */
export type Services = Omit<
  Gatehouse,
  'store' | 'masterKey' | 'startBackgroundWork' | 'beginDraining' | 'close'
>;

/** Opens Gatehouse for a one-shot command (logs only warnings, to stderr), runs it, and closes it. */
export async function withGatehouse<T>(
  options: CommonOptions,
  work: (services: Services) => Promise<T>,
): Promise<T> {
  const config = configFrom(options);
  const gatehouse = await openGatehouse({ config, logger: createCommandLogger() });
  try {
    return await work(gatehouse);
  } finally {
    await gatehouse.close();
  }
}

export function print(options: CommonOptions, json: unknown, text: string): void {
  process.stdout.write(options.json ? `${JSON.stringify(json, null, 2)}\n` : `${text}\n`);
}

/** The account running this command, or null where the OS has none to name (a container's bare uid). */
function osUserName(): string | null {
  try {
    return userInfo().username;
  } catch {
    return null;
  }
}

/** Commands run by an operator on the server's host; events record them as such, with the OS account. */
export const CLI_ACTOR: Actor = { id: null, via: 'cli', osUser: osUserName() };
