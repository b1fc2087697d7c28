import { randomBase64url, sha256Hex } from '../secrets/digest.js';

/**
 * The token of a sign-in's pending second step: "gmt_" + 256 random bits, stored as SHA-256 only. It is not a
 * JWT, so no access-token verifier can mistake it for one; it is good for one completion, for a few minutes.
 */
export const MFA_TOKEN_PREFIX = 'gmt_';
const MFA_TOKEN_SHAPE = /^gmt_[A-Za-z0-9_-]{43}$/;

export const newMfaToken = (): string => `${MFA_TOKEN_PREFIX}${randomBase64url(32)}`;

export const isMfaTokenShaped = (value: string): boolean => MFA_TOKEN_SHAPE.test(value);

export const hashMfaToken = (token: string): string => sha256Hex(token);
