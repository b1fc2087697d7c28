import { type TSchema, Type } from '@sinclair/typebox';
import { choice, duration, integer, list, proxies, type Setting, text, url } from './setting-kinds.js';

/**
 * Every setting Gatehouse reads, each declared once: its variable, flag, type, default, bounds and meaning.
 * load-config.ts reads them, and README.md's settings table is rendered from them (settings-doc.ts).
 * Durations are in seconds. The order is the README's.
 */
export const settingsSchema = Type.Object({
  port: integer({
    env: 'GATEHOUSE_PORT',
    flag: '--port',
    description: 'port to listen on (`0`: any free port)',
    default: 4000,
    minimum: 0,
    maximum: 65_535,
  }),
  host: text({
    env: 'GATEHOUSE_HOST',
    flag: '--host',
    description: 'address to listen on',
    holds: 'a host name or IP address',
    default: '127.0.0.1',
  }),
  dataDir: text({
    env: 'GATEHOUSE_DATA_DIR',
    flag: '--data-dir',
    description: 'data directory: the SQLite database and the master key file, unless set otherwise',
    holds: 'a path',
    default: './.gatehouse',
  }),
  databaseUrl: Type.Optional(
    text({
      env: 'GATEHOUSE_DATABASE_URL',
      flag: '--database-url',
      description: 'the database: a SQLite file, PostgreSQL, or MySQL 8 / MariaDB 10.5+',
      holds: 'a file path, sqlite:PATH, postgres://… or mysql://…',
      derivedDefault: '`<data dir>/gatehouse.db`',
    }),
  ),
  masterKey: Type.Optional(
    text({
      env: 'GATEHOUSE_MASTER_KEY',
      description:
        "the key that seals signing keys and stored secrets (`gatehouse master-key generate`); when set, the data directory's key file is neither read nor written",
      holds: '32 bytes, base64url',
    }),
  ),
  masterKeyFile: Type.Optional(
    text({
      env: 'GATEHOUSE_MASTER_KEY_FILE',
      description:
        'a file holding the master key, read and never created; set this or `GATEHOUSE_MASTER_KEY`, not both',
      holds: 'a path',
      derivedDefault: '`<data dir>/master.key`, created on first start',
    }),
  ),
  env: choice(['development', 'production'], {
    env: 'GATEHOUSE_ENV',
    description: '`production` refuses to start without a master key or with a non-https public URL',
    default: 'development',
  }),
  publicUrl: Type.Optional(
    url({
      env: 'GATEHOUSE_PUBLIC_URL',
      description: 'the issuer (`iss`) and base of the discovery document',
      protocols: ['http:', 'https:'],
      derivedDefault: '`http://HOST:PORT`',
    }),
  ),
  name: Type.Optional(
    text({
      env: 'GATEHOUSE_NAME',
      description:
        "the installation's name as people see it: the issuer an authenticator app shows beside the account",
      holds: 'a name of up to 64 characters, without a colon (the authenticator URI format forbids one)',
      pattern: '^[^:]+$',
      maxLength: 64,
      derivedDefault: "the public URL's host name",
    }),
  ),
  tokenAudience: Type.Optional(
    list({
      env: 'GATEHOUSE_TOKEN_AUDIENCE',
      description: '`aud` of access tokens',
      holds: 'audiences',
      derivedDefault: 'the public URL',
    }),
  ),
  signingAlg: choice(['EdDSA', 'ES256'], {
    env: 'GATEHOUSE_SIGNING_ALG',
    description: 'algorithm of new signing keys',
    default: 'EdDSA',
  }),
  clockSkewSeconds: integer({
    env: 'GATEHOUSE_CLOCK_SKEW_SECONDS',
    description: 'tolerance for `exp`/`nbf`, in seconds',
    default: 30,
    minimum: 0,
    maximum: 600,
  }),
  accessTokenTtl: duration({
    env: 'GATEHOUSE_ACCESS_TOKEN_TTL',
    description: 'access token lifetime',
    default: 600,
  }),
  refreshTokenTtl: duration({
    env: 'GATEHOUSE_REFRESH_TOKEN_TTL',
    description: 'refresh token lifetime',
    default: 30 * 86_400,
  }),
  refreshGraceSeconds: integer({
    env: 'GATEHOUSE_REFRESH_GRACE_SECONDS',
    description: 'concurrent refreshes of one token inside this many seconds all get the same successor',
    default: 10,
    minimum: 0,
    maximum: 300,
  }),
  sessionIdleTimeout: duration({
    env: 'GATEHOUSE_SESSION_IDLE_TIMEOUT',
    description: 'a session unused this long ends',
    default: 7 * 86_400,
  }),
  sessionAbsoluteTimeout: duration({
    env: 'GATEHOUSE_SESSION_ABSOLUTE_TIMEOUT',
    description: 'a session ends this long after sign-in, used or not',
    default: 30 * 86_400,
  }),
  maxSessionsPerUser: integer({
    env: 'GATEHOUSE_MAX_SESSIONS_PER_USER',
    description: 'live sessions per user; a new one beyond it revokes the oldest',
    default: 20,
    minimum: 1,
    maximum: 10_000,
  }),
  signup: choice(['open', 'closed'], {
    env: 'GATEHOUSE_SIGNUP',
    description: '`closed` refuses self sign-up (`403 signup_closed`)',
    default: 'open',
  }),
  lockoutThreshold: integer({
    env: 'GATEHOUSE_LOCKOUT_THRESHOLD',
    description:
      'consecutive failures (password, password change, MFA code) before an account is locked; the lock doubles with each further failure (1 s … 15 min)',
    default: 5,
    minimum: 1,
    maximum: 1000,
  }),
  loginRateLimit: integer({
    env: 'GATEHOUSE_LOGIN_RATE_LIMIT',
    description: 'sign-up, login and password-change requests per minute per client IP (`0`: no limit)',
    default: 60,
    minimum: 0,
    maximum: 1_000_000,
  }),
  tokenRateLimit: integer({
    env: 'GATEHOUSE_TOKEN_RATE_LIMIT',
    description:
      '`POST /oauth/token` requests (refresh and client_credentials) per minute per client IP (`0`: no limit)',
    default: 600,
    minimum: 0,
    maximum: 10_000_000,
  }),
  keyVerifyRateLimit: integer({
    env: 'GATEHOUSE_KEY_VERIFY_RATE_LIMIT',
    description: '`POST /v1/keys/verify` requests per minute per client IP (`0`: no limit)',
    default: 6000,
    minimum: 0,
    maximum: 10_000_000,
  }),
  trustProxy: proxies({
    env: 'GATEHOUSE_TRUST_PROXY',
    description: 'whose `X-Forwarded-For` is believed; `true` is refused, since it would believe any client',
    maxHops: 10,
  }),
  corsOrigins: list({
    env: 'GATEHOUSE_CORS_ORIGINS',
    description:
      'browser origins (other than the public URL) allowed to call Gatehouse cross-origin with bearer tokens; the session cookie stays same-site',
    holds: 'origins such as https://app.example.com',
    pattern: '^https?://[^/?#\\s]+$',
    default: [],
  }),
  redisUrl: Type.Optional(
    url({
      env: 'GATEHOUSE_REDIS_URL',
      description:
        "instances hear each other's changes through Redis pub/sub at once; if Redis goes away the database poll carries them",
      protocols: ['redis:', 'rediss:'],
    }),
  ),
  cacheSeconds: integer({
    env: 'GATEHOUSE_CACHE_SECONDS',
    description:
      'the longest an instance trusts its in-memory view of sessions, users, API keys and clients; every change (logout, revoke, disable, suspend) is announced on the change feed, applies at once on the instance that made it and on the others at their next feed read (`0`: read the database every time)',
    default: 30,
    minimum: 0,
    maximum: 3600,
  }),
  changePollMs: integer({
    env: 'GATEHOUSE_CHANGE_POLL_MS',
    description:
      'how often, in milliseconds, an instance reads the change feed from the database; with Redis, changes arrive at once and the poll is the fallback',
    default: 250,
    minimum: 50,
    maximum: 60_000,
  }),
  shutdownDrainSeconds: Type.Optional(
    integer({
      env: 'GATEHOUSE_SHUTDOWN_DRAIN_SECONDS',
      description:
        'after SIGTERM, how long `/readyz` answers 503 `draining` while requests are still served, so a balancer moves traffic away before the listener closes; then in-flight requests finish, queued events and key-use records are written, and the process exits 0',
      minimum: 0,
      maximum: 300,
      derivedDefault: '`5` in production, `0` otherwise',
    }),
  ),
  passwordHashConcurrency: Type.Optional(
    integer({
      env: 'GATEHOUSE_PASSWORD_HASH_CONCURRENCY',
      description: 'argon2 hashes at once; one core stays free for the event loop',
      minimum: 1,
      maximum: 64,
      derivedDefault: 'cores − 1 (at least 1)',
    }),
  ),
  passwordHashQueue: integer({
    env: 'GATEHOUSE_PASSWORD_HASH_QUEUE',
    description: 'hashes that may wait; beyond it login answers `503 overloaded` with `retry-after`',
    default: 64,
    minimum: 0,
    maximum: 100_000,
  }),
  keyringRefreshSeconds: integer({
    env: 'GATEHOUSE_KEYRING_REFRESH_SECONDS',
    description: 'how often an instance re-reads the signing keys, so a rotation made elsewhere is picked up',
    default: 5,
    minimum: 1,
    maximum: 300,
  }),
  agentHeartbeatTimeout: duration({
    env: 'GATEHOUSE_AGENT_HEARTBEAT_TIMEOUT',
    description: 'an agent without a heartbeat for this long is listed `offline`',
    default: 90,
  }),
  eventRetentionDays: integer({
    env: 'GATEHOUSE_EVENT_RETENTION_DAYS',
    description: 'events older than this many days are deleted',
    default: 30,
    minimum: 1,
    maximum: 3650,
  }),
  vaultRefreshInterval: duration({
    env: 'GATEHOUSE_VAULT_REFRESH_INTERVAL',
    description:
      "how often the vault's background refresher looks for tokens due for renewal (each instance; one refresh per connection)",
    default: 30,
    maximum: 3600,
  }),
  vaultProviderTimeout: duration({
    env: 'GATEHOUSE_VAULT_PROVIDER_TIMEOUT',
    description:
      "how long a provider's token endpoint may take before the attempt counts as a passing failure",
    default: 10,
    maximum: 120,
  }),
  logLevel: choice(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    env: 'GATEHOUSE_LOG_LEVEL',
    description: 'pino level; secrets are redacted',
    default: 'info',
  }),
});

/** Each setting with its key, in declaration order. */
export const settingEntries = Object.entries<TSchema>(settingsSchema.properties).map(
  ([key, schema]) => [key, schema as Setting] as const,
);
