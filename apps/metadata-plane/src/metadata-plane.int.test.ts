import { randomBytes } from 'node:crypto';
import { requireService, testServices } from '@slate/testing';
import pg from 'pg';
import { describe, it } from 'vitest';
import { runAccessSuite } from './access.suite.ts';
import { runReplicasSuite } from './data-planes/replicas.suite.ts';
import { type DatabaseFactory, runMetadataPlaneSuite } from './metadata-plane.suite.ts';
import { runModelsSuite } from './models/models.suite.ts';
import { runOidcSuite } from './oidc.suite.ts';

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
    // A fresh database per call: migrations and seeds start from nothing, and runs never collide.
    create: async () => {
      const name = `slate_mp_${randomBytes(6).toString('hex')}`;
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
  runMetadataPlaneSuite('PostgreSQL', postgres);
  runAccessSuite('PostgreSQL', postgres);
  runModelsSuite('PostgreSQL', postgres);
  runOidcSuite('PostgreSQL', postgres);
  runReplicasSuite('PostgreSQL', postgres);
} else {
  describe('metadata plane (PostgreSQL)', () => {
    it.skip(`PostgreSQL is not reachable at ${adminUrl}`, () => {});
  });
}
