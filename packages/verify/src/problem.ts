import { reasonCodes } from '@gatehouse/codes';
import type { Refusal } from './results.js';

export interface RefusalResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** RFC 6750 §3, as the server writes it: no error attribute when no credential was sent; the code otherwise. */
function challenge(issuer: string, code: string): string {
  const realm = `Bearer realm="${issuer}"`;
  if (code === 'token_missing') return realm;
  const error = code === 'scope_insufficient' ? 'insufficient_scope' : 'invalid_token';
  return `${realm}, error="${error}", error_description="${code}"`;
}

/** The problem+json answer (RFC 9457) a guarded route gives, with the body the server's own refusals have. */
export function refusalResponse(refusal: Refusal, issuer: string): RefusalResponse {
  const headers: Record<string, string> = { 'content-type': 'application/problem+json' };
  if (refusal.status === 401 || refusal.code === 'scope_insufficient') {
    headers['www-authenticate'] = challenge(issuer, refusal.code);
  }
  if (refusal.retryAfterSeconds !== undefined) headers['retry-after'] = String(refusal.retryAfterSeconds);
  const body = {
    type: `urn:gatehouse:problem:${refusal.code}`,
    title: reasonCodes[refusal.code].title,
    status: refusal.status,
    ...(refusal.detail ? { detail: refusal.detail } : {}),
    code: refusal.code,
    hint: refusal.hint,
    action: refusal.action,
  };
  return { status: refusal.status, headers, body: JSON.stringify(body) };
}
