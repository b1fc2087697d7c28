/** What one tab tells the others about the session they share. */
export interface TabMessage {
  type: 'signed_in' | 'refreshed' | 'signed_out';
  code?: string;
}

/**
 * Coordination between the tabs of one browser that share a session: one refresh at a time (Web Locks, so
 * five tabs waking up at once make one refresh request) and news of the result (BroadcastChannel). Where
 * either API is missing — Node, old browsers, or a session not shared between tabs — it does nothing and
 * the client's in-process single flight is all there is.
 */
export interface TabSync {
  /**
   * Runs `work` while holding the session's lock in every tab of the origin; `contended` tells it that
   * another tab held the lock first (and may just have refreshed).
   */
  exclusive<T>(work: (contended: boolean) => Promise<T>): Promise<T>;
  announce(message: TabMessage): void;
  close(): void;
}

interface LockManagerLike {
  request<T>(name: string, callback: (lock: unknown) => Promise<T>): Promise<T>;
  request<T>(
    name: string,
    options: { ifAvailable: true },
    callback: (lock: unknown) => Promise<T>,
  ): Promise<T>;
}

async function withLock<T>(
  locks: LockManagerLike,
  name: string,
  work: (contended: boolean) => Promise<T>,
): Promise<T> {
  let held = false;
  const uncontended = await locks.request(name, { ifAvailable: true }, async (lock) => {
    if (lock === null) return undefined;
    held = true;
    return { value: await work(false) };
  });
  if (held && uncontended) return uncontended.value;
  return locks.request(name, () => work(true));
}

export function createTabSync(
  name: string,
  enabled: boolean,
  receive: (message: TabMessage) => void,
): TabSync {
  const locks = enabled
    ? (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks
    : undefined;
  const channel =
    enabled && typeof BroadcastChannel !== 'undefined'
      ? new BroadcastChannel(`gatehouse:${name}`)
      : undefined;
  if (channel) channel.onmessage = (event: MessageEvent<TabMessage>) => receive(event.data);
  return {
    exclusive: (work) => (locks ? withLock(locks, `gatehouse:${name}:refresh`, work) : work(false)),
    announce: (message) => channel?.postMessage(message),
    close: () => channel?.close(),
  };
}
