import { hmacBase64url, randomBase64url, sha256Hex } from '../secrets/digest.js';

/** Refresh tokens: "grt_" + 256 random bits. The prefix lets `doctor` and secret scanners recognise them. */
export const REFRESH_TOKEN_PREFIX = 'grt_';
const REFRESH_TOKEN_SHAPE = /^grt_[A-Za-z0-9_-]{43}$/;

export const newRefreshToken = (): string => `${REFRESH_TOKEN_PREFIX}${randomBase64url(32)}`;

export const isRefreshTokenShaped = (value: string): boolean => REFRESH_TOKEN_SHAPE.test(value);

export const hashRefreshToken = (token: string): string => sha256Hex(token);

/**
 * The successor of a refresh token is derived from it (HMAC under a master-key subkey) rather than drawn at
 * random, so every instance that sees a concurrent refresh of the same token inside the grace interval
 * hands out the same successor without storing any plaintext.
 */
export const successorRefreshToken = (key: Uint8Array, token: string): string =>
  `${REFRESH_TOKEN_PREFIX}${hmacBase64url(key, `successor:${token}`)}`;
