import type { Kysely, Migration } from 'kysely';
import { createTable } from './create-table.js';

export const coreMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await createTable(db, 'installation')
      // One row per database: the fixed `singleton` key makes a concurrent first start insert it once.
      .addColumn('singleton', 'integer', (c) => c.primaryKey())
      .addColumn('id', 'varchar(36)', (c) => c.notNull())
      .addColumn('master_key_fingerprint', 'varchar(64)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();

    await createTable(db, 'signing_keys')
      .addColumn('kid', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('alg', 'varchar(16)', (c) => c.notNull())
      .addColumn('state', 'varchar(16)', (c) => c.notNull())
      .addColumn('public_jwk', 'text', (c) => c.notNull())
      .addColumn('private_jwk_sealed', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('activated_at', 'bigint')
      .addColumn('retired_at', 'bigint')
      .addColumn('verify_until', 'bigint')
      .execute();

    await createTable(db, 'users')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('email', 'varchar(320)', (c) => c.notNull().unique())
      .addColumn('name', 'varchar(200)')
      .addColumn('password_hash', 'text')
      .addColumn('roles', 'varchar(1000)', (c) => c.notNull())
      .addColumn('disabled_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    await createTable(db, 'user_tombstones')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('deleted_at', 'bigint', (c) => c.notNull())
      .addColumn('deleted_by', 'varchar(36)')
      .execute();

    await createTable(db, 'sessions')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('ip', 'varchar(64)')
      .addColumn('user_agent', 'varchar(512)')
      .addColumn('amr', 'varchar(200)', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .addColumn('revoked_reason', 'varchar(64)')
      .execute();
    await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute();

    await createTable(db, 'refresh_tokens')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('session_id', 'varchar(36)', (c) =>
        c.notNull().references('sessions.id').onDelete('cascade'),
      )
      .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .addColumn('successor_id', 'varchar(36)')
      .execute();
    await db.schema
      .createIndex('refresh_tokens_session_id')
      .on('refresh_tokens')
      .column('session_id')
      .execute();
  },
};
