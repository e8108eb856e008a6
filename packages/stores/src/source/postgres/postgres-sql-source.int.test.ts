import { requireService, testServices } from '@slate/testing';
import { describe, expect, it } from 'vitest';
import { runSqlSourceConformance } from '../sql-source-conformance.ts';
import { createPostgresSqlSource } from './postgres-sql-source.ts';

const reachable = await requireService('PostgreSQL', testServices.postgresUrl);

describe.skipIf(!reachable)('PostgreSQL source', () => {
  runSqlSourceConformance('postgres', {
    create: async () => createPostgresSqlSource({ url: testServices.postgresUrl }),
  });

  it('reports an unreachable server as unavailable', async () => {
    const source = createPostgresSqlSource({ url: 'postgres://nobody@127.0.0.1:1/none' });
    await expect(source.init()).rejects.toMatchObject({ kind: 'unavailable', code: 'SOURCE_UNAVAILABLE' });
    await source.close();
  });
});
