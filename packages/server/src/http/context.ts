import type { FastifyRequest } from 'fastify';
import type { Actor, EventContext } from '../events/events.js';

export const eventContext = (request: FastifyRequest): EventContext => ({
  ip: request.ip ?? null,
  userAgent: request.headers['user-agent'] ?? null,
  requestId: request.id,
});

/** The actor of an administrative request: the admin user or root API key its guard authenticated. */
export const actorOf = (request: FastifyRequest): Actor => ({
  id: request.actorId,
  context: eventContext(request),
  via: 'api',
});
