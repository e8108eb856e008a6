import { requireService, testServices } from '@slate/testing';
import { describe, expect, it } from 'vitest';
import { runSqlSourceConformance } from '../sql-source-conformance.ts';
import { createMysqlSqlSource } from './mysql-sql-source.ts';

const reachable = await requireService('MariaDB', testServices.mysqlUrl);

describe.skipIf(!reachable)('MySQL/MariaDB source', () => {
  runSqlSourceConformance('mysql', {
    create: async () => createMysqlSqlSource({ url: testServices.mysqlUrl }),
  });

  it('reports an unreachable server as unavailable', async () => {
    const source = createMysqlSqlSource({ url: 'mysql://nobody@127.0.0.1:1/none' });
    await expect(source.init()).rejects.toMatchObject({ kind: 'unavailable', code: 'SOURCE_UNAVAILABLE' });
    await source.close();
  });
});
