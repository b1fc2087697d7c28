/** The only place that reads the wall clock; everything else takes a Clock so tests can freeze or skew time. */
export interface Clock {
  /** Milliseconds since the Unix epoch, UTC. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export function fixedClock(start: number): Clock & { set(ms: number): void; advance(ms: number): void } {
  let current = start;
  return {
    now: () => current,
    set: (ms) => {
      current = ms;
    },
    advance: (ms) => {
      current += ms;
    },
  };
}

export const toIso = (ms: number): string => new Date(ms).toISOString();
export const toEpochSeconds = (ms: number): number => Math.floor(ms / 1000);
