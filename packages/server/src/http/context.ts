import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../sessions/sessions.js';

export const requestContext = (request: FastifyRequest): RequestContext => ({
  ip: request.ip ?? null,
  userAgent: request.headers['user-agent'] ?? null,
});
