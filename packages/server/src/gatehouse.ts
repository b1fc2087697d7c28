import type { Logger } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { type Agents, createAgents } from './agents/agents.js';
import { type ApiKeys, createApiKeys } from './apikeys/api-keys.js';
import { KeyCache } from './apikeys/key-cache.js';
import { installationTag } from './apikeys/key-format.js';
import { LastUsedBatcher } from './apikeys/last-used.js';
import { createMachineTokens, type MachineTokens } from './apikeys/machine-tokens.js';
import { type Clients, createClients } from './clients/clients.js';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config/config.js';
import { ConfigError } from './config/parse.js';
import {
  diagnoseInstallation,
  type InstallationReport,
  type RedisProbe,
} from './doctor/diagnose-installation.js';
import { createTokenDoctor, type TokenDoctor } from './doctor/diagnose-token.js';
import { createEvents, type Events } from './events/events.js';
import { type ChangeFeed, createChangeFeed } from './fleet/change-feed.js';
import { createLeases, type Leases } from './fleet/lease.js';
import { createRateCounter, type RateCounter } from './fleet/rate-counter.js';
import { connectRedis, WITHOUT_REDIS } from './fleet/redis.js';
import { redisBus } from './fleet/redis-bus.js';
import { checkReadiness, type Readiness } from './health/readiness.js';
import { type Keyring, openKeyring } from './keyring/keyring.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { createMfa, type Mfa } from './mfa/mfa.js';
import { createSecondFactorTransfer } from './mfa/second-factor-transfer.js';
import { loadMasterKey, type MasterKey } from './secrets/master-key.js';
import { createSessionViewCache } from './sessions/session-view-cache.js';
import { createSessions, type Sessions } from './sessions/sessions.js';
import { createSignIn, type SignIn } from './sessions/sign-in.js';
import { openStore, type Store } from './store/database.js';
import { claimInstallation, type InstallationRow } from './store/installation-store.js';
import { migrateToLatest } from './store/migrate.js';
import { type AccessTokens, createAccessTokens } from './tokens/access-tokens.js';
import { createLoginThrottle } from './users/login-throttle.js';
import { createPasswordHasher } from './users/passwords.js';
import { createUserTransfer, type UserTransfer } from './users/user-transfer.js';
import { createUsers, type Users } from './users/users.js';
import { createVault, type Vault } from './vault/vault.js';

const RATE_LIMIT_PRUNE_MS = 10 * 60_000;

/** Everything a running Gatehouse is made of, wired once; HTTP routes and CLI commands take what they need. */
export interface Gatehouse {
  config: Readonly<Config>;
  clock: Clock;
  logger: Logger;
  store: Store;
  /** The database, printable: its file, or its URL without the password. */
  databaseName: string;
  /** The migrations this process applied as it opened (none when another had, or they were all in place). */
  migrationsApplied: readonly string[];
  masterKey: MasterKey;
  /** What may be said of the master key (in the start log): never the key itself. */
  masterKeyInfo: Pick<MasterKey, 'fingerprint' | 'origin' | 'created'>;
  installation: InstallationRow;
  keyring: Keyring;
  accessTokens: AccessTokens;
  users: Users;
  userTransfer: UserTransfer;
  sessions: Sessions;
  events: Events;
  clients: Clients;
  apiKeys: ApiKeys;
  agents: Agents;
  machineTokens: MachineTokens;
  signIn: SignIn;
  mfa: Mfa;
  metrics: Metrics;
  tokenDoctor: TokenDoctor;
  /** `gatehouse doctor`'s checks: the database, Redis, the master key, the keyring, the clock, … */
  installationDoctor: { diagnose(): Promise<InstallationReport> };
  /** Where Redis is and whether it answers, when GATEHOUSE_REDIS_URL is set (for the start log). */
  redis: RedisProbe | undefined;
  /** How instances tell each other about changes to what they cache. */
  changes: ChangeFeed;
  /** Work done once across the fleet (this process's id is the holder). */
  leases: Leases;
  /** Per-client request counters shared by every instance. */
  rateCounter: RateCounter;
  vault: Vault;
  readiness(): Promise<Readiness>;
  /** From now on `readiness()` answers `draining`: the instance is about to stop. */
  beginDraining(): void;
  isDraining(): boolean;
  /** Timers that keep an instance current: keyring refresh, event writes, last-used batches, vault refreshes. */
  startBackgroundWork(): void;
  close(): Promise<void>;
}

/** Refuses a master key that is not the one this database was created with, naming both fingerprints. */
async function assertMasterKeyMatches(
  installation: InstallationRow,
  masterKey: MasterKey,
  databaseName: string,
): Promise<void> {
  if (installation.master_key_fingerprint === masterKey.fingerprint) return;
  if (masterKey.created) {
    // This start made a new key file next to an existing database: the database's key is missing, not wrong.
    await masterKey.discard();
    throw new ConfigError(
      `Master key missing: ${databaseName} was created with master key ${installation.master_key_fingerprint}, and ${masterKey.origin} did not exist; restore that key file (or set GATEHOUSE_MASTER_KEY) — refusing to start with a new key`,
    );
  }
  throw new ConfigError(
    `Master key mismatch: ${databaseName} was created with master key ${installation.master_key_fingerprint}, ` +
      `but ${masterKey.origin} is ${masterKey.fingerprint}; refusing to start (restore the original key, or point GATEHOUSE_DATABASE_URL at the database this key belongs to)`,
  );
}

export async function openGatehouse(options: {
  config: Readonly<Config>;
  logger: Logger;
  clock?: Clock;
}): Promise<Gatehouse> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const masterKey = await loadMasterKey(config.masterKey);
  const store = openStore(config.database, (error) =>
    logger.warn({ err: error }, 'database connection lost'),
  );
  try {
    logger.info({ database: store.description }, `opening the database ${store.description}`);
    const migrationsApplied = await migrateToLatest(store.db, store.dialect);
    logger.info(
      { applied: migrationsApplied },
      migrationsApplied.length
        ? `migrations applied: ${migrationsApplied.join(', ')}`
        : 'database schema already up to date',
    );
    const installation = await claimInstallation(store.db, {
      id: uuidv7(),
      master_key_fingerprint: masterKey.fingerprint,
      created_at: clock.now(),
    });
    await assertMasterKeyMatches(installation, masterKey, store.description);
    const keyring = await openKeyring({
      db: store.db,
      sealingKey: masterKey.subkey('signing-keys'),
      masterKeyFingerprint: masterKey.fingerprint,
      clock,
      alg: config.signingAlg,
      retiredKeyWindowSeconds:
        config.accessTokenTtl + config.clockSkewSeconds + 2 * config.keyringRefreshSeconds,
      publicationLagSeconds: config.keyringRefreshSeconds,
    });
    const metrics = createMetrics({
      eventsDropped: () => events.droppedCount(),
      eventsQueued: () => events.queuedCount(),
    });
    const accessTokens = createAccessTokens({
      keyring,
      clock,
      issuer: config.issuer,
      audience: config.tokenAudience,
      ttlSeconds: config.accessTokenTtl,
      clockSkewSeconds: config.clockSkewSeconds,
      onCacheLookup: (hit) => metrics.cacheLookup('access_token', hit),
    });
    const instanceId = uuidv7();
    const leases = createLeases(store.db, clock, instanceId);
    const events = createEvents({
      db: store.db,
      clock,
      retentionDays: config.eventRetentionDays,
      leases,
      onError: (error, message) => logger.warn({ err: error }, message),
      onDecision: metrics.decision,
    });
    const redis = config.redisUrl
      ? connectRedis(config.redisUrl, (error) =>
          logger.warn({ err: error }, `redis unavailable: ${WITHOUT_REDIS}`),
        )
      : undefined;
    const probe = redis && { description: redis.description, ping: () => redis.ping() };
    const redisPrefix = `gatehouse:${installation.id}:`;
    // An outage is reported once by the connection; each command that fails meanwhile only at debug level.
    const redisCommandFailed = (error: unknown) => logger.debug({ err: error }, 'redis command failed');
    const changes = createChangeFeed({
      db: store.db,
      clock,
      instanceId,
      leases,
      pollMs: config.changePollMs,
      ...(redis ? { bus: redisBus(redis, `${redisPrefix}changes`, redisCommandFailed) } : {}),
      onError: (error, message) => logger.warn({ err: error }, message),
    });
    const rateCounter = createRateCounter({
      db: store.db,
      clock,
      ...(redis ? { redis } : {}),
      inMemory: store.dialect === 'sqlite',
      prefix: `${redisPrefix}rate:`,
      onRedisError: redisCommandFailed,
    });
    let pruneTimer: NodeJS.Timeout | undefined;
    const keyCache = new KeyCache(clock, config.cacheSeconds, changes);
    const lastUsed = new LastUsedBatcher(store.db, (error) =>
      logger.warn({ err: error }, 'could not record key use'),
    );
    const clients = createClients(store.db, clock, keyCache, events);
    const apiKeys = createApiKeys({
      db: store.db,
      clock,
      events,
      cache: keyCache,
      lastUsed,
      installationTag: installationTag(installation.id),
      metrics,
      rateCounter,
      clients,
    });
    const agents = createAgents({
      db: store.db,
      clock,
      events,
      apiKeys,
      heartbeatTimeoutSeconds: config.agentHeartbeatTimeout,
    });
    const views = createSessionViewCache(clock, config.cacheSeconds, changes);
    // One throttle for passwords and second-factor codes: guessing either locks the account.
    const throttle = createLoginThrottle(store.db, clock, config.lockoutThreshold);
    const users = createUsers(
      store.db,
      clock,
      createPasswordHasher(config.passwordHashing),
      views,
      events,
      throttle,
    );
    const mfa = createMfa({
      db: store.db,
      clock,
      events,
      users,
      throttle,
      views,
      totpKey: masterKey.subkey('totp'),
      backupCodeKey: masterKey.subkey('backup-codes'),
      issuer: config.name,
    });
    let draining = false;
    const sessions = createSessions({
      db: store.db,
      views,
      events,
      metrics,
      clock,
      accessTokens,
      refreshTokenKey: masterKey.subkey('refresh-tokens'),
      csrfKey: masterKey.subkey('csrf'),
      refreshTokenTtlSeconds: config.refreshTokenTtl,
      refreshGraceSeconds: config.refreshGraceSeconds,
      sessionIdleTimeoutSeconds: config.sessionIdleTimeout,
      sessionAbsoluteTimeoutSeconds: config.sessionAbsoluteTimeout,
      maxSessionsPerUser: config.maxSessionsPerUser,
    });
    const vault = createVault({
      db: store.db,
      clock,
      events,
      metrics,
      key: masterKey.subkey('vault'),
      clockSkewSeconds: config.clockSkewSeconds,
      refreshIntervalSeconds: config.vaultRefreshInterval,
      providerTimeoutSeconds: config.vaultProviderTimeout,
      onWarning: (message, detail) => logger.warn(detail, message),
      onError: (error, message) => logger.warn({ err: error }, message),
    });
    return {
      config,
      clock,
      logger,
      store,
      databaseName: store.description,
      migrationsApplied,
      masterKey,
      masterKeyInfo: {
        fingerprint: masterKey.fingerprint,
        origin: masterKey.origin,
        created: masterKey.created,
      },
      installation,
      keyring,
      accessTokens,
      users,
      userTransfer: createUserTransfer({
        db: store.db,
        clock,
        views,
        secondFactors: createSecondFactorTransfer({
          db: store.db,
          totpKey: masterKey.subkey('totp'),
          backupCodeKey: masterKey.subkey('backup-codes'),
        }),
      }),
      sessions,
      events,
      clients,
      apiKeys,
      agents,
      machineTokens: createMachineTokens(apiKeys, accessTokens),
      metrics,
      tokenDoctor: createTokenDoctor({ sessions, apiKeys, mfa, users, clock, issuer: config.issuer }),
      installationDoctor: {
        diagnose: () =>
          diagnoseInstallation({ config, clock, store, masterKey, installation, keyring, redis: probe }),
      },
      redis: probe,
      vault,
      changes,
      leases,
      rateCounter,
      signIn: createSignIn({ users, sessions, events, mfa, signupOpen: config.signup === 'open' }),
      mfa,
      readiness: () => checkReadiness(store.db, keyring, draining),
      beginDraining() {
        draining = true;
      },
      isDraining: () => draining,
      startBackgroundWork() {
        keyring.startRefreshing(config.keyringRefreshSeconds, (error) =>
          logger.warn({ err: error }, 'could not re-read the signing keys; still using the ones loaded'),
        );
        events.start();
        lastUsed.start();
        changes.start();
        pruneTimer = setInterval(
          () =>
            void leases
              .runOnce('rate-limits-prune', 2 * RATE_LIMIT_PRUNE_MS, () => rateCounter.prune())
              .catch((error: unknown) => logger.warn({ err: error }, 'could not prune rate-limit counters')),
          RATE_LIMIT_PRUNE_MS,
        );
        pruneTimer.unref();
        vault.startRefreshing();
      },
      async close() {
        keyring.stop();
        await vault.stop();
        await lastUsed.close();
        await events.close();
        clearInterval(pruneTimer);
        await changes.close();
        redis?.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
