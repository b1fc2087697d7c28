import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from 'jose';
import type { SigningAlg } from '../config/config.js';
import { open, seal } from '../secrets/sealed-box.js';
import type { SigningKeyRow } from '../store/signing-keys-store.js';

export type VerifyKey = Parameters<typeof import('jose').jwtVerify>[1] & CryptoKey;

const sealContext = (kid: string) => `signing-key:${kid}`;

/** Generates a key pair; the private half is sealed under `sealingKey` before it is stored. */
export async function generateSigningKeyRow(
  alg: SigningAlg,
  sealingKey: Uint8Array,
  state: 'active' | 'next',
  now: number,
): Promise<SigningKeyRow> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = await exportJWK(privateKey);
  return {
    kid,
    alg,
    state,
    public_jwk: JSON.stringify({ ...publicJwk, kid, alg, use: 'sig' }),
    private_jwk_sealed: seal(sealingKey, JSON.stringify(privateJwk), sealContext(kid)),
    created_at: now,
    activated_at: state === 'active' ? now : null,
    retired_at: null,
    verify_until: null,
  };
}

export async function importPublicKey(row: SigningKeyRow): Promise<CryptoKey> {
  return (await importJWK(JSON.parse(row.public_jwk) as JWK, row.alg)) as CryptoKey;
}

/** Throws when `sealingKey` is not the key that sealed the row (the caller names the master key's fingerprint). */
export async function importPrivateKey(row: SigningKeyRow, sealingKey: Uint8Array): Promise<CryptoKey> {
  const jwk = JSON.parse(open(sealingKey, row.private_jwk_sealed, sealContext(row.kid))) as JWK;
  return (await importJWK(jwk, row.alg)) as CryptoKey;
}

export const publicJwkOf = (row: SigningKeyRow): JWK => JSON.parse(row.public_jwk) as JWK;
