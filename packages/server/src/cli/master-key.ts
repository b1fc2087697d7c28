import type { Command } from 'commander';
import { generateMasterKey } from '../secrets/master-key.js';

export function registerMasterKey(program: Command): void {
  program
    .command('master-key')
    .description('master key helpers')
    .command('generate')
    .description('print a new random master key (base64url, 32 bytes) for GATEHOUSE_MASTER_KEY')
    .action(() => {
      process.stdout.write(`${generateMasterKey()}\n`);
    });
}
