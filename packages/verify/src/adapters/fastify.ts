import type { GatehouseAuth, GuardOptions } from '../authenticate.js';
import { refusalResponse } from '../problem.js';
import { type GuardContext, singleHeader } from './guard-context.js';

// Structural types: the package works with Fastify 4 and 5 without depending on it.
export interface FastifyLikeRequest {
  headers: Record<string, string | string[] | undefined>;
  gatehouse?: GatehouseAuth | null;
}

export interface FastifyLikeReply {
  code(status: number): FastifyLikeReply;
  headers(values: Record<string, string>): FastifyLikeReply;
  send(body: string): FastifyLikeReply;
}

export type FastifyGuardHook = (request: FastifyLikeRequest, reply: FastifyLikeReply) => Promise<unknown>;

export interface FastifyLikeInstance {
  hasRequestDecorator(name: string): boolean;
  decorateRequest(name: string, value: null): unknown;
  addHook(name: 'onRequest', hook: FastifyGuardHook): unknown;
}

export type FastifyGuardPlugin = (app: FastifyLikeInstance, options?: GuardOptions) => Promise<void>;

/** An onRequest hook: the authentication lands on `request.gatehouse`, a refusal answers problem+json. */
export function createFastifyGuard(context: GuardContext, guard: GuardOptions = {}): FastifyGuardHook {
  return async function gatehouseGuard(request, reply) {
    const result = await context.authenticate(singleHeader(request.headers.authorization), guard);
    if (result.ok) {
      request.gatehouse = result.auth;
      return undefined;
    }
    const response = refusalResponse(result, context.issuer);
    return reply.code(response.status).headers(response.headers).send(response.body);
  };
}

/**
 * A plugin that guards every route of the context it is registered in (register it inside your own plugin to
 * guard only some routes). Marked the way fastify-plugin marks plugins, so the hook is not confined to a child
 * context of its own.
 */
export function createFastifyPlugin(context: GuardContext): FastifyGuardPlugin {
  const plugin: FastifyGuardPlugin = async (app, options = {}) => {
    if (!app.hasRequestDecorator('gatehouse')) app.decorateRequest('gatehouse', null);
    app.addHook('onRequest', createFastifyGuard(context, options));
  };
  return Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: '@gatehouse/verify',
  });
}
