/** Requests to the Gatehouse server: JSON, a timeout, and failures that say which URL and why. */
export interface IssuerHttp {
  getJson(url: string): Promise<unknown>;
  postJson(url: string, body: unknown): Promise<{ status: number; body: unknown; retryAfter: string | null }>;
}

const isJson = (response: Response) => /\bjson\b/i.test(response.headers.get('content-type') ?? '');

export function createIssuerHttp(fetchImpl: typeof fetch, timeoutMs: number): IssuerHttp {
  async function send(method: string, url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetchImpl(url, { ...init, method, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const reason =
        error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : '';
      throw new Error(`${method} ${url} failed: ${reason || String(error)}`, { cause: error });
    }
  }

  return {
    async getJson(url) {
      const response = await send('GET', url, { headers: { accept: 'application/json' } });
      if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
      return response.json();
    },
    async postJson(url, body) {
      const response = await send('POST', url, {
        headers: { accept: 'application/json', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return {
        status: response.status,
        body: isJson(response) ? await response.json() : await response.text(),
        retryAfter: response.headers.get('retry-after'),
      };
    },
  };
}
