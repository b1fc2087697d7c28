import { startPgBouncer } from './pgbouncer.js';

/**
 * vitest global setup: with GATEHOUSE_TEST_THROUGH_PGBOUNCER=1 the whole PostgreSQL suite reaches its
 * databases through one PgBouncer in transaction mode (test workers inherit the pooler's URL).
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env.GATEHOUSE_TEST_THROUGH_PGBOUNCER !== '1') return undefined;
  const pgbouncer = await startPgBouncer();
  process.env.GATEHOUSE_TEST_POSTGRES_POOLER_URL = pgbouncer.through(
    process.env.GATEHOUSE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  );
  return () => pgbouncer.stop();
}
