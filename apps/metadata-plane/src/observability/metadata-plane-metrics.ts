import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/**
 * The metadata plane's Prometheus metrics: the process's (prom-client's defaults, `process_*`, `nodejs_*`)
 * and its API's, `http_requests` (counter) and `http_request_duration_seconds` (histogram), labelled by
 * method, route pattern (`/v1/environments/:id`, never the raw URL, so labels stay bounded) and status.
 * Call `instrument` before the app listens.
 */
export interface MetadataPlaneMetrics {
  readonly registry: Registry;
  instrument(app: FastifyInstance): void;
}

/**
 * Creates the registry and its metrics; one per process.
 *
 * @example
 * const metrics = createMetadataPlaneMetrics();
 * metrics.instrument(plane.app);
 * await createMetricsServer([metrics.registry]).listen({ port: 9464 });
 */
export function createMetadataPlaneMetrics(): MetadataPlaneMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'http_requests',
    help: 'API requests answered, by method, route pattern and status',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'API request duration in seconds, by method, route pattern and status',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return {
    registry,
    instrument(app) {
      app.addHook('onResponse', async (request, reply) => {
        // Unmatched URLs share one label value, so scanners cannot grow the series without bound.
        const labels = {
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status: String(reply.statusCode),
        };
        requests.inc(labels);
        duration.observe(labels, reply.elapsedTime / 1000);
      });
    },
  };
}
