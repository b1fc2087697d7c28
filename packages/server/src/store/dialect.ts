import {
  type InsertQueryBuilder,
  type InsertResult,
  type Kysely,
  MysqlAdapter,
  type QueryExecutor,
} from 'kysely';

export type DialectName = 'sqlite' | 'postgres' | 'mysql';

/**
 * MySQL and MariaDB have no `ON CONFLICT` and no `RETURNING` on every statement; the few stores that
 * upsert ask this and take the MySQL form. Everything else is the same Kysely query on every dialect.
 */
export function isMysql(db: { getExecutor(): QueryExecutor }): boolean {
  return db.getExecutor().adapter instanceof MysqlAdapter;
}

/** MySQL's duplicate-key error (ER_DUP_ENTRY). */
function isDuplicateKey(error: unknown): boolean {
  return (error as { errno?: unknown }).errno === 1062;
}

/**
 * Inserts the row unless one with the same unique key exists; true when this call inserted it. MySQL's
 * `INSERT IGNORE` would also turn a too-long value into a silent truncation, so there the duplicate-key
 * error is caught instead (a failed statement does not end a MySQL transaction, unlike PostgreSQL's).
 */
export async function insertIfAbsent<DB, Table extends keyof DB & string>(
  db: Kysely<DB>,
  insert: InsertQueryBuilder<DB, Table, InsertResult>,
): Promise<boolean> {
  if (!isMysql(db)) {
    const result = await insert.onConflict((conflict) => conflict.doNothing()).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }
  try {
    await insert.execute();
    return true;
  } catch (error) {
    if (isDuplicateKey(error)) return false;
    throw error;
  }
}
