import { execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

const portOpen = (port) =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** Debian's PgBouncer in transaction mode in front of `postgresUrl`'s server, on a free port. */
export async function startPgBouncer(postgresUrl) {
  const target = new URL(postgresUrl);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-pgbouncer-'));
  const port = await freePort();
  const config = path.join(dir, 'pgbouncer.ini');
  writeFileSync(path.join(dir, 'users.txt'), `"${target.username}" ""\n`);
  writeFileSync(
    config,
    `[databases]\n* = host=${target.hostname} port=${target.port || 5432}\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = ${port}\nunix_socket_dir =\nauth_type = trust\nauth_file = ${path.join(dir, 'users.txt')}\npool_mode = transaction\nmax_client_conn = 500\ndefault_pool_size = 20\nquery_wait_timeout = 5\nignore_startup_parameters = extra_float_digits,options\n`,
  );
  // PgBouncer refuses to run as root.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']));
    const gid = Number(execFileSync('id', ['-g', 'postgres']));
    for (const file of [dir, config, path.join(dir, 'users.txt')]) chownSync(file, uid, gid);
  }
  const child = asRoot
    ? spawn('runuser', ['-u', 'postgres', '--', 'pgbouncer', config], { stdio: 'ignore' })
    : spawn('pgbouncer', [config], { stdio: 'ignore' });
  for (let attempt = 0; !(await portOpen(port)); attempt++) {
    if (attempt > 100 || child.exitCode !== null) throw new Error('pgbouncer did not start');
    await sleep(50);
  }
  return {
    through(databaseUrl) {
      const url = new URL(databaseUrl);
      url.port = String(port);
      return url.href;
    },
    stop() {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
