import type { GatehouseAuth, GuardOptions } from '../authenticate.js';
import { refusalResponse } from '../problem.js';
import type { GuardContext } from './guard-context.js';

export type GuardedFetchHandler<Rest extends unknown[]> = (
  request: Request,
  auth: GatehouseAuth,
  ...rest: Rest
) => Response | Promise<Response>;

/**
 * Wraps a fetch-style handler (Next.js route handlers, Hono's `c.req.raw`, Deno, Bun, workers): a refused
 * request gets the problem+json Response, an accepted one reaches the handler with its authentication.
 * Whatever else the runtime passes (Next.js's `{ params }`) follows it.
 */
export function createFetchHandler<Rest extends unknown[]>(
  context: GuardContext,
  handler: GuardedFetchHandler<Rest>,
  guard: GuardOptions = {},
): (request: Request, ...rest: Rest) => Promise<Response> {
  return async (request, ...rest) => {
    const result = await context.authenticate(request.headers.get('authorization'), guard);
    if (result.ok) return handler(request, result.auth, ...rest);
    const refused = refusalResponse(result, context.issuer);
    return new Response(refused.body, { status: refused.status, headers: refused.headers });
  };
}
