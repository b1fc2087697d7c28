import type { Static } from '@sinclair/typebox';
import type { DatabaseTarget } from '../store/database.js';
import type { settingsSchema } from './settings.js';

/** Every setting as read from its flag or GATEHOUSE_* variable (settings.ts declares each one). */
export type Settings = Static<typeof settingsSchema>;

/** Command-line flags; each one overrides its GATEHOUSE_* variable. */
export type ConfigFlags = Partial<Record<'port' | 'host' | 'dataDir' | 'databaseUrl', string>>;

export type SigningAlg = Settings['signingAlg'];

export type MasterKeySource =
  | { kind: 'value'; value: string; origin: 'GATEHOUSE_MASTER_KEY' }
  | {
      kind: 'file';
      path: string;
      origin: 'GATEHOUSE_MASTER_KEY_FILE' | 'data directory';
      createIfMissing: boolean;
    };

/** Settings that only feed the values worked out from them. */
type InputOnly =
  | 'databaseUrl'
  | 'masterKey'
  | 'masterKeyFile'
  | 'passwordHashConcurrency'
  | 'passwordHashQueue';

/** Settings whose default depends on other settings or on the machine. */
type Derived = 'publicUrl' | 'name' | 'tokenAudience' | 'shutdownDrainSeconds';

/** Configuration, parsed and validated once at start, then frozen. Durations are in seconds. */
export type Config = Omit<Settings, InputOnly | Derived> & {
  database: DatabaseTarget;
  masterKey: MasterKeySource;
  publicUrl: string;
  /** The installation's name as people see it (an authenticator app's issuer). */
  name: string;
  /** The public URL without its trailing slash. */
  issuer: string;
  tokenAudience: string[];
  shutdownDrainSeconds: number;
  passwordHashing: { concurrency: number; maxQueue: number };
  /** Settings that are allowed but probably wrong here, each one line naming the setting: said at start. */
  warnings: readonly string[];
};
