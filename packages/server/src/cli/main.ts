import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/parse.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import { describeStorageFailure, StorageUnavailableError } from '../errors/storage-unavailable.js';
import { registerAdmin } from './admin.js';
import { registerApiKeys } from './api-keys.js';
import { registerClients } from './clients.js';
import { registerDoctor } from './doctor.js';
import { registerEvents } from './events.js';
import { registerKeys } from './keys.js';
import { registerMasterKey } from './master-key.js';
import { registerMigrate } from './migrate.js';
import { registerStart } from './start.js';
import { registerUsers } from './users.js';
import { registerVault } from './vault.js';

function describeFailure(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  if (error instanceof StorageUnavailableError) return describeStorageFailure(error.database, error.failure);
  if (error instanceof GatehouseError) return `${error.code}: ${error.detail ?? ''}\n  hint: ${error.hint}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * `gatehouse events | head`: the reader has what it wanted and closed the pipe. Nothing is left to print
 * for, and nothing went wrong: stop without a word.
 */
function exitWhenOutputIsClosed(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(0);
  });
}

export async function runCli(argv: string[]): Promise<void> {
  exitWhenOutputIsClosed();
  const program = new Command('gatehouse')
    .description('Gatehouse: an authentication server whose every rejection has a reason')
    .showHelpAfterError()
    .exitOverride();
  registerStart(program);
  registerMigrate(program);
  registerKeys(program);
  registerAdmin(program);
  registerUsers(program);
  registerClients(program);
  registerApiKeys(program);
  registerDoctor(program);
  registerEvents(program);
  registerMasterKey(program);
  registerVault(program);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    process.stderr.write(`gatehouse: ${describeFailure(error)}\n`);
    process.exitCode = 1;
  }
}
