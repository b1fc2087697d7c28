import { stat } from 'node:fs/promises';
import { type Check, CheckTrail } from '../checks/check-trail.js';
import { humanDuration } from '../checks/human-duration.js';
import { type Clock, toIso } from '../clock.js';
import type { Config } from '../config/config.js';
import { describeStorageFailure } from '../errors/storage-unavailable.js';
import { WITHOUT_REDIS } from '../fleet/redis.js';
import type { Keyring } from '../keyring/keyring.js';
import type { Store } from '../store/database.js';
import type { InstallationRow } from '../store/installation-store.js';
import { pendingMigrations } from '../store/migrate.js';
import { databaseTime, pingDatabase } from '../store/ping.js';
import { detectPooler } from '../store/pooler.js';
import { classifyStorageFailure } from '../store/storage-errors.js';

export interface InstallationReport {
  ok: boolean;
  checks: Check[];
}

const TOLERATED_CLOCK_DIFFERENCE_MS = 2000;

/** What the doctor asks of Redis: where it is, and PING's round trip in ms (rejects past its bound). */
export interface RedisProbe {
  description: string;
  ping(): Promise<number>;
}

async function checkRedis(trail: CheckTrail, redis: RedisProbe | undefined): Promise<void> {
  if (!redis) return;
  await redis.ping().then(
    (ms) => trail.pass('redis', `${redis.description} answers PING in ${ms} ms`),
    (error: unknown) =>
      trail.fail(
        'redis',
        `${redis.description}: ${(error as Error).message}. Gatehouse runs without it: ${WITHOUT_REDIS}`,
      ),
  );
}

async function checkPermissions(trail: CheckTrail, config: Readonly<Config>): Promise<void> {
  const dir = await stat(config.dataDir).catch(() => undefined);
  if (!dir) {
    trail.skip('data directory', `${config.dataDir} does not exist (nothing is stored there)`);
  } else if (dir.mode & 0o007) {
    trail.fail(
      'data directory',
      `${config.dataDir} is readable by every user (mode ${(dir.mode & 0o777).toString(8)}); chmod 700 it`,
    );
  } else {
    trail.pass('data directory', `${config.dataDir} (mode ${(dir.mode & 0o777).toString(8)})`);
  }
  if (config.masterKey.kind === 'file') {
    const file = await stat(config.masterKey.path).catch(() => undefined);
    if (file && file.mode & 0o077) {
      trail.fail(
        'master key file',
        `${config.masterKey.path} has mode ${(file.mode & 0o777).toString(8)}; chmod 600 it`,
      );
    } else if (file) {
      trail.pass('master key file', `${config.masterKey.path} (mode 600)`);
    }
  }
}

async function checkPooler(trail: CheckTrail, config: Readonly<Config>, store: Store): Promise<void> {
  if (config.database.dialect !== 'postgres') return;
  const report = await detectPooler(store.db, config.database.url);
  if (!report.behindProxy && !report.transactionPooling) {
    trail.pass('pooler', 'None: Gatehouse talks to PostgreSQL directly');
    return;
  }
  const seen = report.transactionPooling
    ? 'Transaction pooling detected (connections change server backends between statements)'
    : `A proxy or pooler answers on port ${report.urlPort}; PostgreSQL listens on ${report.serverPort}`;
  trail.pass(
    'pooler',
    `${seen}. Everything works through it: Gatehouse keeps no session state on pooled connections ` +
      '(no named prepared statements, no session SET, only transaction-scoped advisory locks). ' +
      'Set the pooler to fail waiting clients fast (PgBouncer: query_wait_timeout = 5) so an outage answers 503 at once.',
  );
}

function checkPublicUrl(trail: CheckTrail, config: Readonly<Config>): void {
  const url = new URL(config.publicUrl);
  if (config.env === 'production' && url.protocol !== 'https:') {
    trail.fail('public URL', `${config.publicUrl} is not https in production`);
  } else if (['0.0.0.0', '[::]'].includes(url.hostname)) {
    trail.fail('public URL', `${config.publicUrl} names no reachable host; set GATEHOUSE_PUBLIC_URL`);
  } else {
    trail.pass('public URL', `Issuer ${config.issuer}, token audience ${config.tokenAudience.join(', ')}`);
  }
  const secure = url.protocol === 'https:';
  trail.pass(
    'cookies',
    secure
      ? 'Session cookies: __Host- prefix, Secure, HttpOnly, SameSite=Lax (derived from the https public URL)'
      : `Session cookies: HttpOnly, SameSite=Lax, not Secure (public URL is http${config.env === 'production' ? '' : '; fine for development'})`,
  );
}

/**
 * `gatehouse doctor`: everything an installation needs to keep its tokens valid, checked in order. An open
 * Gatehouse has every part it reads.
 */
export async function diagnoseInstallation(parts: {
  config: Readonly<Config>;
  clock: Clock;
  store: Store;
  /** Which master key this process holds; the key itself stays in the wiring. */
  masterKey: { fingerprint: string; origin: string };
  installation: Pick<InstallationRow, 'master_key_fingerprint'>;
  keyring: Keyring;
  /** Set when GATEHOUSE_REDIS_URL is. */
  redis: RedisProbe | undefined;
}): Promise<InstallationReport> {
  const { config, clock, store, keyring, masterKey } = parts;
  const createdWith = parts.installation.master_key_fingerprint;
  const trail = new CheckTrail();
  await pingDatabase(store.db).then(
    () => trail.pass('database', `${store.description} answers`),
    (error: unknown) =>
      trail.fail('database', describeStorageFailure(store.description, classifyStorageFailure(error))),
  );
  const pending = await pendingMigrations(store.db);
  if (pending.length) trail.fail('migrations', `Pending: ${pending.join(', ')}; run \`gatehouse migrate\``);
  else trail.pass('migrations', 'The schema is current');
  await checkPooler(trail, config, store).catch((error: unknown) =>
    trail.skip('pooler', `Could not tell: ${(error as Error).message}`),
  );
  await checkRedis(trail, parts.redis);

  if (masterKey.fingerprint === createdWith) {
    trail.pass(
      'master key',
      `${masterKey.fingerprint} from ${masterKey.origin}, the key this database was created with`,
    );
  } else {
    trail.fail(
      'master key',
      `${masterKey.origin} is ${masterKey.fingerprint}; the database was created with ${createdWith}`,
    );
  }

  const keys = keyring.list();
  const active = keys.find((key) => key.state === 'active');
  const next = keys.find((key) => key.state === 'next');
  const published = (JSON.parse(keyring.jwksJson()) as { keys: { kid: string }[] }).keys.map(
    (key) => key.kid,
  );
  if (active && next && published.includes(active.kid) && published.includes(next.kid)) {
    trail.pass(
      'signing keys',
      `Active ${active.kid} and next ${next.kid} are stored (sealed) and published in JWKS`,
    );
  } else {
    trail.fail(
      'signing keys',
      `Active ${active?.kid ?? 'missing'}, next ${next?.kid ?? 'missing'}; JWKS has ${published.join(', ') || 'no keys'}`,
    );
  }

  checkPublicUrl(trail, config);

  const dbTime = await databaseTime(store.db, store.dialect).catch((error: unknown) => error as Error);
  if (dbTime === undefined) {
    trail.skip('clock', `Server time ${toIso(clock.now())}; the database shares this host's clock`);
  } else if (dbTime instanceof Error) {
    trail.fail('clock', `Could not read the database server's clock: ${dbTime.message}`);
  } else {
    const difference = clock.now() - dbTime;
    const text = `Server ${toIso(clock.now())}, database ${toIso(dbTime)}: ${humanDuration(difference)} apart`;
    if (Math.abs(difference) > TOLERATED_CLOCK_DIFFERENCE_MS)
      trail.fail('clock', `${text}; synchronise the clocks (NTP)`);
    else trail.pass('clock', text);
  }

  await checkPermissions(trail, config);
  return { ok: trail.checks.every((check) => check.ok !== false), checks: trail.checks };
}
