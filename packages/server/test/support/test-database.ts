import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';

export type TestDialect = 'sqlite' | 'postgres' | 'mysql';

/**
 * The database the suite runs on: SQLite by default, PostgreSQL or MariaDB/MySQL when
 * GATEHOUSE_TEST_DATABASE=postgres or mysql (`.ci/run` runs the suite every way). Each call makes a fresh,
 * empty database and a data directory.
 */
export const testDialect: TestDialect =
  (['postgres', 'mysql'] as const).find((dialect) => dialect === process.env.GATEHOUSE_TEST_DATABASE) ??
  'sqlite';
/** A database server that several instances share (the fleet tests run on these). */
export const sharedDatabase = testDialect !== 'sqlite';
const adminUrl = process.env.GATEHOUSE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const mysqlAdminUrl = process.env.GATEHOUSE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
/** When set (e.g. PgBouncer in transaction mode), Gatehouse reaches each test database through this pooler. */
const poolerUrl = process.env.GATEHOUSE_TEST_POSTGRES_POOLER_URL;

export interface TestDatabase {
  dataDir: string;
  /** GATEHOUSE_DATABASE_URL for this database. */
  url: string;
  /** The same database without any pooler in between (PostgreSQL only). */
  directUrl?: string;
  dialect: TestDialect;
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

async function withMysqlAdmin<T>(work: (connection: mysql.Connection) => Promise<T>): Promise<T> {
  const server = new URL(mysqlAdminUrl);
  server.pathname = '/';
  const connection = await mysql.createConnection(server.href);
  try {
    return await work(connection);
  } finally {
    await connection.end();
  }
}

const uniqueName = () => `gatehouse_test_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;

/**
 * A MySQL/MariaDB database created with the server's case- and accent-insensitive default collation, as an
 * operator's would be (Gatehouse's tables must not depend on it), and its own account, which an outage test
 * can lock.
 */
async function createMysqlDatabase(dataDir: string): Promise<TestDatabase> {
  const name = uniqueName();
  const password = randomBytes(12).toString('hex');
  await withMysqlAdmin(async (c) => {
    await c.query(`create database ${name} character set utf8mb4 collate utf8mb4_general_ci`);
    await c.query(`create user '${name}'@'%' identified by '${password}'`);
    await c.query(`grant all on ${name}.* to '${name}'@'%'`);
  });
  const url = new URL(mysqlAdminUrl);
  url.pathname = `/${name}`;
  url.username = name;
  url.password = password;
  return {
    dataDir,
    url: url.href,
    dialect: 'mysql',
    async drop() {
      await withMysqlAdmin(async (c) => {
        await c.query(`drop database if exists ${name}`);
        await c.query(`drop user if exists '${name}'@'%'`);
      });
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Makes the database unusable the way operators meet it, and answers the function that gives it back:
 * on SQLite another process holds it locked; PostgreSQL refuses connections to it and ends those it had;
 * on MySQL/MariaDB its account is locked and its connections killed.
 */
export async function takeDatabaseAway(database: TestDatabase): Promise<() => Promise<void>> {
  if (database.dialect === 'sqlite') {
    const intruder = new SQLite(database.url.slice('sqlite:'.length));
    intruder.pragma('busy_timeout = 0');
    intruder.exec('begin exclusive');
    return async () => {
      intruder.exec('rollback');
      intruder.close();
    };
  }
  const name = new URL(database.url).pathname.slice(1);
  if (database.dialect === 'mysql') {
    await withMysqlAdmin(async (c) => {
      await c.query(`alter user '${name}'@'%' account lock`);
      const [sessions] = await c.query<mysql.RowDataPacket[]>(
        'select id from information_schema.processlist where user = ?',
        [name],
      );
      for (const { id } of sessions) await c.query(`kill connection ${Number(id)}`);
    });
    return () => withMysqlAdmin(async (c) => void (await c.query(`alter user '${name}'@'%' account unlock`)));
  }
  await withAdminClient(async (client) => {
    await client.query(`alter database ${name} allow_connections false`);
    await client.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${name}'`);
  });
  return () =>
    withAdminClient(
      async (client) => void (await client.query(`alter database ${name} allow_connections true`)),
    );
}

export async function createTestDatabase(dialect: TestDialect = testDialect): Promise<TestDatabase> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-test-'));
  if (dialect === 'sqlite') {
    const url = `sqlite:${path.join(dataDir, 'gatehouse.db')}`;
    return { dataDir, url, dialect, drop: () => rm(dataDir, { recursive: true, force: true }) };
  }
  if (dialect === 'mysql') return createMysqlDatabase(dataDir);
  const name = uniqueName();
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
