import { type CreateTableBuilder, type Kysely, sql } from 'kysely';
import { isMysql } from '../dialect.js';

/**
 * Starts a CREATE TABLE. On MySQL and MariaDB the table is InnoDB in utf8mb4 with the binary collation: the
 * default collations ignore case and accents, so two token hashes, key previews or names that differ only in
 * case would compare equal. (Added with the MySQL dialect; on SQLite and PostgreSQL these migrations are
 * unchanged.)
 */
export function createTable(db: Kysely<unknown>, name: string): CreateTableBuilder<string, never> {
  const table = db.schema.createTable(name);
  return isMysql(db)
    ? table.modifyEnd(sql`engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin`)
    : table;
}
