/** Small, strict parsers for settings; each error names the setting and the value it refused. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * Durations are "600", "30s", "10m", "12h" or "7d" (API.md); undefined when `raw` is none of those.
 * Hand-written: general-purpose duration libraries also accept "1 week"/ms units, and a wider grammar
 * would make a typo silently valid.
 */
export function durationSeconds(raw: string): number | undefined {
  const match = /^(\d+)([smhd]?)$/.exec(raw.trim());
  return match ? Number(match[1]) * (DURATION_UNITS[match[2] || 's'] ?? 1) : undefined;
}

export function parseDuration(name: string, raw: string): number {
  const seconds = durationSeconds(raw);
  if (seconds === undefined)
    throw new ConfigError(`${name} must be a duration such as 600, 30s, 10m or 7d (got "${raw}")`);
  if (seconds <= 0) throw new ConfigError(`${name} must be greater than zero (got "${raw}")`);
  return seconds;
}

export function parseInteger(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number (got "${raw}")`);
  const value = Number(raw);
  if (value < min || value > max)
    throw new ConfigError(`${name} must be between ${min} and ${max} (got ${raw})`);
  return value;
}

export function parseChoice<T extends string>(name: string, raw: string, choices: readonly T[]): T {
  const value = raw.trim() as T;
  if (!choices.includes(value))
    throw new ConfigError(`${name} must be one of ${choices.join(', ')} (got "${raw}")`);
  return value;
}

export function parseUrl(name: string, raw: string, protocols: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(`${name} must be a URL (got "${raw}")`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')} (got "${raw}")`);
  }
  return url;
}

export const parseList = (raw: string): string[] =>
  raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
