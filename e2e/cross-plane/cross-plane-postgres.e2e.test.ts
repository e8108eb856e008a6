import { randomBytes } from 'node:crypto';
import { requireService, testServices } from '@slate/testing';
import pg from 'pg';
import { describe, it } from 'vitest';
import type { DatabaseFactory } from '../../apps/metadata-plane/src/metadata-plane.suite.ts';
import { runModelsEndToEndSuite } from './models-end-to-end.suite.ts';
import { runScheduledRunsSuite } from './schedules-end-to-end.suite.ts';
import { runSecretsSuite } from './secrets.suite.ts';
import { runUsageSuite } from './usage.suite.ts';

const adminUrl = testServices.postgresUrl;
const reachable = await requireService('PostgreSQL', adminUrl);
const created: string[] = [];

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

if (reachable) {
  const postgres: DatabaseFactory = {
    // A fresh database per suite: migrations, seeds, schedules and queues start from nothing.
    create: async () => {
      const name = `slate_xp_${randomBytes(6).toString('hex')}`;
      await admin((c) => c.query(`create database ${name}`));
      created.push(name);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return { type: 'postgres', url: url.toString() };
    },
    cleanup: async () => {
      const names = created.splice(0);
      await admin(async (c) => {
        for (const name of names) await c.query(`drop database if exists ${name} with (force)`);
      });
    },
  };
  runSecretsSuite('PostgreSQL', postgres);
  runUsageSuite('PostgreSQL', postgres);
  runScheduledRunsSuite('PostgreSQL', postgres);
  runModelsEndToEndSuite('PostgreSQL', postgres);
} else {
  describe('cross-plane suites (PostgreSQL)', () => {
    it.skip(`PostgreSQL is not reachable at ${adminUrl}`, () => {});
  });
}
