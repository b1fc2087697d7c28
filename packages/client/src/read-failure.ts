import { type ClientAction, isCode, reasonCodes } from '@gatehouse/codes';

/** A refused answer as the failure policy sees it. */
export interface Failure {
  status: number;
  code?: string;
  action?: ClientAction;
  hint?: string;
  requestId?: string;
  /** From `retry-after` (delta-seconds or an HTTP date, RFC 9110 §10.2.3). */
  retryAfterMs?: number;
}

const ACTIONS = new Set<string>([
  'refresh',
  'retry',
  'sign_out',
  'reauthenticate',
  'fix_request',
  'contact_admin',
]);
/** RFC 6750 §3: `error_description="<code>"` names the reason on a bearer failure even without a body. */
const CHALLENGE_CODE = /error_description="([a-z_]+)"/;

async function jsonBody(response: Response): Promise<Record<string, unknown> | undefined> {
  if (!/json/i.test(response.headers.get('content-type') ?? '')) return undefined;
  // A body that claims JSON but is not (a proxy's error page) simply carries no code.
  const parsed: unknown = await response
    .clone()
    .json()
    .catch(() => undefined);
  return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
}

function retryAfterMs(response: Response): number | undefined {
  const value = response.headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // An HTTP date is read against the server's own Date header, so the client's clock does not matter.
  const at = Date.parse(value);
  const serverNow = Date.parse(response.headers.get('date') ?? '');
  if (Number.isNaN(at) || Number.isNaN(serverNow)) return undefined;
  return Math.max(0, at - serverNow);
}

/** The registry's action for a code; for a code newer than this client's registry, the one the server sent. */
function actionOf(code: string, sent: string | undefined): ClientAction | undefined {
  if (isCode(code)) return reasonCodes[code].action;
  return sent && ACTIONS.has(sent) ? (sent as ClientAction) : undefined;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * Reads the reason of a refused answer: the `code` of a problem+json or RFC 6749 error body, else the one in
 * `WWW-Authenticate`. The action comes from the shared registry; a code newer than this client's registry
 * falls back to the `action` the server sent.
 */
export async function readFailure(response: Response): Promise<Failure> {
  const body = await jsonBody(response);
  const code = text(body?.code) ?? CHALLENGE_CODE.exec(response.headers.get('www-authenticate') ?? '')?.[1];
  const sentAction = text(body?.action);
  const action = code ? actionOf(code, sentAction) : undefined;
  const hint = text(body?.hint);
  const requestId = text(body?.request_id) ?? response.headers.get('x-request-id') ?? undefined;
  const wait = retryAfterMs(response);
  return {
    status: response.status,
    ...(code ? { code } : {}),
    ...(action ? { action } : {}),
    ...(hint ? { hint } : {}),
    ...(requestId ? { requestId } : {}),
    ...(wait !== undefined ? { retryAfterMs: wait } : {}),
  };
}
