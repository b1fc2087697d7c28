export type Body = Record<string, unknown>;

/** Builders of requests to Gatehouse's own endpoints: a fresh Request per attempt, as retries need. */
export function gatehouseRequests(baseUrl: string) {
  return {
    json:
      (method: string, path: string, body?: Body, headers: Record<string, string> = {}) =>
      () =>
        new Request(`${baseUrl}${path}`, {
          method,
          headers: {
            accept: 'application/json',
            ...(body ? { 'content-type': 'application/json' } : {}),
            ...headers,
          },
          ...(body ? { body: JSON.stringify(body) } : {}),
        }),
    /** RFC 6749 and RFC 7009 endpoints take forms. */
    form: (path: string, fields: Record<string, string>) => () =>
      new Request(`${baseUrl}${path}`, {
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields),
      }),
  };
}

export type GatehouseRequests = ReturnType<typeof gatehouseRequests>;
