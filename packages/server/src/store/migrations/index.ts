import type { Migration } from 'kysely';
import { coreMigration } from './0001-core.js';
import { machineClientsMigration } from './0002-machine-clients.js';
import { loginThrottlesMigration } from './0003-login-throttles.js';
import { mfaMigration } from './0004-mfa.js';
import { cookieSessionsMigration } from './0005-cookie-sessions.js';
import { vaultMigration } from './0006-vault.js';
import { fleetMigration } from './0007-fleet.js';

/** Every migration, in order. Names are permanent: a released migration is never renamed or edited. */
export const migrations: Record<string, Migration> = {
  '0001-core': coreMigration,
  '0002-machine-clients': machineClientsMigration,
  '0003-login-throttles': loginThrottlesMigration,
  '0004-mfa': mfaMigration,
  '0005-cookie-sessions': cookieSessionsMigration,
  '0006-vault': vaultMigration,
  '0007-fleet': fleetMigration,
};
