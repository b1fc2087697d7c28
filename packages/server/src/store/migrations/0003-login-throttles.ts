import type { Kysely, Migration } from 'kysely';
import { createTable } from './create-table.js';

export const loginThrottlesMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await createTable(db, 'login_throttles')
      .addColumn('account', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('failures', 'integer', (c) => c.notNull())
      .addColumn('last_failure_at', 'bigint', (c) => c.notNull())
      .addColumn('locked_until', 'bigint')
      .execute();
  },
};
