import type { CryptoKey } from 'jose';
import type { Kysely } from 'kysely';
import { type Clock, toIso } from '../clock.js';
import type { SigningAlg } from '../config/config.js';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { Database } from '../store/schema.js';
import {
  initializeSigningKeys,
  listSigningKeys,
  rotateSigningKeys,
  type SigningKeyRow,
} from '../store/signing-keys-store.js';
import { generateSigningKeyRow, importPrivateKey, importPublicKey, publicJwkOf } from './signing-key.js';

export const ALLOWED_ALGS: readonly SigningAlg[] = ['EdDSA', 'ES256'];

/** How long verifiers may cache the JWKS (its Cache-Control max-age). */
export const JWKS_MAX_AGE_SECONDS = 300;

export interface KeyInfo {
  kid: string;
  alg: string;
  state: SigningKeyRow['state'];
  createdAt: number;
  activatedAt: number | null;
  retiredAt: number | null;
  verifyUntil: number | null;
}

export interface VerificationKey {
  kid: string;
  alg: string;
  key: CryptoKey;
}

export interface Keyring {
  /** The active key: it signs every new token. */
  signer(): { kid: string; alg: string; key: CryptoKey };
  /** A key that may verify a token: active, next, or retired but still inside its verification window. No I/O. */
  verificationKey(kid: string): VerificationKey | undefined;
  /** Every key this database has ever held, for `keys list` and diagnoses (retired dates). */
  describe(kid: string): KeyInfo | undefined;
  list(): KeyInfo[];
  /** The JWKS document, serialised once per keyring change. */
  jwksJson(): string;
  reload(): Promise<void>;
  /** How old the next key must be before a rotation may make it sign: publication lag plus JWKS cache. */
  rotationWaitSeconds: number;
  /**
   * Makes the next key active, retires the active one and publishes a new next key. Refused
   * (`rotation_too_soon`) until every instance has published the next key (within `publicationLagSeconds`
   * of its creation) and a JWKS cached before that has expired (JWKS_MAX_AGE_SECONDS), unless forced: a
   * verifier holding such a JWKS would refuse what the key signs.
   */
  rotate(options?: { force?: boolean }): Promise<{ retired: string; activated: string }>;
  /** Re-reads the keys periodically, so a rotation made by another process is picked up. */
  startRefreshing(intervalSeconds: number, onError: (error: unknown) => void): void;
  stop(): void;
}

export interface KeyringOptions {
  db: Kysely<Database>;
  /** The master key's `signing-keys` subkey: seals the private keys. */
  sealingKey: Uint8Array;
  /** The master key's fingerprint, named when it cannot open a stored key. */
  masterKeyFingerprint: string;
  clock: Clock;
  alg: SigningAlg;
  /** How long a retired key keeps verifying: the longest token lifetime plus skew and refresh lag. */
  retiredKeyWindowSeconds: number;
  /** How long a key written by one instance may take to appear in every instance's JWKS (its re-read interval). */
  publicationLagSeconds: number;
}

interface Snapshot {
  signer: { kid: string; alg: string; key: CryptoKey };
  verifiers: Map<string, VerificationKey>;
  all: Map<string, KeyInfo>;
  jwks: string;
}

const info = (row: SigningKeyRow): KeyInfo => ({
  kid: row.kid,
  alg: row.alg,
  state: row.state,
  createdAt: row.created_at,
  activatedAt: row.activated_at,
  retiredAt: row.retired_at,
  verifyUntil: row.verify_until,
});

export class MasterKeyMismatchError extends Error {}

function nextKeyTooNew(
  next: { kid: string; createdAt: number },
  waitSeconds: number,
  now: number,
): GatehouseError {
  const safeFrom = next.createdAt + waitSeconds * 1000;
  const wait = Math.ceil((safeFrom - now) / 1000);
  return new GatehouseError('rotation_too_soon', {
    detail:
      `The next key ${next.kid} was published at ${toIso(next.createdAt)}; every instance shows it within ` +
      `${waitSeconds - JWKS_MAX_AGE_SECONDS} s and verifiers may cache the JWKS for ${JWKS_MAX_AGE_SECONDS} s ` +
      `without it, so it can sign safely from ${toIso(safeFrom)} (in ${wait} s)`,
    retryAfterSeconds: wait,
  });
}

const STATE_ORDER = { active: 0, next: 1, retired: 2 } as const;

async function buildSnapshot(
  unordered: SigningKeyRow[],
  sealing: Pick<KeyringOptions, 'sealingKey' | 'masterKeyFingerprint'>,
  now: number,
  previous?: Snapshot,
): Promise<Snapshot> {
  // Active, next, then retired keys, oldest first within each: the order of the JWKS and of `keys list`.
  const rows = [...unordered].sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state]);
  const active = rows.find((row) => row.state === 'active');
  if (!active) throw new Error('The keyring has no active signing key');
  const verifiable = rows.filter((row) => row.state !== 'retired' || (row.verify_until ?? 0) > now);
  const verifiers = new Map<string, VerificationKey>();
  for (const row of verifiable) {
    const known = previous?.verifiers.get(row.kid);
    verifiers.set(row.kid, known ?? { kid: row.kid, alg: row.alg, key: await importPublicKey(row) });
  }
  let signer = previous?.signer.kid === active.kid ? previous.signer : undefined;
  if (!signer) {
    try {
      signer = { kid: active.kid, alg: active.alg, key: await importPrivateKey(active, sealing.sealingKey) };
    } catch (error) {
      throw new MasterKeyMismatchError(
        `The master key (${sealing.masterKeyFingerprint}) cannot open signing key ${active.kid}: it is not the key this database was created with`,
        { cause: error },
      );
    }
  }
  const jwks = JSON.stringify({ keys: verifiable.map(publicJwkOf) });
  return { signer, verifiers, all: new Map(rows.map((row) => [row.kid, info(row)])), jwks };
}

export async function openKeyring(options: KeyringOptions): Promise<Keyring> {
  const { db, sealingKey, clock, alg } = options;
  /** How old the next key must be before it may sign. */
  const rotationWaitSeconds = options.publicationLagSeconds + JWKS_MAX_AGE_SECONDS;
  let rows = await listSigningKeys(db);
  if (!rows.some((row) => row.state === 'active')) {
    const now = clock.now();
    await initializeSigningKeys(
      db,
      await generateSigningKeyRow(alg, sealingKey, 'active', now),
      await generateSigningKeyRow(alg, sealingKey, 'next', now),
    );
    rows = await listSigningKeys(db);
  }
  let snapshot = await buildSnapshot(rows, options, clock.now());
  let timer: NodeJS.Timeout | undefined;

  const reload = async () => {
    snapshot = await buildSnapshot(await listSigningKeys(db), options, clock.now(), snapshot);
  };

  return {
    signer: () => snapshot.signer,
    verificationKey: (kid) => snapshot.verifiers.get(kid),
    describe: (kid) => snapshot.all.get(kid),
    list: () => [...snapshot.all.values()],
    jwksJson: () => snapshot.jwks,
    rotationWaitSeconds,
    reload,
    async rotate({ force = false } = {}) {
      const now = clock.now();
      const next = await generateSigningKeyRow(alg, sealingKey, 'next', now);
      const nextCreatedBy = force ? Number.POSITIVE_INFINITY : now - rotationWaitSeconds * 1000;
      const verifyUntil = now + options.retiredKeyWindowSeconds * 1000;
      const result = await rotateSigningKeys(db, now, verifyUntil, next, nextCreatedBy);
      if ('tooNew' in result) throw nextKeyTooNew(result.tooNew, rotationWaitSeconds, now);
      await reload();
      return result;
    },
    startRefreshing(intervalSeconds, onError) {
      timer = setInterval(() => reload().catch(onError), intervalSeconds * 1000);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
