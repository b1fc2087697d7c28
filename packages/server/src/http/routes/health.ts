import { Type } from '@sinclair/typebox';
import type { Readiness as ReadinessReport } from '../../health/readiness.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { App } from '../types.js';

const Readiness = Type.Object({
  status: Type.String(),
  checks: Type.Object({ database: Type.String(), keys: Type.String() }),
});

export interface HealthRoutesDeps {
  readiness: () => Promise<ReadinessReport>;
  metrics: Pick<Metrics, 'registry'>;
}

export async function healthRoutes(app: App, { readiness, metrics }: HealthRoutesDeps) {
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
      const report = await readiness();
      if (report.status !== 'ready') reply.header('retry-after', '5');
      return reply.status(report.status === 'ready' ? 200 : 503).send(report);
    },
  );

  app.get(
    '/metrics',
    { schema: { tags: ['operators'], description: 'Prometheus text exposition' } },
    async (_request, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
}
