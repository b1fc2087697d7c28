export {
  createGatehouseClient,
  type GatehouseClient,
  type GatehouseClientOptions,
  type Session,
  type SignedIn,
  type SignInResult,
} from './client.js';
export { GatehouseClientError } from './errors.js';
export { DEFAULT_RETRY, type RetryOptions } from './policy.js';
export type { AuthChangeEvent } from './session-state.js';
export {
  cookieStorage,
  type GatehouseUser,
  localStorageStorage,
  memoryStorage,
  type SessionStorage,
  type StoredSession,
} from './storage.js';
export type { RetryInfo } from './transport.js';
