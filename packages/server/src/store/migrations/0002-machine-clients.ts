import type { Kysely, Migration } from 'kysely';
import { createTable } from './create-table.js';

export const machineClientsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await createTable(db, 'clients')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(200)', (c) => c.notNull())
      .addColumn('email', 'varchar(320)')
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('status_changed_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    await createTable(db, 'api_keys')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('client_id', 'varchar(36)', (c) => c.notNull().references('clients.id').onDelete('cascade'))
      .addColumn('name', 'varchar(200)', (c) => c.notNull())
      .addColumn('key_hash', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('preview', 'varchar(32)', (c) => c.notNull())
      .addColumn('scopes', 'varchar(500)', (c) => c.notNull())
      .addColumn('metadata', 'text')
      .addColumn('rate_limit', 'varchar(100)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .addColumn('last_used_at', 'bigint')
      .addColumn('revoked_at', 'bigint')
      .addColumn('revoked_reason', 'varchar(16)')
      .addColumn('rotated_at', 'bigint')
      .addColumn('successor_id', 'varchar(36)')
      .addColumn('successor_preview', 'varchar(32)')
      .execute();
    await db.schema.createIndex('api_keys_client_id').on('api_keys').column('client_id').execute();

    await createTable(db, 'agents')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('client_id', 'varchar(36)', (c) => c.notNull().references('clients.id').onDelete('cascade'))
      .addColumn('key_id', 'varchar(36)')
      .addColumn('name', 'varchar(200)', (c) => c.notNull())
      .addColumn('hostname', 'varchar(255)')
      .addColumn('version', 'varchar(64)')
      .addColumn('reported_status', 'varchar(64)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_heartbeat_at', 'bigint')
      .addColumn('last_auth_code', 'varchar(64)')
      .addColumn('last_auth_at', 'bigint')
      .execute();
    await db.schema.createIndex('agents_client_id').on('agents').column('client_id').execute();

    await createTable(db, 'events')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('type', 'varchar(64)', (c) => c.notNull())
      .addColumn('code', 'varchar(64)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(36)')
      .addColumn('client_id', 'varchar(36)')
      .addColumn('agent_id', 'varchar(36)')
      .addColumn('key_id', 'varchar(36)')
      .addColumn('session_id', 'varchar(36)')
      .addColumn('actor_id', 'varchar(36)')
      .addColumn('ip', 'varchar(64)')
      .addColumn('user_agent', 'varchar(512)')
      .addColumn('request_id', 'varchar(128)')
      .addColumn('token_preview', 'varchar(64)')
      .addColumn('detail', 'text')
      .execute();
    await db.schema.createIndex('events_at').on('events').column('at').execute();
    await db.schema.createIndex('events_code_at').on('events').columns(['code', 'at']).execute();
    await db.schema.createIndex('events_request_id').on('events').column('request_id').execute();
  },
};
