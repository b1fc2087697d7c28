import { Type } from '@sinclair/typebox';
import type { Gatehouse } from '../../gatehouse.js';
import type { App } from '../types.js';

const Readiness = Type.Object({
  status: Type.String(),
  checks: Type.Object({ database: Type.String(), keys: Type.String() }),
});

export async function healthRoutes(app: App, gatehouse: Gatehouse) {
  app.get(
    '/healthz',
    { schema: { tags: ['operators'], response: { 200: Type.Object({ status: Type.String() }) } } },
    async () => ({
      status: 'ok',
    }),
  );

  app.get(
    '/readyz',
    { schema: { tags: ['operators'], response: { 200: Readiness, 503: Readiness } } },
    async (_request, reply) => {
      const readiness = await gatehouse.readiness();
      if (readiness.status !== 'ready') reply.header('retry-after', '5');
      return reply.status(readiness.status === 'ready' ? 200 : 503).send(readiness);
    },
  );

  app.get(
    '/metrics',
    { schema: { tags: ['operators'], description: 'Prometheus text exposition' } },
    async (_request, reply) =>
      reply.type(gatehouse.metrics.registry.contentType).send(await gatehouse.metrics.registry.metrics()),
  );
}
