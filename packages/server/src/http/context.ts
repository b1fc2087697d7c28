import type { FastifyRequest } from 'fastify';
import type { EventContext } from '../events/events.js';

export const eventContext = (request: FastifyRequest): EventContext => ({
  ip: request.ip ?? null,
  userAgent: request.headers['user-agent'] ?? null,
  requestId: request.id,
});
