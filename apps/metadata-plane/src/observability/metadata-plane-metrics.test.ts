import { createMetricsServer } from '@slate/http-edge';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createMetadataPlaneMetrics } from './metadata-plane-metrics.ts';

describe('metadata plane metrics', () => {
  it('counts API requests by route pattern and status, and serves them with the process metrics', async () => {
    const metrics = createMetadataPlaneMetrics();
    const api = Fastify();
    metrics.instrument(api);
    api.get('/v1/environments/:id', async () => ({ ok: true }));
    await api.inject({ method: 'GET', url: '/v1/environments/a' });
    await api.inject({ method: 'GET', url: '/v1/environments/b' });
    await api.inject({ method: 'GET', url: '/no/such/path' });
    const server = createMetricsServer([metrics.registry]);
    try {
      const { statusCode, body } = await server.inject({ method: 'GET', url: '/metrics' });
      expect(statusCode).toBe(200);
      expect(body).toContain('http_requests{method="GET",route="/v1/environments/:id",status="200"} 2');
      expect(body).toContain('http_requests{method="GET",route="unmatched",status="404"} 1');
      expect(body).toMatch(/^http_request_duration_seconds_count\{[^}]*status="200"\} 2$/m);
      expect(body).toMatch(/^nodejs_eventloop_lag_seconds /m);
    } finally {
      await Promise.all([server.close(), api.close()]);
    }
  });
});
