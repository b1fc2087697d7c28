import type { Kysely, Migration } from 'kysely';

export const cookieSessionsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('sessions').addColumn('cookie_hash', 'varchar(64)').execute();
    await db.schema
      .createIndex('sessions_cookie_hash')
      .on('sessions')
      .column('cookie_hash')
      .unique()
      .execute();
  },
};
