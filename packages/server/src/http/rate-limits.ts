import rateLimit from '@fastify/rate-limit';
import { GatehouseError } from '../errors/gatehouse-error.js';
import type { App } from './types.js';

/** Registers per-IP limiting for the routes of this plugin that ask for it; over the limit is 429 rate_limited. */
export async function registerRateLimits(app: App): Promise<void> {
  await app.register(rateLimit, {
    global: false,
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
