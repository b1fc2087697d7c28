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
  /** Runs `work` while holding the session's lock in every tab of the origin. */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  announce(message: TabMessage): void;
  close(): void;
}

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
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
    exclusive: (work) => (locks ? locks.request(`gatehouse:${name}:refresh`, work) : work()),
    announce: (message) => channel?.postMessage(message),
    close: () => channel?.close(),
  };
}
