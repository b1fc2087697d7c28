import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './test-server.js';

const adminUrl = new URL(
  process.env.GATEHOUSE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
);

export interface PgBouncer {
  /** Rewrites a direct PostgreSQL URL so that it goes through this PgBouncer. */
  through(databaseUrl: string): string;
  stop(): Promise<void>;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function postgresIds(): Promise<[number, number]> {
  const id = async (flag: string) => Number((await promisify(execFile)('id', [flag, 'postgres'])).stdout);
  return [await id('-u'), await id('-g')];
}

/**
 * A private PgBouncer (Debian's package) in transaction mode on a random port, in front of the test
 * PostgreSQL. It refuses to run as root, so as root it runs as the postgres user.
 */
export async function startPgBouncer(): Promise<PgBouncer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-pgbouncer-'));
  const port = await freePort();
  const config = path.join(dir, 'pgbouncer.ini');
  await writeFile(path.join(dir, 'userlist.txt'), `"${adminUrl.username}" ""\n`);
  await writeFile(
    config,
    [
      '[databases]',
      `* = host=${adminUrl.hostname} port=${adminUrl.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      'max_client_conn = 500',
      'default_pool_size = 20',
      'query_wait_timeout = 5',
      'server_login_retry = 1',
      'ignore_startup_parameters = extra_float_digits,options',
      '',
    ].join('\n'),
  );
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    await chmod(dir, 0o755);
    for (const file of [dir, config, path.join(dir, 'userlist.txt')])
      await chown(file, ...(await postgresIds()));
  }
  const child: ChildProcess = asRoot
    ? spawn('runuser', ['-u', 'postgres', '--', 'pgbouncer', config], { stdio: 'ignore' })
    : spawn('pgbouncer', [config], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let attempt = 0; !(await portOpen(port)); attempt++) {
    if (attempt > 100 || child.exitCode !== null)
      throw new Error(`pgbouncer did not start on port ${port} (is Debian's pgbouncer installed?)`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    through(databaseUrl) {
      const url = new URL(databaseUrl);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.href;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
