import { SlateError } from '@slate/graph';
import Fastify, { type FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';

/** The port Prometheus scrapes when `SLATE_METRICS_PORT` is not set (OpenTelemetry's Prometheus exporter's). */
export const DEFAULT_METRICS_PORT = 9464;

/**
 * A separate, unauthenticated listener serving `GET /metrics` for Prometheus, meant for an internal port
 * (`SLATE_METRICS_PORT`, default 9464; the Helm charts point a ServiceMonitor at it), on both planes. The
 * data plane's public API also serves `GET /metrics`, to tokens holding `monitoring.read`; this one exists
 * because scrapers cannot renew expiring JWTs. Every other path answers 404. Each scrape renders the registries in order, concatenated;
 * their metric names must not overlap.
 *
 * @example
 * const internal = createMetricsServer([createProcessMetrics(), dataPlane.metrics.registry]);
 * await internal.listen({ port: 9464, host: '0.0.0.0' });
 */
export function createMetricsServer(registries: readonly Registry[]): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_request, reply) => {
    const texts = await Promise.all(registries.map((registry) => registry.metrics()));
    return reply.type(Registry.PROMETHEUS_CONTENT_TYPE).send(texts.join('\n'));
  });
  return app;
}

/**
 * The process's own metrics in a registry of their own: CPU, resident memory, heap, event-loop lag, GC,
 * handles (prom-client's defaults, `process_*` and `nodejs_*`). One per process: create it in `main`.
 */
export function createProcessMetrics(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
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
