import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.js';

export interface PoolerReport {
  /** The port the URL names differs from the port the PostgreSQL server listens on. */
  behindProxy: boolean;
  /** A connection changed server backends between two statements: transaction (or statement) pooling. */
  transactionPooling: boolean;
  urlPort: number;
  serverPort: number;
}

async function backendPid(db: Kysely<Database>): Promise<number> {
  const result = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
  return Number(result.rows[0]?.pid);
}

/**
 * Finds out whether a pooler sits between Gatehouse and PostgreSQL. Connection A runs a statement, then
 * connection B opens a transaction, then A runs another: directly, A keeps its backend; through a
 * transaction pooler, A's first backend went back to the pool (B usually gets it), so A's backend changes.
 */
export async function detectPooler(db: Kysely<Database>, databaseUrl: string): Promise<PoolerReport> {
  const urlPort = Number(new URL(databaseUrl).port || 5432);
  const portRow = await sql<{ port: string }>`select current_setting('port') as port`.execute(db);
  const serverPort = Number(portRow.rows[0]?.port);
  const transactionPooling = await db.connection().execute(async (first) => {
    const before = await backendPid(first);
    return db.transaction().execute(async (second) => {
      await backendPid(second);
      return (await backendPid(first)) !== before;
    });
  });
  return { behindProxy: urlPort !== serverPort, transactionPooling, urlPort, serverPort };
}
