import Fastify, { type FastifyInstance } from 'fastify';
import type { DataPlaneMetrics } from './data-plane-metrics.ts';

/**
 * A separate, unauthenticated listener for Prometheus, meant for an internal port (bind it to 127.0.0.1
 * or a cluster-internal interface, never the public one). The public API also serves `GET /metrics`, to
 * tokens holding `monitoring.read`; this one exists because scrapers cannot renew expiring JWTs.
 *
 * @example
 * const internal = createMetricsServer(metrics);
 * await internal.listen({ port: 9464, host: '127.0.0.1' });
 */
export function createMetricsServer(metrics: DataPlaneMetrics): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_request, reply) => {
    const { contentType, text } = await metrics.render();
    return reply.type(contentType).send(text);
  });
  return app;
}
