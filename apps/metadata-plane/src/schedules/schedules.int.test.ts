import { randomBytes } from 'node:crypto';
import { requireService, testServices } from '@slate/testing';
import pg from 'pg';
import { describe, it } from 'vitest';
import type { DatabaseFactory } from '../metadata-plane.suite.ts';
import { runSchedulesSuite } from './schedules.suite.ts';

const adminUrl = testServices.postgresUrl;
const reachable = await requireService('PostgreSQL', adminUrl);
const created: string[] = [];

async function admin(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

if (reachable) {
  const postgres: DatabaseFactory = {
    // A fresh database per suite: schedules and queues start from nothing.
    create: async () => {
      const name = `slate_sched_${randomBytes(6).toString('hex')}`;
      await admin(`create database ${name}`);
      created.push(name);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return { type: 'postgres', url: url.toString() };
    },
    cleanup: async () => {
      for (const name of created.splice(0)) await admin(`drop database if exists ${name} with (force)`);
    },
  };
  runSchedulesSuite('PostgreSQL', postgres);
} else {
  describe('metadata-plane schedules (PostgreSQL)', () => {
    it.skip(`PostgreSQL is not reachable at ${adminUrl}`, () => {});
  });
}
