import { randomBytes } from 'node:crypto';
import { requireService, testServices } from '@slate/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runQueueConformance } from '../queue-conformance.ts';
import { createPgBossQueueBroker } from './pg-boss-queue-broker.ts';

const reachable = await requireService('PostgreSQL', testServices.postgresUrl);
// A schema of its own per run, dropped at the end, so runs never see each other's jobs.
const schema = `pgboss_${randomBytes(5).toString('hex')}`;

if (reachable) {
  afterAll(async () => {
    const client = new pg.Client({ connectionString: testServices.postgresUrl });
    await client.connect();
    await client.query(`drop schema if exists ${schema} cascade`);
    await client.end();
  });
  beforeAll(() => {});
  runQueueConformance('pg-boss on PostgreSQL', {
    create: async () => {
      const broker = createPgBossQueueBroker({
        connection: { url: testServices.postgresUrl, max: 2 },
        schema,
      });
      await broker.init();
      return broker;
    },
  });
} else {
  describe('pg-boss on PostgreSQL', () => {
    it.skip(`PostgreSQL is not reachable at ${testServices.postgresUrl}`, () => {});
  });
}
