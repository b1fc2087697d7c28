import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { DatabaseTarget } from '../store/database.js';
import type { Config, MasterKeySource } from './config.js';
import { ConfigError, parseChoice, parseDuration, parseInteger, parseList, parseUrl } from './parse.js';

/** Command-line flags; each one overrides its GATEHOUSE_* variable. */
export interface ConfigFlags {
  port?: string;
  host?: string;
  dataDir?: string;
  databaseUrl?: string;
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function databaseTarget(raw: string | undefined, dataDir: string, cwd: string): DatabaseTarget {
  if (!raw) return { dialect: 'sqlite', path: path.join(dataDir, 'gatehouse.db') };
  if (/^postgres(ql)?:\/\//.test(raw)) {
    parseUrl('GATEHOUSE_DATABASE_URL', raw, ['postgres:', 'postgresql:']);
    return { dialect: 'postgres', url: raw };
  }
  if (/^(mysql|mariadb):\/\//.test(raw)) {
    const url = parseUrl('GATEHOUSE_DATABASE_URL', raw, ['mysql:', 'mariadb:']);
    if (url.pathname.length <= 1) {
      throw new ConfigError(
        'GATEHOUSE_DATABASE_URL names no MySQL/MariaDB database (mysql://user@host:3306/DATABASE)',
      );
    }
    return { dialect: 'mysql', url: raw };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    throw new ConfigError(
      `GATEHOUSE_DATABASE_URL must be a file path, sqlite:PATH, postgres://… or mysql://… (got "${raw.split('://')[0]}://…")`,
    );
  }
  const file = raw.startsWith('sqlite:') ? raw.slice('sqlite:'.length) : raw;
  if (!file) throw new ConfigError('GATEHOUSE_DATABASE_URL names no SQLite file (got "sqlite:")');
  return { dialect: 'sqlite', path: path.resolve(cwd, file) };
}

function masterKeySource(env: Env, dataDir: string, cwd: string): MasterKeySource {
  if (env.GATEHOUSE_MASTER_KEY && env.GATEHOUSE_MASTER_KEY_FILE) {
    throw new ConfigError('Set GATEHOUSE_MASTER_KEY or GATEHOUSE_MASTER_KEY_FILE, not both');
  }
  if (env.GATEHOUSE_MASTER_KEY) {
    return { kind: 'value', value: env.GATEHOUSE_MASTER_KEY, origin: 'GATEHOUSE_MASTER_KEY' };
  }
  if (env.GATEHOUSE_MASTER_KEY_FILE) {
    return {
      kind: 'file',
      path: path.resolve(cwd, env.GATEHOUSE_MASTER_KEY_FILE),
      origin: 'GATEHOUSE_MASTER_KEY_FILE',
      createIfMissing: false,
    };
  }
  return {
    kind: 'file',
    path: path.join(dataDir, 'master.key'),
    origin: 'data directory',
    createIfMissing: true,
  };
}

function trustProxy(raw: string | undefined): Config['trustProxy'] {
  if (!raw || raw === 'off' || raw === 'false') return false;
  if (raw === 'true') {
    throw new ConfigError(
      'GATEHOUSE_TRUST_PROXY must be a hop count or a list of CIDRs, not "true" (that would believe any client)',
    );
  }
  if (/^\d+$/.test(raw)) return parseInteger('GATEHOUSE_TRUST_PROXY', raw, 1, 10);
  return parseList(raw);
}

/**
 * Reads flags and GATEHOUSE_* variables once, validates every setting, and returns a frozen Config.
 * Throws ConfigError with one line naming the setting at fault.
 */
export function loadConfig(options: { env?: Env; flags?: ConfigFlags; cwd?: string } = {}): Readonly<Config> {
  const env = options.env ?? process.env;
  const flags = options.flags ?? {};
  const cwd = options.cwd ?? process.cwd();
  const setting = (flag: string | undefined, name: string) => flag ?? env[name];
  const duration = (name: string, fallback: string) => parseDuration(name, env[name] ?? fallback);
  const durationUpTo = (name: string, fallback: string, maxSeconds: number) => {
    const seconds = duration(name, fallback);
    if (seconds > maxSeconds)
      throw new ConfigError(`${name} must be at most ${maxSeconds} seconds (got "${env[name]}")`);
    return seconds;
  };

  const mode = parseChoice('GATEHOUSE_ENV', env.GATEHOUSE_ENV ?? 'development', [
    'development',
    'production',
  ]);
  const port = parseInteger('GATEHOUSE_PORT', setting(flags.port, 'GATEHOUSE_PORT') ?? '4000', 0, 65_535);
  const host = setting(flags.host, 'GATEHOUSE_HOST') ?? '127.0.0.1';
  const dataDir = path.resolve(cwd, setting(flags.dataDir, 'GATEHOUSE_DATA_DIR') ?? '.gatehouse');
  const database = databaseTarget(setting(flags.databaseUrl, 'GATEHOUSE_DATABASE_URL'), dataDir, cwd);
  const masterKey = masterKeySource(env, dataDir, cwd);

  const urlHost = host.includes(':') ? `[${host}]` : host;
  const publicUrl = parseUrl(
    'GATEHOUSE_PUBLIC_URL',
    env.GATEHOUSE_PUBLIC_URL ?? `http://${urlHost === '0.0.0.0' ? '127.0.0.1' : urlHost}:${port}`,
    ['http:', 'https:'],
  );
  const issuer = publicUrl.href.replace(/\/$/, '');

  if (mode === 'production') {
    if (masterKey.kind === 'file' && masterKey.origin === 'data directory') {
      throw new ConfigError(
        'GATEHOUSE_ENV=production needs GATEHOUSE_MASTER_KEY or GATEHOUSE_MASTER_KEY_FILE: refusing to start (tokens must survive restarts)',
      );
    }
    if (publicUrl.protocol !== 'https:') {
      throw new ConfigError(
        `GATEHOUSE_ENV=production needs an https GATEHOUSE_PUBLIC_URL (got "${publicUrl.href}")`,
      );
    }
  }

  const accessTokenTtl = duration('GATEHOUSE_ACCESS_TOKEN_TTL', '600');
  const sessionAbsoluteTimeout = duration('GATEHOUSE_SESSION_ABSOLUTE_TIMEOUT', '30d');
  const config: Config = {
    env: mode,
    host,
    port,
    dataDir,
    database,
    redisUrl: env.GATEHOUSE_REDIS_URL
      ? parseUrl('GATEHOUSE_REDIS_URL', env.GATEHOUSE_REDIS_URL, ['redis:', 'rediss:']).href
      : undefined,
    masterKey,
    publicUrl: publicUrl.href,
    issuer,
    tokenAudience: env.GATEHOUSE_TOKEN_AUDIENCE ? parseList(env.GATEHOUSE_TOKEN_AUDIENCE) : [issuer],
    signingAlg: parseChoice('GATEHOUSE_SIGNING_ALG', env.GATEHOUSE_SIGNING_ALG ?? 'EdDSA', [
      'EdDSA',
      'ES256',
    ]),
    clockSkewSeconds: parseInteger(
      'GATEHOUSE_CLOCK_SKEW_SECONDS',
      env.GATEHOUSE_CLOCK_SKEW_SECONDS ?? '30',
      0,
      600,
    ),
    accessTokenTtl,
    refreshTokenTtl: duration('GATEHOUSE_REFRESH_TOKEN_TTL', '30d'),
    refreshGraceSeconds: parseInteger(
      'GATEHOUSE_REFRESH_GRACE_SECONDS',
      env.GATEHOUSE_REFRESH_GRACE_SECONDS ?? '10',
      0,
      300,
    ),
    sessionIdleTimeout: duration('GATEHOUSE_SESSION_IDLE_TIMEOUT', '7d'),
    sessionAbsoluteTimeout,
    maxSessionsPerUser: parseInteger(
      'GATEHOUSE_MAX_SESSIONS_PER_USER',
      env.GATEHOUSE_MAX_SESSIONS_PER_USER ?? '20',
      1,
      10_000,
    ),
    signup: parseChoice('GATEHOUSE_SIGNUP', env.GATEHOUSE_SIGNUP ?? 'open', ['open', 'closed']),
    lockoutThreshold: parseInteger(
      'GATEHOUSE_LOCKOUT_THRESHOLD',
      env.GATEHOUSE_LOCKOUT_THRESHOLD ?? '5',
      1,
      1000,
    ),
    trustProxy: trustProxy(env.GATEHOUSE_TRUST_PROXY),
    corsOrigins: env.GATEHOUSE_CORS_ORIGINS ? parseList(env.GATEHOUSE_CORS_ORIGINS) : [],
    agentHeartbeatTimeout: duration('GATEHOUSE_AGENT_HEARTBEAT_TIMEOUT', '90'),
    eventRetentionDays: parseInteger(
      'GATEHOUSE_EVENT_RETENTION_DAYS',
      env.GATEHOUSE_EVENT_RETENTION_DAYS ?? '30',
      1,
      3650,
    ),
    logLevel: parseChoice('GATEHOUSE_LOG_LEVEL', env.GATEHOUSE_LOG_LEVEL ?? 'info', LOG_LEVELS),
    cacheSeconds: parseInteger('GATEHOUSE_CACHE_SECONDS', env.GATEHOUSE_CACHE_SECONDS ?? '30', 0, 3600),
    changePollMs: parseInteger('GATEHOUSE_CHANGE_POLL_MS', env.GATEHOUSE_CHANGE_POLL_MS ?? '250', 50, 60_000),
    // Behind a balancer, readiness must be seen failing before the listener closes; alone, stop at once.
    shutdownDrainSeconds: parseInteger(
      'GATEHOUSE_SHUTDOWN_DRAIN_SECONDS',
      env.GATEHOUSE_SHUTDOWN_DRAIN_SECONDS ?? (mode === 'production' ? '5' : '0'),
      0,
      300,
    ),
    loginRateLimit: parseInteger(
      'GATEHOUSE_LOGIN_RATE_LIMIT',
      env.GATEHOUSE_LOGIN_RATE_LIMIT ?? '60',
      0,
      1_000_000,
    ),
    tokenRateLimit: parseInteger(
      'GATEHOUSE_TOKEN_RATE_LIMIT',
      env.GATEHOUSE_TOKEN_RATE_LIMIT ?? '600',
      0,
      10_000_000,
    ),
    keyVerifyRateLimit: parseInteger(
      'GATEHOUSE_KEY_VERIFY_RATE_LIMIT',
      env.GATEHOUSE_KEY_VERIFY_RATE_LIMIT ?? '6000',
      0,
      10_000_000,
    ),
    passwordHashing: {
      concurrency: parseInteger(
        'GATEHOUSE_PASSWORD_HASH_CONCURRENCY',
        env.GATEHOUSE_PASSWORD_HASH_CONCURRENCY ?? String(Math.max(1, availableParallelism() - 1)),
        1,
        64,
      ),
      maxQueue: parseInteger(
        'GATEHOUSE_PASSWORD_HASH_QUEUE',
        env.GATEHOUSE_PASSWORD_HASH_QUEUE ?? '64',
        0,
        100_000,
      ),
    },
    keyringRefreshSeconds: parseInteger(
      'GATEHOUSE_KEYRING_REFRESH_SECONDS',
      env.GATEHOUSE_KEYRING_REFRESH_SECONDS ?? '5',
      1,
      300,
    ),
    vaultRefreshInterval: durationUpTo('GATEHOUSE_VAULT_REFRESH_INTERVAL', '30s', 3600),
    vaultProviderTimeout: durationUpTo('GATEHOUSE_VAULT_PROVIDER_TIMEOUT', '10s', 120),
  };
  return Object.freeze(config);
}
