/**
 * The server's time as this device can know it: the local clock plus an offset measured from the `Date`
 * header of Gatehouse's answers. Token expiry (`exp`) is server time, so the refresh schedule runs on this
 * clock and a device whose clock is minutes off neither refreshes in a loop nor lets tokens lapse.
 */
export interface ServerClock {
  /** Server time now, in epoch milliseconds. */
  now(): number;
  /** Server time minus local time, in milliseconds. */
  offsetMs(): number;
  /** Learns from an answer received between `sentAt` and `receivedAt` (local epoch ms). */
  observe(dateHeader: string | null, sentAt: number, receivedAt: number): void;
}

/**
 * `Date` has a resolution of one second (RFC 9110 §6.6.1): the server's time lies in [Date, Date + 1 s).
 * The offset only moves when a measurement falls outside that window, so the estimate does not wobble with
 * every answer (a wobbling estimate could pull a refresh forward again and again).
 */
const RESOLUTION_MS = 1000;

export function createServerClock(localNow: () => number, initialOffsetMs = 0): ServerClock {
  let offset = initialOffsetMs;
  let measured = false;
  return {
    now: () => localNow() + offset,
    offsetMs: () => offset,
    observe(dateHeader, sentAt, receivedAt) {
      const serverSecond = Date.parse(dateHeader ?? '');
      if (Number.isNaN(serverSecond)) return;
      const localMidpoint = (sentAt + receivedAt) / 2;
      const sample = serverSecond + RESOLUTION_MS / 2 - localMidpoint;
      const slack = RESOLUTION_MS / 2 + (receivedAt - sentAt) / 2;
      if (!measured || Math.abs(sample - offset) > slack) offset = Math.round(sample);
      measured = true;
    },
  };
}
