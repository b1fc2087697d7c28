import type { Command } from 'commander';
import { type CommonOptions, print, withCommonOptions, withGatehouse } from './context.js';

export function registerMigrate(program: Command): void {
  withCommonOptions(program.command('migrate').description('bring the database schema up to date')).action(
    async (options: CommonOptions) => {
      const applied = await withGatehouse(options, async (gatehouse) => gatehouse.store.description);
      print(options, { ok: true, database: applied }, `Database ${applied} is up to date.`);
    },
  );
}
