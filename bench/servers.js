import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const SERVERS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'servers');

/**
 * Forks bench/servers/<name>.js, which listens on a free port of 127.0.0.1 and sends it over IPC, with
 * anything else the run needs from it (Gatehouse: `apiKeys`, plain-text keys it seeded).
 */
export async function startServer(name, env = {}) {
  const child = fork(path.join(SERVERS_DIR, `${name}.js`), { env: { ...process.env, ...env } });
  const { port, ...details } = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`${name} server exited (code ${code}) before listening`)));
  });
  return {
    ...details,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      const exited = once(child, 'exit');
      child.disconnect();
      await exited;
    },
  };
}

async function onPostgres(postgresUrl, statement) {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A database of the run's own on `postgresUrl`'s server, or why there is none (its rows are then skipped). */
export async function createPostgresDatabase(postgresUrl) {
  const name = `gatehouse_bench_${randomBytes(6).toString('hex')}`;
  try {
    await onPostgres(postgresUrl, `CREATE DATABASE ${name}`);
  } catch (error) {
    return { unavailable: `no PostgreSQL at ${postgresUrl}: ${error.message}` };
  }
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return { url: url.href, drop: () => onPostgres(postgresUrl, `DROP DATABASE ${name} WITH (FORCE)`) };
}
