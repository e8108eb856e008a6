import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runQueueConformance } from '../queue-conformance.ts';
import { createPgBossQueueBroker, pgliteExecuteSql } from './pg-boss-queue-broker.ts';

// One PGlite (in memory) is the shared backend; every broker is a separate pg-boss instance on it.
let lite: PGlite;
beforeAll(async () => {
  lite = new PGlite();
  await lite.waitReady;
});
afterAll(async () => {
  await lite.close();
});

runQueueConformance('pg-boss on PGlite', {
  create: async () => {
    const broker = createPgBossQueueBroker({ connection: { executeSql: pgliteExecuteSql(lite) } });
    await broker.init();
    return broker;
  },
});

describe('pg-boss queue storage', () => {
  it('stores messages as pg-boss jobs, the idempotency key as a deterministic UUID id', async () => {
    const broker = createPgBossQueueBroker({
      connection: { executeSql: pgliteExecuteSql(lite) },
      schema: 'qtest',
    });
    await broker.init();
    try {
      const q = await broker.queue('heartbeat', { visibilityTimeoutSeconds: 7, maxAttempts: 4 });
      const sent = await q.send({ data_plane_id: 'dp_1' }, { idempotencyKey: 'dp_1:2024-01-01T00:00:00Z' });
      const row = await lite.query<{
        id: string;
        name: string;
        data: unknown;
        retry_limit: number;
        expire: number;
      }>(
        `select id, name, data, retry_limit, extract(epoch from expire_in)::int as expire from qtest.job where id = $1`,
        [sent.id],
      );
      expect(sent.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(row.rows).toEqual([
        { id: sent.id, name: 'heartbeat', data: { data_plane_id: 'dp_1' }, retry_limit: 3, expire: 7 },
      ]);
      const queues = await lite.query<{ name: string; dead_letter: string | null }>(
        `select name, dead_letter from qtest.queue order by name`,
      );
      expect(queues.rows).toEqual([
        { name: 'heartbeat', dead_letter: 'heartbeat-dlq' },
        { name: 'heartbeat-dlq', dead_letter: null },
      ]);
    } finally {
      await broker.close();
    }
  });
});
