import type { DatabaseTarget } from '../store/database.js';

export type SigningAlg = 'EdDSA' | 'ES256';

export type MasterKeySource =
  | { kind: 'value'; value: string; origin: 'GATEHOUSE_MASTER_KEY' }
  | {
      kind: 'file';
      path: string;
      origin: 'GATEHOUSE_MASTER_KEY_FILE' | 'data directory';
      createIfMissing: boolean;
    };

/** Configuration, parsed and validated once at start, then frozen. Durations are in seconds. */
export interface Config {
  env: 'development' | 'production';
  host: string;
  port: number;
  dataDir: string;
  database: DatabaseTarget;
  redisUrl: string | undefined;
  masterKey: MasterKeySource;
  publicUrl: string;
  issuer: string;
  tokenAudience: string[];
  signingAlg: SigningAlg;
  clockSkewSeconds: number;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  refreshGraceSeconds: number;
  sessionIdleTimeout: number;
  sessionAbsoluteTimeout: number;
  maxSessionsPerUser: number;
  signup: 'open' | 'closed';
  lockoutThreshold: number;
  trustProxy: boolean | number | string[];
  corsOrigins: string[];
  agentHeartbeatTimeout: number;
  eventRetentionDays: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** How long an instance trusts its in-memory views (sessions, users, API keys, clients); its own changes apply at once. */
  cacheSeconds: number;
  /** How often an instance reads the change feed from the database (with Redis, changes arrive at once). */
  changePollMs: number;
  /** After SIGTERM, how long /readyz answers 503 while requests are still served, before the listener closes. */
  shutdownDrainSeconds: number;
  /** Sign-up, login and password-change attempts per minute per client IP; 0 turns the limit off. */
  loginRateLimit: number;
  /** POST /oauth/token requests (refresh and client_credentials grants) per minute per client IP; 0: no limit. */
  tokenRateLimit: number;
  /** POST /v1/keys/verify requests per minute per client IP; 0 turns the limit off. */
  keyVerifyRateLimit: number;
  /** Concurrent argon2 hashes, and how many may wait before login answers 503 overloaded. */
  passwordHashing: { concurrency: number; maxQueue: number };
  /** How often an instance re-reads the signing keys, so a rotation made elsewhere is picked up. */
  keyringRefreshSeconds: number;
  /** How often the vault's background refresher looks for tokens due for renewal. */
  vaultRefreshInterval: number;
  /** How long the vault waits for a provider's token endpoint before counting the attempt as failed. */
  vaultProviderTimeout: number;
}
