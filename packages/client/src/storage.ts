/** The signed-in user, as Gatehouse answers it at sign-in. */
export interface GatehouseUser {
  id: string;
  email: string;
  name: string | null;
  roles: string[];
  [field: string]: unknown;
}

/** What the client keeps between calls (and, with `localStorageStorage`, between tabs and reloads). */
export type StoredSession =
  | {
      kind: 'token';
      accessToken: string;
      refreshToken: string;
      user?: GatehouseUser;
      sessionId?: string;
      /** The measured server-minus-local clock offset, so a reloaded page schedules right away. */
      serverOffsetMs?: number;
    }
  | { kind: 'cookie'; csrfToken: string; user?: GatehouseUser; sessionId?: string };

/**
 * Where the session lives. `mode` says what the credential is: tokens the client holds, or an HttpOnly
 * cookie the browser holds (the client then keeps only the CSRF token). `sharedAcrossTabs` turns on the
 * cross-tab refresh lock and notifications.
 */
export interface SessionStorage {
  readonly mode: 'token' | 'cookie';
  readonly sharedAcrossTabs: boolean;
  /** Names the lock and the broadcast channel of this session among others of the same origin. */
  readonly name: string;
  read(): StoredSession | null;
  write(session: StoredSession | null): void;
}

function inMemory(mode: SessionStorage['mode']): SessionStorage {
  let session: StoredSession | null = null;
  return {
    mode,
    sharedAcrossTabs: false,
    name: mode,
    read: () => session,
    write: (next) => {
      session = next;
    },
  };
}

/** In memory: gone with the page or process. The default, and the safest place for tokens. */
export const memoryStorage = (): SessionStorage => inMemory('token');

function isStoredSession(value: unknown): value is StoredSession {
  if (!value || typeof value !== 'object') return false;
  const record = value as Record<string, unknown>;
  if (record.kind === 'token') {
    return typeof record.accessToken === 'string' && typeof record.refreshToken === 'string';
  }
  return record.kind === 'cookie' && typeof record.csrfToken === 'string';
}

function parseStored(raw: string | null): StoredSession | null {
  if (!raw) return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    // Something else wrote under our key: there is no session of ours there.
    return null;
  }
  return isStoredSession(value) ? value : null;
}

/**
 * `localStorage` (or another Web Storage): shared by every tab of the origin and kept across reloads. Tabs
 * refresh under one Web Lock and tell each other through a BroadcastChannel. Any script on the origin can
 * read it, so use it only where that risk is accepted; cookie mode keeps the credential out of reach.
 */
export function localStorageStorage(
  options: { key?: string; storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> } = {},
): SessionStorage {
  const key = options.key ?? 'gatehouse.session';
  const store = options.storage ?? globalThis.localStorage;
  return {
    mode: 'token',
    sharedAcrossTabs: true,
    name: key,
    read: () => parseStored(store.getItem(key)),
    write: (next) => (next ? store.setItem(key, JSON.stringify(next)) : store.removeItem(key)),
  };
}

/**
 * Cookie mode for browser apps on Gatehouse's site: sign-in sets an HttpOnly session cookie no script can
 * read; the client keeps the CSRF token (recovered from `GET /v1/auth/session` after a reload) and sends it
 * as `x-csrf-token` on every write.
 */
export const cookieStorage = (): SessionStorage => inMemory('cookie');
