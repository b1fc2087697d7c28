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

/** The shortest spelling of `seconds` that durationSeconds reads back: 600 → "10m", 90 → "90s". */
export function formatDuration(seconds: number): string {
  // Units run from the smallest up, so the last one that divides evenly is the largest.
  const [unit, size] = Object.entries(DURATION_UNITS).reduce((largest, entry) =>
    seconds % entry[1] === 0 ? entry : largest,
  );
  return `${seconds / size}${unit}`;
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
