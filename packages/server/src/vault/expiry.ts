/**
 * When a provider's token expires, as a UTC instant. Providers say it several ways: `expires_in` (RFC 6749
 * §5.1, seconds from now), and nonstandard absolute fields — Azure's `expires_on` in epoch seconds (as a
 * number or a string of digits), App Service's `expires_on` as "MM/DD/YYYY hh:mm:ss AM +00:00", others'
 * `expires_at` as ISO 8601 with or without an offset. No OAuth library reads the absolute ones, and
 * `Date.parse` reads an ISO string without an offset in the *server's* time zone — the very bug the vault
 * exists to end — so the shapes are matched here and turned into UTC with `Date.UTC`.
 */

export type ExpirySource = 'expires_in' | 'expires_on' | 'expires_at' | 'assumed';

export interface TokenExpiry {
  /** The instant the vault uses (UTC epoch ms). */
  expiresAt: number;
  source: ExpirySource;
  /** `expires_in` as sent (seconds), when it was. */
  expiresIn: number | null;
  /** The moment the response arrived plus `expires_in`. */
  computedExpiresAt: number | null;
  /** `expires_on` / `expires_at` as reported, read as UTC. */
  providerExpiresAt: number | null;
  /** provider − computed in ms: a clock-skew signal (plus network time), when both were sent. */
  differenceMs: number | null;
  /** What was assumed or ignored, for the refresh history. */
  notes: string[];
}

/** A token that says nothing of its lifetime is treated as living this long (RFC 6749 leaves it open). */
export const ASSUMED_LIFETIME_SECONDS = 3600;

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const US_DATE_TIME =
  /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2}):(\d{2})(?:\s*([AP]M))?(?:\s*([+-]\d{2}:?\d{2}|Z))?$/i;
const DIGITS = /^\d+(\.\d+)?$/;
/** Epoch values above this are milliseconds: as seconds it would be the year 5138. */
const MILLISECONDS_THRESHOLD = 1e11;

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
  /** Minutes east of UTC; undefined when the text named no zone. */
  offset: number | undefined;
}

function offsetMinutes(zone: string | undefined): number | undefined {
  if (!zone) return undefined;
  if (zone.toUpperCase() === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0));
}

function isoParts(text: string): Parts | undefined {
  const match = ISO_DATE_TIME.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  return {
    year: Number(year),
    month: Number(month),
    day: Number(day),
    hour: Number(hour),
    minute: Number(minute),
    second: Number(second ?? 0),
    ms: Math.floor(Number(`0.${fraction ?? 0}`) * 1000),
    offset: offsetMinutes(zone),
  };
}

function usParts(text: string): Parts | undefined {
  const match = US_DATE_TIME.exec(text);
  if (!match) return undefined;
  const [, month, day, year, hour, minute, second, meridiem, zone] = match;
  let hours = Number(hour);
  if (meridiem) hours = (hours % 12) + (meridiem.toUpperCase() === 'PM' ? 12 : 0);
  return {
    year: Number(year),
    month: Number(month),
    day: Number(day),
    hour: hours,
    minute: Number(minute),
    second: Number(second),
    ms: 0,
    offset: offsetMinutes(zone),
  };
}

function partsInRange(p: Parts): boolean {
  const daysInMonth = new Date(Date.UTC(p.year, p.month, 0)).getUTCDate();
  return (
    p.month >= 1 &&
    p.month <= 12 &&
    p.day >= 1 &&
    p.day <= daysInMonth &&
    p.hour <= 23 &&
    p.minute <= 59 &&
    p.second <= 59 &&
    (p.offset === undefined || Math.abs(p.offset) <= 14 * 60)
  );
}

export interface ProviderInstant {
  ms: number;
  /** The text named no zone, so it was read as UTC. */
  assumedUtc: boolean;
}

/** An absolute instant as a provider sends it; undefined when the value is none of the shapes above. */
export function parseProviderInstant(value: unknown): ProviderInstant | undefined {
  if (typeof value === 'number' || (typeof value === 'string' && DIGITS.test(value.trim()))) {
    const epoch = Number(value);
    if (!Number.isFinite(epoch) || epoch <= 0) return undefined;
    return { ms: Math.round(epoch >= MILLISECONDS_THRESHOLD ? epoch : epoch * 1000), assumedUtc: false };
  }
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  const parts = isoParts(text) ?? usParts(text);
  if (!parts || !partsInRange(parts)) return undefined;
  const local = Date.UTC(
    parts.year,
    parts.month - 1,
    parts.day,
    parts.hour,
    parts.minute,
    parts.second,
    parts.ms,
  );
  return { ms: local - (parts.offset ?? 0) * 60_000, assumedUtc: parts.offset === undefined };
}

function readExpiresIn(value: unknown): number | undefined {
  const seconds = typeof value === 'string' && DIGITS.test(value.trim()) ? Number(value) : value;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

/**
 * The expiry of a token response that arrived at `receivedAt`. `expires_in` wins when present: it is
 * relative, so neither the provider's clock nor ours can bend it. An absolute field is used when it is the
 * only one; when both came, their difference is recorded as the clock-skew signal.
 */
export function tokenExpiry(body: Record<string, unknown>, receivedAt: number): TokenExpiry {
  const notes: string[] = [];
  const expiresIn = readExpiresIn(body.expires_in);
  if (body.expires_in !== undefined && expiresIn === undefined) {
    notes.push(
      `expires_in ${JSON.stringify(body.expires_in).slice(0, 64)} is not a number of seconds; ignored`,
    );
  }
  const computedExpiresAt = expiresIn === undefined ? null : receivedAt + Math.round(expiresIn * 1000);

  const field =
    body.expires_on !== undefined ? 'expires_on' : body.expires_at !== undefined ? 'expires_at' : null;
  const reported = field ? parseProviderInstant(body[field]) : undefined;
  if (field && !reported) {
    notes.push(`${field} ${JSON.stringify(body[field]).slice(0, 64)} is not a date the vault reads; ignored`);
  }
  if (field && reported?.assumedUtc) notes.push(`${field} named no time zone; read as UTC`);
  const providerExpiresAt = reported?.ms ?? null;

  const differenceMs =
    computedExpiresAt !== null && providerExpiresAt !== null ? providerExpiresAt - computedExpiresAt : null;
  if (computedExpiresAt !== null) {
    return {
      expiresAt: computedExpiresAt,
      source: 'expires_in',
      expiresIn: expiresIn ?? null,
      computedExpiresAt,
      providerExpiresAt,
      differenceMs,
      notes,
    };
  }
  if (field && providerExpiresAt !== null) {
    return {
      expiresAt: providerExpiresAt,
      source: field,
      expiresIn: null,
      computedExpiresAt,
      providerExpiresAt,
      differenceMs,
      notes,
    };
  }
  notes.push(`the provider sent no usable expiry; assumed ${ASSUMED_LIFETIME_SECONDS}s`);
  return {
    expiresAt: receivedAt + ASSUMED_LIFETIME_SECONDS * 1000,
    source: 'assumed',
    expiresIn: null,
    computedExpiresAt,
    providerExpiresAt,
    differenceMs,
    notes,
  };
}
