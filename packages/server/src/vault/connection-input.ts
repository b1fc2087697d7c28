import { isIP } from 'node:net';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { VaultAuthMethod, VaultGrantType } from '../store/schema.js';

/** A connection as an administrator describes it (API.md, "Outbound token vault"). */
export interface ConnectionInput {
  name: string;
  token_url: string;
  grant_type: VaultGrantType;
  client_id: string;
  client_secret: string;
  token_endpoint_auth_method?: VaultAuthMethod;
  scope?: string | null;
  extra_params?: Record<string, string> | null;
  refresh_token?: string | null;
  refresh_margin_seconds?: number;
}

export type ConnectionPatch = Partial<ConnectionInput>;

export const DEFAULT_REFRESH_MARGIN_SECONDS = 300;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** Parameters the vault sets itself; an extra parameter may not override them. */
const RESERVED_PARAMS = new Set([
  'grant_type',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
  'refresh_token',
  'scope',
]);

const invalid = (detail: string) => new GatehouseError('validation_failed', { detail });

export function parseConnectionName(raw: string): string {
  if (!NAME.test(raw)) {
    throw invalid(
      'name: 1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit (it appears in URLs)',
    );
  }
  return raw;
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Client secrets and refresh tokens travel to this URL: https, or plain http to this machine only. */
export function parseTokenUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw invalid('token_url: not a URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    throw invalid('token_url: must be https (plain http is accepted only for a loopback host)');
  }
  if (url.username || url.password) throw invalid('token_url: must not carry credentials');
  if (url.hash) throw invalid('token_url: must not have a fragment');
  return url.href;
}

export function parseExtraParams(
  params: Record<string, string> | null | undefined,
): Record<string, string> | null {
  if (!params || Object.keys(params).length === 0) return null;
  for (const [key, value] of Object.entries(params)) {
    if (RESERVED_PARAMS.has(key)) {
      throw invalid(`extra_params.${key}: set by the vault itself; use the connection's own field`);
    }
    if (typeof value !== 'string') throw invalid(`extra_params.${key}: must be a string`);
  }
  return params;
}

/** Scopes are space-separated (RFC 6749 §3.3); stray whitespace is normalised, an empty scope is none. */
export function parseScope(scope: string | null | undefined): string | null {
  return scope?.trim().split(/\s+/).join(' ') || null;
}

/** The fields every connection needs, checked together (a refresh-token connection needs its token). */
export function assertGrantHasCredentials(grantType: VaultGrantType, hasRefreshToken: boolean): void {
  if (grantType === 'refresh_token' && !hasRefreshToken) {
    throw invalid('refresh_token: required when grant_type is refresh_token');
  }
}

export function parseSecret(field: string, value: string): string {
  const secret = value.trim();
  if (!secret) throw invalid(`${field}: must not be empty`);
  return secret;
}
