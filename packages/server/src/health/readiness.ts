import type { Kysely } from 'kysely';
import type { Keyring } from '../keyring/keyring.js';
import { pingDatabase } from '../store/ping.js';
import type { Database } from '../store/schema.js';

export interface Readiness {
  status: 'ready' | 'unavailable';
  checks: { database: string; keys: string };
}

export async function checkReadiness(db: Kysely<Database>, keyring: Keyring): Promise<Readiness> {
  const database = await pingDatabase(db).then(
    () => 'ok',
    (error: unknown) =>
      `unreachable: ${(error as { internal?: string }).internal ?? (error as Error).message}`,
  );
  const signer = keyring.signer();
  const keys = keyring.verificationKey(signer.kid) ? 'ok' : 'active key missing from JWKS';
  return { status: database === 'ok' && keys === 'ok' ? 'ready' : 'unavailable', checks: { database, keys } };
}
