import { isCode } from '@gatehouse/codes';
import { LRUCache } from 'lru-cache';
import { deepFreeze } from './deep-freeze.js';
import type { IssuerHttp } from './issuer-http.js';
import type { ResolvedOptions } from './options.js';
import { type Refusal, refusal } from './results.js';

/** What `POST /v1/keys/verify` answers for a valid key. */
export interface ApiKeyPrincipal {
  client: { id: string; name: string };
  key: { id: string; preview: string; scopes: string[]; metadata: Record<string, unknown> | null };
  /** What the server stripped from the presented key: whitespace, quotes, bearer_prefix. */
  notes: string[];
}

export type ApiKeyResult = ({ ok: true } & ApiKeyPrincipal) | Refusal;

export type ApiKeyVerifier = (key: string, check?: { scope?: string }) => Promise<ApiKeyResult>;

interface Answer {
  result: ApiKeyResult;
  /** How long the answer may be reused: valid and invalid keys have their own times; 0 is never. */
  reuseMs: number;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);

function retryAfterOf(header: string | null): number | undefined {
  const seconds = Number(header);
  return header !== null && Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

/** The cache is keyed by the key's SHA-256 (Web Crypto, so it runs on edge runtimes too), never the secret. */
async function digestOf(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key)));
  return btoa(String.fromCharCode(...digest));
}

/**
 * API keys are checked by the server (`POST /v1/keys/verify`, which answers 200 `{valid, code, hint}`), and
 * each answer is reused for a short time. Only the server's verdicts on a key are reused: a 429, a 5xx or a
 * network failure is answered with its retryable code and asked again next time, never kept as a refusal.
 */
export function createApiKeyVerifier(options: Readonly<ResolvedOptions>, http: IssuerHttp): ApiKeyVerifier {
  const { clock, apiKeyCache } = options;
  const url = `${options.issuer}/v1/keys/verify`;
  const answers = new LRUCache<string, { result: ApiKeyResult; until: number }>({
    max: apiKeyCache.maxEntries,
  });
  const asking = new Map<string, Promise<ApiKeyResult>>();

  function verdictOf(status: number, body: unknown, retryAfter: string | null): Answer {
    if (status === 200 && isRecord(body) && body.valid === true) {
      const { client, key, notes } = body as unknown as ApiKeyPrincipal;
      return { result: { ok: true, client, key, notes: notes ?? [] }, reuseMs: apiKeyCache.validMs };
    }
    const code = isRecord(body) ? text(body.code) : undefined;
    const details = {
      ...(isRecord(body) && text(body.detail) ? { detail: String(body.detail) } : {}),
      ...(retryAfterOf(retryAfter) !== undefined ? { retryAfterSeconds: retryAfterOf(retryAfter) } : {}),
    };
    if (status === 200 && isRecord(body) && body.valid === false) {
      // The server's hint is specific (it names the replacing key, the suspension date): it is passed on.
      const hint = text(body.hint);
      const known = code && isCode(code) ? code : 'key_not_found';
      return {
        result: refusal(known, { ...details, ...(hint ? { hint } : {}) }),
        reuseMs: apiKeyCache.invalidMs,
      };
    }
    if (code && isCode(code)) return { result: refusal(code, details), reuseMs: 0 };
    return {
      result: refusal('issuer_unavailable', { ...details, detail: `POST ${url} answered ${status}` }),
      reuseMs: 0,
    };
  }

  async function ask(key: string): Promise<Answer> {
    let reply: Awaited<ReturnType<IssuerHttp['postJson']>>;
    try {
      reply = await http.postJson(url, { key });
    } catch (error) {
      // No answer (network, timeout, a body that is not the JSON it claims): retry later, never a verdict.
      return { result: refusal('issuer_unavailable', { detail: (error as Error).message }), reuseMs: 0 };
    }
    return verdictOf(reply.status, reply.body, reply.retryAfter);
  }

  /** The answer for a key: from the cache, from a check already in flight for it, or asked now. */
  async function answerFor(key: string): Promise<ApiKeyResult> {
    const digest = await digestOf(key);
    const cached = answers.get(digest);
    if (cached && clock.now() < cached.until) return cached.result;
    let pending = asking.get(digest);
    if (!pending) {
      pending = ask(key).then(({ result, reuseMs }) => {
        asking.delete(digest);
        if (reuseMs > 0) answers.set(digest, { result: deepFreeze(result), until: clock.now() + reuseMs });
        else answers.delete(digest);
        return result;
      });
      asking.set(digest, pending);
    }
    return pending;
  }

  return async (key, check = {}) => {
    const result = await answerFor(key);
    if (result.ok && check.scope !== undefined && !result.key.scopes.includes(check.scope)) {
      return refusal('scope_insufficient', { detail: `This key lacks the "${check.scope}" scope` });
    }
    return result;
  };
}
