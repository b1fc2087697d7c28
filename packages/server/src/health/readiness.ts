import type { Kysely } from 'kysely';
import type { Keyring } from '../keyring/keyring.js';
import { pingDatabase } from '../store/ping.js';
import type { Database } from '../store/schema.js';
import { classifyStorageFailure } from '../store/storage-errors.js';

export interface Readiness {
  status: 'ready' | 'unavailable' | 'draining';
  checks: { database: string; keys: string };
}

/** A draining instance (stopping after SIGTERM) answers not-ready first, so a balancer moves traffic away. */
export async function checkReadiness(
  db: Kysely<Database>,
  keyring: Keyring,
  draining: boolean,
): Promise<Readiness> {
  // The cause without the database's URL: readiness answers anyone who can reach the port.
  const database = await pingDatabase(db).then(
    () => 'ok',
    (error: unknown) => `unreachable: ${classifyStorageFailure(error).cause}`,
  );
  const signer = keyring.signer();
  const keys = keyring.verificationKey(signer.kid) ? 'ok' : 'active key missing from JWKS';
  const healthy = database === 'ok' && keys === 'ok';
  return { status: draining ? 'draining' : healthy ? 'ready' : 'unavailable', checks: { database, keys } };
}
