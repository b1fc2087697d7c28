import type { AuthChangeEvent, GatehouseClient, RetryInfo, RetryOptions } from '../../src/index.js';

/** Retries in milliseconds rather than seconds, with a budget long enough for the outages the tests make. */
export const FAST_RETRY: Partial<RetryOptions> = {
  baseDelayMs: 100,
  maxDelayMs: 1000,
  maxAttempts: 60,
  maxElapsedMs: 20_000,
};

/** Everything a client reports: auth state changes and retry waits. */
export function recorder() {
  const events: AuthChangeEvent[] = [];
  const retries: RetryInfo[] = [];
  return {
    events,
    retries,
    onRetry: (info: RetryInfo) => retries.push(info),
    watch: (client: GatehouseClient) => client.onAuthStateChange((event) => events.push(event)),
    signOuts: () => events.filter((event) => event.type === 'signed_out'),
  };
}

/** The real fetch, counting what went through it by "METHOD path" and by status. */
export function countingFetch() {
  const requests: string[] = [];
  const statuses: number[] = [];
  const counted: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    requests.push(`${request.method} ${new URL(request.url).pathname}`);
    const response = await fetch(request);
    statuses.push(response.status);
    return response;
  };
  return {
    fetch: counted,
    requests,
    statuses,
    count: (what: string) => requests.filter((request) => request === what).length,
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
