import type { Kysely, Migration } from 'kysely';
import { createTable } from './create-table.js';

/**
 * What several instances share: the feed of cache changes, leases for work done once per fleet, and the
 * per-client rate-limit counters used when Redis is not there to hold them.
 */
export const fleetMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await createTable(db, 'cache_changes')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('kind', 'varchar(16)', (c) => c.notNull())
      .addColumn('subject', 'varchar(64)', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('cache_changes_at').on('cache_changes').column('at').execute();
    await createTable(db, 'leases')
      .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('holder', 'varchar(64)', (c) => c.notNull())
      .addColumn('until', 'bigint', (c) => c.notNull())
      .execute();
    await createTable(db, 'rate_limits')
      .addColumn('key', 'varchar(200)', (c) => c.primaryKey())
      .addColumn('window_start', 'bigint', (c) => c.notNull())
      .addColumn('count', 'integer', (c) => c.notNull())
      .execute();
  },
};
