import { SlateError } from '@slate/graph';
import Fastify, { type FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** The port Prometheus scrapes when `SLATE_METRICS_PORT` is not set (as on the data plane). */
export const DEFAULT_METRICS_PORT = 9464;

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
 * await createMetricsServer(metrics.registry).listen({ port: 9464 });
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

/**
 * A separate, unauthenticated listener serving `GET /metrics` for Prometheus, meant for an internal port
 * (`SLATE_METRICS_PORT`, default 9464; the Helm chart points a ServiceMonitor at it). Every other path
 * answers 404.
 */
export function createMetricsServer(registry: Registry): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_request, reply) =>
    reply.type(Registry.PROMETHEUS_CONTENT_TYPE).send(await registry.metrics()),
  );
  return app;
}

/**
 * Refuses a metrics port equal to the API's: the API wants a token on every route but its probes, the
 * metrics listener none, so they cannot share a port.
 *
 * @throws SlateError `input`/`METRICS_PORT_IS_API_PORT` when `metricsPort === apiPort`.
 */
export function assertMetricsPort(metricsPort: number, apiPort: number): void {
  if (metricsPort === apiPort) {
    throw new SlateError(
      'input',
      'METRICS_PORT_IS_API_PORT',
      `SLATE_METRICS_PORT must differ from PORT (both ${apiPort}): the API port requires a token, the metrics port none`,
    );
  }
}
