import type { Kysely, Migration } from 'kysely';
import { createTable } from './create-table.js';

export const mfaMigration: Migration = {
  async up(db: Kysely<unknown>) {
    // Set when a second factor is confirmed, cleared when it is removed: login reads it with the user.
    await db.schema.alterTable('users').addColumn('mfa_enabled_at', 'bigint').execute();

    await createTable(db, 'mfa_totp')
      .addColumn('user_id', 'varchar(36)', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
      .addColumn('secret_sealed', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('confirmed_at', 'bigint')
      .addColumn('last_step', 'bigint', (c) => c.notNull())
      .execute();

    await createTable(db, 'mfa_backup_codes')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('code_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('mfa_backup_codes_user_hash')
      .on('mfa_backup_codes')
      .columns(['user_id', 'code_hash'])
      .unique()
      .execute();

    await createTable(db, 'mfa_challenges')
      .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();
    await db.schema.createIndex('mfa_challenges_user_id').on('mfa_challenges').column('user_id').execute();
  },
};
