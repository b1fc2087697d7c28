import { durationSeconds } from '../config/parse.js';
import { GatehouseError } from '../errors/gatehouse-error.js';

/** `since` is an ISO instant or a duration back from now (`90s`, `15m`, `1h`, `7d`). */
export function parseSince(since: string, now: number): number {
  const seconds = /^\d+[smhd]$/.test(since) ? durationSeconds(since) : undefined;
  if (seconds !== undefined) return now - seconds * 1000;
  const at = Date.parse(since);
  if (Number.isNaN(at)) {
    throw new GatehouseError('validation_failed', { detail: 'since: an ISO time or a duration such as 1h' });
  }
  return at;
}
