import { open, seal } from '../secrets/sealed-box.js';

export type SealedField = 'client_secret' | 'refresh_token' | 'access_token';

/**
 * Connection secrets and tokens at rest: AES-256-GCM under the master key's `vault` subkey, bound to the
 * connection id and the field, so a sealed value copied to another row or column does not open.
 */
export interface VaultSealer {
  seal(connectionId: string, field: SealedField, value: string): string;
  open(connectionId: string, field: SealedField, sealed: string): string;
}

export function createVaultSealer(key: Uint8Array): VaultSealer {
  const context = (connectionId: string, field: SealedField) => `vault:${connectionId}:${field}`;
  return {
    seal: (connectionId, field, value) => seal(key, value, context(connectionId, field)),
    open: (connectionId, field, sealed) => open(key, sealed, context(connectionId, field)),
  };
}
