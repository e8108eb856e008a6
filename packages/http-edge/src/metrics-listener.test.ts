import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { assertMetricsPort, createMetricsServer, createProcessMetrics } from './metrics-listener.ts';

describe('createMetricsServer', () => {
  it('serves every registry on /metrics without auth, and nothing else', async () => {
    const registry = new Registry();
    new Counter({ name: 'query_request', help: 'h', registers: [registry] }).inc(3);
    const app = createMetricsServer([createProcessMetrics(), registry]);
    try {
      const response = await app.inject({ method: 'GET', url: '/metrics' });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(response.body).toMatch(/^query_request 3$/m);
      expect(response.body).toMatch(/^process_resident_memory_bytes \d+/m);
      expect((await app.inject({ method: 'GET', url: '/v1/query/online' })).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });
});

describe('assertMetricsPort', () => {
  it('refuses the API port, with a stable code, and accepts any other', () => {
    expect(() => assertMetricsPort(4000, 4000)).toThrow(
      expect.objectContaining({ kind: 'input', code: 'METRICS_PORT_IS_API_PORT' }),
    );
    expect(() => assertMetricsPort(9464, 4000)).not.toThrow();
  });
});
