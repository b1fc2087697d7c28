/** The real fetch, counting requests per path: how the tests see what the verifier asked the server. */
export function countingFetch() {
  const counts = new Map<string, number>();
  let pending = 0;
  const fetchAndCount: typeof fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const path = new URL(url).pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    pending++;
    return fetch(input, init).finally(() => {
      pending--;
    });
  };
  return {
    fetch: fetchAndCount,
    count: (path: string) => counts.get(path) ?? 0,
    jwksFetches: () => counts.get('/.well-known/jwks.json') ?? 0,
    /** Requests sent and not yet answered: a background refresh is over when this is 0. */
    pending: () => pending,
  };
}
