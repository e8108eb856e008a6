/**
 * The bare limit `npm run bench -- serving` measures Slate against: Fastify answering `POST /v1/query/online`
 * with one ioredis MGET of the same 100 keys and the same JSON shape as the data plane, and nothing else (no
 * auth, no validation, no planning, no metrics). The bench bundles it with esbuild and starts it as its own
 * process, as the data plane runs from `dist/`. Configured by `LIMIT_CONFIG` (JSON: port, redisUrl, keys,
 * features, pkey).
 */
import Fastify from 'fastify';
import { Redis } from 'ioredis';

const config = JSON.parse(process.env.LIMIT_CONFIG ?? '{}') as {
  port: number;
  redisUrl: string;
  keys: string[];
  features: string[];
  pkey: number;
};
const redis = new Redis(config.redisUrl);
const app = Fastify({ logger: false });
app.post('/v1/query/online', async () => {
  const raw = await redis.mget(config.keys);
  return {
    data: raw.map((text, i) => {
      const stored = text === null ? null : (JSON.parse(text) as { v: unknown; t: number });
      return {
        field: config.features[i],
        value: stored?.v ?? null,
        pkey: config.pkey,
        ts: stored ? new Date(stored.t).toISOString() : null,
        valid: true,
        error: null,
      };
    }),
    errors: [],
  };
});
app.get('/healthz', async () => ({ ok: true }));
await app.listen({ port: config.port, host: '127.0.0.1' });
process.on('SIGTERM', () => {
  void app.close().then(() => {
    redis.disconnect();
    process.exit(0);
  });
});
