import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import baseX from 'base-x';
import { sha256Hex } from '../secrets/digest.js';

/**
 * API keys look like `gk_<installation>_<secret><checksum>`:
 * - `gk_` lets secret scanners recognise them;
 * - `<installation>` (8 characters) names the installation that issued the key, so a key from another
 *   installation or a reset database is named as such instead of "not found";
 * - `<secret>` is 256 random bits (43 base62 characters);
 * - `<checksum>` is a CRC-32 of everything before it (6 base62 characters), so a truncated or mistyped key
 *   is refused as malformed without a database lookup.
 * Base62 keeps the key one "word" (a double-click selects all of it).
 */
const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const base62 = baseX(BASE62_ALPHABET);
export const API_KEY_PREFIX = 'gk_';
const SECRET_LENGTH = 43;
const CHECKSUM_LENGTH = 6;
const KEY_SHAPE = /^gk_([0-9a-z]{8})_([0-9A-Za-z]{49})$/;

const pad = (text: string, length: number) => text.padStart(length, '0');

const crc = (body: string): number => crc32(body) >>> 0;

function checksum(body: string): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc(body));
  return pad(base62.encode(bytes), CHECKSUM_LENGTH);
}

/**
 * The number a base62 checksum spells. Written out because it runs on every key check, where base-x's
 * decode (buffers, arrays) costs more than the CRC it is compared with; a character outside the alphabet
 * answers NaN, which equals nothing.
 */
function checksumValue(text: string): number {
  let value = 0;
  for (const character of text) {
    const digit = BASE62_ALPHABET.indexOf(character);
    value = digit < 0 ? Number.NaN : value * 62 + digit;
  }
  return value;
}

/** The installation's tag in key strings: derived from its id, stable for the life of the database. */
export function installationTag(installationId: string): string {
  return sha256Hex(installationId).slice(0, 8);
}

export function generateApiKey(tag: string): string {
  const body = `${API_KEY_PREFIX}${tag}_${pad(base62.encode(randomBytes(32)), SECRET_LENGTH)}`;
  return `${body}${checksum(body)}`;
}

export const hashApiKey: (key: string) => string = sha256Hex;

/** What may be shown in lists, logs and events: the prefix with the installation tag, and the last 4 characters. */
export const previewApiKey = (key: string): string => `${key.slice(0, 12)}…${key.slice(-4)}`;

export type ParsedKey =
  | { ok: true; key: string; installation: string }
  | { ok: false; reason: string; installation?: string };

export function parseApiKey(key: string): ParsedKey {
  if (!key.startsWith(API_KEY_PREFIX)) return { ok: false, reason: 'it does not start with gk_' };
  const match = KEY_SHAPE.exec(key);
  if (!match) {
    const expected = API_KEY_PREFIX.length + 9 + SECRET_LENGTH + CHECKSUM_LENGTH;
    return {
      ok: false,
      reason:
        key.length === expected
          ? 'it contains characters a key never has'
          : `it has ${key.length} characters where a key has ${expected} (truncated or extended?)`,
    };
  }
  const installation = match[1]!;
  const body = key.slice(0, key.length - CHECKSUM_LENGTH);
  if (crc(body) !== checksumValue(key.slice(-CHECKSUM_LENGTH))) {
    return {
      ok: false,
      reason: 'its checksum does not match (a character was mistyped or changed)',
      installation,
    };
  }
  return { ok: true, key, installation };
}

export type InputNote = 'whitespace' | 'quotes' | 'bearer_prefix';

/** Anything normalizeCredential would strip starts or ends the text like this (the common case has none). */
const PASTED_AROUND = /^(\s|["'`]|bearer)|(\s|["'`])$/i;

/**
 * Strips what copy-and-paste adds around a credential — surrounding whitespace and newlines, quotes, a
 * pasted `Bearer ` — and says what was stripped, so the event can record it.
 */
export function normalizeCredential(raw: string): { value: string; notes: InputNote[] } {
  if (!PASTED_AROUND.test(raw)) return { value: raw, notes: [] };
  const notes = new Set<InputNote>();
  let value = raw;
  for (let pass = 0; pass < 3; pass++) {
    const trimmed = value.trim();
    if (trimmed !== value) notes.add('whitespace');
    value = trimmed;
    const unquoted = /^(["'`])(.*)\1$/s.exec(value);
    if (unquoted) {
      notes.add('quotes');
      value = unquoted[2]!;
    }
    const bearer = /^bearer\s+(.*)$/is.exec(value);
    if (bearer) {
      notes.add('bearer_prefix');
      value = bearer[1]!;
    }
  }
  return { value, notes: [...notes] };
}
