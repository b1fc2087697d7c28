import type { Command } from 'commander';
import { type CommonOptions, print, withCommonOptions, withGatehouse } from './context.js';

export function registerMigrate(program: Command): void {
  withCommonOptions(program.command('migrate').description('bring the database schema up to date')).action(
    async (options: CommonOptions) => {
      const { database, applied } = await withGatehouse(options, async (services) => ({
        database: services.databaseName,
        applied: services.migrationsApplied,
      }));
      const done = applied.length ? `Applied ${applied.join(', ')}. ` : '';
      print(options, { ok: true, database, applied }, `${done}Database ${database} is up to date.`);
    },
  );
}
