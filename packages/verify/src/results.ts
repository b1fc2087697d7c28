import { type ClientAction, type Code, reasonCodes } from '@gatehouse/codes';
import type { JWTPayload } from 'jose';

/**
 * The claims of a Gatehouse access token (docs/troubleshooting.md, failure 4): `iss aud sub sid iat nbf exp jti
 * scope`, plus extras.
 */
export interface AccessTokenClaims extends JWTPayload {
  iss: string;
  sub: string;
  exp: number;
  iat: number;
  jti: string;
  sid?: string;
  scope?: string;
  client_id?: string;
  amr?: string[];
}

/** A refusal in the server's own words: the reason code and its hint, status and client action. */
export interface Refusal {
  ok: false;
  code: Code;
  hint: string;
  action: ClientAction;
  status: number;
  /** What exactly failed, for logs; never holds the credential. */
  detail?: string;
  /** When the server said how long to wait (429, 503). */
  retryAfterSeconds?: number;
}

export type TokenResult = { ok: true; claims: Readonly<AccessTokenClaims> } | Refusal;

export interface RefusalDetails {
  detail?: string;
  hint?: string;
  retryAfterSeconds?: number;
}

export function refusal(code: Code, details: RefusalDetails = {}): Refusal {
  const entry = reasonCodes[code];
  return {
    ok: false,
    code,
    hint: details.hint ?? entry.hint,
    action: entry.action,
    status: entry.status,
    ...(details.detail ? { detail: details.detail } : {}),
    ...(details.retryAfterSeconds !== undefined ? { retryAfterSeconds: details.retryAfterSeconds } : {}),
  };
}

/** Thrown inside a verification step and turned into its refusal at the edge, so no step returns half a result. */
export class RefusalError extends Error {
  readonly refusal: Refusal;

  constructor(code: Code, details: RefusalDetails = {}) {
    super(code);
    this.refusal = refusal(code, details);
  }
}
