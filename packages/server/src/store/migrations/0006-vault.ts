import type { Kysely, Migration } from 'kysely';
import { createTable } from './create-table.js';

export const vaultMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await createTable(db, 'vault_connections')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(100)', (c) => c.notNull().unique())
      .addColumn('token_url', 'varchar(2048)', (c) => c.notNull())
      .addColumn('grant_type', 'varchar(32)', (c) => c.notNull())
      .addColumn('client_id', 'varchar(512)', (c) => c.notNull())
      .addColumn('client_secret_sealed', 'text', (c) => c.notNull())
      .addColumn('token_endpoint_auth_method', 'varchar(32)', (c) => c.notNull())
      .addColumn('scope', 'varchar(2048)')
      .addColumn('extra_params', 'text')
      .addColumn('refresh_token_sealed', 'text')
      .addColumn('refresh_margin_seconds', 'integer', (c) => c.notNull())
      .addColumn('access_token_sealed', 'text')
      .addColumn('access_token_preview', 'varchar(64)')
      .addColumn('token_type', 'varchar(32)')
      .addColumn('granted_scope', 'varchar(2048)')
      .addColumn('expires_at', 'bigint')
      .addColumn('last_refresh_at', 'bigint')
      .addColumn('state', 'varchar(32)', (c) => c.notNull())
      .addColumn('last_error_code', 'varchar(64)')
      .addColumn('last_error_detail', 'text')
      .addColumn('last_error_at', 'bigint')
      .addColumn('failure_count', 'integer', (c) => c.notNull())
      .addColumn('next_attempt_at', 'bigint')
      // The refresh lease: whoever sets these (conditionally) is the one caller refreshing this connection.
      .addColumn('refresh_lease_until', 'bigint')
      .addColumn('lease_holder', 'varchar(64)')
      .addColumn('revision', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    await createTable(db, 'vault_refreshes')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('connection_id', 'varchar(36)', (c) =>
        c.notNull().references('vault_connections.id').onDelete('cascade'),
      )
      .addColumn('triggered_by', 'varchar(16)', (c) => c.notNull())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('received_at', 'bigint')
      .addColumn('outcome', 'varchar(64)', (c) => c.notNull())
      .addColumn('provider_error', 'varchar(128)')
      .addColumn('detail', 'text')
      .addColumn('expires_in', 'bigint')
      .addColumn('computed_expires_at', 'bigint')
      .addColumn('provider_expires_at', 'bigint')
      .addColumn('expires_at', 'bigint')
      .addColumn('expiry_source', 'varchar(16)')
      .addColumn('difference_ms', 'bigint')
      .addColumn('lease_holder', 'varchar(64)', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('vault_refreshes_connection_started')
      .on('vault_refreshes')
      .columns(['connection_id', 'started_at'])
      .execute();
  },
};
