import rateLimit, { type FastifyRateLimitStore } from '@fastify/rate-limit';
import type { RouteOptions } from 'fastify';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { RateCounter } from '../fleet/rate-counter.js';
import type { App } from './types.js';

/**
 * @fastify/rate-limit's store interface over the shared counters. The plugin makes one child per limited
 * route, which counts under that route's name with the route's window.
 */
function sharedStore(counter: RateCounter) {
  class RouteStore implements FastifyRateLimitStore {
    constructor(
      private readonly route: string,
      private readonly windowMs: number,
    ) {}

    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void) {
      counter.hit(`${this.route}|${key}`, this.windowMs).then(
        ({ count, resetInMs }) => callback(null, { current: count, ttl: resetInMs }),
        (error: Error) => callback(error),
      );
    }

    child(routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
      // At run time the plugin passes the route's merged limit settings, the route itself under
      // `routeInfo` (its type declarations say otherwise).
      const { routeInfo, timeWindow } = routeOptions as unknown as {
        routeInfo: RouteOptions;
        timeWindow: unknown;
      };
      const windowMs = typeof timeWindow === 'number' ? timeWindow : 60_000;
      return new RouteStore(`${routeInfo.method} ${routeInfo.url}`, windowMs);
    }
  }
  return class PluginStore extends RouteStore {
    constructor() {
      super('', 60_000);
    }
  };
}

/**
 * Registers per-IP limiting for the routes of this plugin that ask for it; over the limit is 429
 * rate_limited. Counters are shared by every instance (Redis, or the database when Redis is away).
 */
export async function registerRateLimits(app: App, counter: RateCounter): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    store: sharedStore(counter),
    errorResponseBuilder: (_request, context) =>
      new GatehouseError('rate_limited', {
        retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)),
        detail: `At most ${context.max} requests per ${context.after} from one address`,
      }),
  });
}

/** Route options for at most `perMinute` requests a minute per client IP (none when 0). */
export const perMinute = (perMinute: number) =>
  perMinute > 0 ? { config: { rateLimit: { max: perMinute, timeWindow: 60_000 } } } : {};
