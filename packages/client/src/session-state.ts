import type { ServerClock } from './server-clock.js';
import type { SessionStorage, StoredSession } from './storage.js';
import { createTabSync, type TabMessage } from './tab-sync.js';

export interface AuthChangeEvent {
  type: 'signed_in' | 'refreshed' | 'signed_out';
  /** On `signed_out`: the reason code that ended the session (none when the user signed out). */
  code?: string;
}

type Listener = (event: AuthChangeEvent) => void;

const sameSession = (a: StoredSession, b: StoredSession) =>
  a.kind === 'token' && b.kind === 'token'
    ? a.refreshToken === b.refreshToken
    : a.kind === 'cookie' && b.kind === 'cookie' && a.csrfToken === b.csrfToken;

const signedOut = (code: string | undefined): AuthChangeEvent =>
  code ? { type: 'signed_out', code } : { type: 'signed_out' };

/**
 * The session as this tab knows it: the stored record, the events it has emitted, and the other tabs that
 * share it. A `signed_out` event is emitted once per session, however many requests (or tabs) learn at the
 * same moment that it is over.
 */
export function createSessionState(
  storage: SessionStorage,
  clock: ServerClock,
  options: { tabSync: boolean; name: string },
) {
  const listeners = new Set<Listener>();
  let signedIn = storage.read() !== null;
  let lastSignOutCode: string | undefined;

  function emit(event: AuthChangeEvent) {
    for (const listener of listeners) listener(event);
  }

  function markSignedIn(type: 'signed_in' | 'refreshed') {
    signedIn = true;
    emit({ type });
  }

  function markSignedOut(code: string | undefined) {
    if (!signedIn) return;
    signedIn = false;
    lastSignOutCode = code;
    emit(signedOut(code));
  }

  const tabs = createTabSync(options.name, options.tabSync, (message: TabMessage) =>
    message.type === 'signed_out' ? markSignedOut(message.code) : markSignedIn(message.type),
  );

  return {
    read: (): StoredSession | null => storage.read(),
    /** Stores a new or refreshed session and tells this tab's listeners and the other tabs. */
    save(session: StoredSession, type: 'signed_in' | 'refreshed') {
      storage.write(session.kind === 'token' ? { ...session, serverOffsetMs: clock.offsetMs() } : session);
      markSignedIn(type);
      tabs.announce({ type });
    },
    /** Stores a session found at the server (a reloaded cookie-mode page): nothing changed, no event. */
    restore(session: StoredSession) {
      storage.write(session);
      signedIn = true;
    },
    /** Ends `ended` — unless another sign-in or refresh replaced it meanwhile. */
    end(code: string | undefined, ended: StoredSession) {
      const current = storage.read();
      if (current && !sameSession(current, ended)) return;
      if (current) {
        storage.write(null);
        tabs.announce(signedOut(code));
      }
      markSignedOut(code);
    },
    /** The stored session is gone (another tab ended it): the code it ended with, if this tab heard it. */
    gone(): string | undefined {
      markSignedOut(lastSignOutCode);
      return lastSignOutCode;
    },
    exclusive: tabs.exclusive,
    subscribe(listener: Listener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      tabs.close();
      listeners.clear();
    },
  };
}

export type SessionState = ReturnType<typeof createSessionState>;
