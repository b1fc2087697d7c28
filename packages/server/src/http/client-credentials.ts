import { GatehouseError } from '../errors/gatehouse-error.js';

/** RFC 6749 §2.3.1: client credentials in an `Authorization: Basic` header, form-urlencoded then base64. */
export function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = header ? /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const formDecode = (part: string) => decodeURIComponent(part.replace(/\+/g, ' '));
  try {
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw new GatehouseError('validation_failed', {
      detail: 'The Basic credentials are not form-urlencoded',
    });
  }
}
