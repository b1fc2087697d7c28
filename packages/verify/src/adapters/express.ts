import type { GatehouseAuth, GuardOptions } from '../authenticate.js';
import { refusalResponse } from '../problem.js';
import { type GuardContext, singleHeader } from './guard-context.js';

// Structural types: Express's req/res extend Node's, so this also guards a bare node:http server or Connect.
export interface NodeLikeRequest {
  headers: { authorization?: string | string[] | undefined };
  gatehouse?: GatehouseAuth;
}

export interface NodeLikeResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body: string): unknown;
}

export type ExpressGuardMiddleware = (
  request: NodeLikeRequest,
  response: NodeLikeResponse,
  next: (error?: unknown) => void,
) => void;

/** Express middleware: the authentication lands on `req.gatehouse`, a refusal answers problem+json. */
export function createExpressMiddleware(
  context: GuardContext,
  guard: GuardOptions = {},
): ExpressGuardMiddleware {
  return (request, response, next) => {
    context.authenticate(singleHeader(request.headers.authorization), guard).then((result) => {
      if (result.ok) {
        request.gatehouse = result.auth;
        next();
        return;
      }
      const refused = refusalResponse(result, context.issuer);
      response.statusCode = refused.status;
      for (const [name, value] of Object.entries(refused.headers)) response.setHeader(name, value);
      response.end(refused.body);
    }, next);
  };
}
