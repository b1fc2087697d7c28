import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

/**
 * The database the suite runs on: SQLite by default, PostgreSQL when GATEHOUSE_TEST_DATABASE=postgres
 * (`.ci/run` runs the suite both ways). Each call makes a fresh, empty database and a data directory.
 */
export const testDialect = process.env.GATEHOUSE_TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite';
const adminUrl = process.env.GATEHOUSE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** When set (e.g. PgBouncer in transaction mode), Gatehouse reaches each test database through this pooler. */
const poolerUrl = process.env.GATEHOUSE_TEST_POSTGRES_POOLER_URL;

export interface TestDatabase {
  dataDir: string;
  /** GATEHOUSE_DATABASE_URL for this database. */
  url: string;
  /** The same database without any pooler in between (PostgreSQL only). */
  directUrl?: string;
  dialect: 'sqlite' | 'postgres';
  drop(): Promise<void>;
}

async function withAdminClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(
  dialect: 'sqlite' | 'postgres' = testDialect,
): Promise<TestDatabase> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-test-'));
  if (dialect === 'sqlite') {
    const url = `sqlite:${path.join(dataDir, 'gatehouse.db')}`;
    return { dataDir, url, dialect, drop: () => rm(dataDir, { recursive: true, force: true }) };
  }
  const name = `gatehouse_test_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  await withAdminClient((client) => client.query(`create database ${name}`));
  const url = new URL(poolerUrl ?? adminUrl);
  url.pathname = `/${name}`;
  const directUrl = new URL(adminUrl);
  directUrl.pathname = `/${name}`;
  return {
    dataDir,
    url: url.href,
    directUrl: directUrl.href,
    dialect,
    async drop() {
      await withAdminClient((client) => client.query(`drop database if exists ${name} with (force)`));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
