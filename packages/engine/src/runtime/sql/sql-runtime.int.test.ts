import { randomBytes } from 'node:crypto';
import {
  collectGraph,
  datetime,
  features,
  float,
  int,
  parseSqlResolverFile,
  sqlResolver,
  string,
} from '@slate/sdk';
import { createSqlSource, type SqlSource } from '@slate/stores';
import { requireService, testServices } from '@slate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../engine.ts';
import { createInProcessRuntime } from '../in-process/in-process-runtime.ts';
import { createSqlRuntime, scanSqlResolver } from './sql-runtime.ts';

const services = [
  { type: 'postgres' as const, url: testServices.postgresUrl },
  { type: 'mysql' as const, url: testServices.mysqlUrl },
];
const reachable = await Promise.all(
  services.map((service) =>
    requireService(service.type === 'postgres' ? 'PostgreSQL' : 'MariaDB', service.url),
  ),
);

describe.each(services.map((service, i) => ({ ...service, reachable: reachable[i]! })))(
  'SQL resolvers on $type',
  ({ type, url, reachable: up }) => {
    const suffix = randomBytes(4).toString('hex');
    const users = `p7_users_${suffix}`;
    const orders = `p7_orders_${suffix}`;
    let source: SqlSource;

    const Customer = features('customer', {
      id: int(),
      full_name: string().nullable(),
      email: string().nullable(),
      order_count: int(),
      order_total: float(),
      updated_at: datetime(),
    });
    const customer_row = sqlResolver({
      source: 'app',
      resolves: Customer,
      query: `select id, full_name, EMAIL, updated_at from ${users}`,
    });
    const customer_orders = sqlResolver({
      source: 'app',
      resolves: Customer,
      query: `select count(*) as order_count, coalesce(sum(amount), 0) as order_total from ${orders} where user_id = \${customer.id} and created_at <= \${now}`,
    });

    beforeAll(async () => {
      if (!up) return;
      source = createSqlSource({ type, url });
      await source.init();
      const ts = type === 'postgres' ? 'timestamptz' : 'datetime(3)';
      await source.query({
        text: `create table ${users} (id int primary key, full_name varchar(100), email varchar(100), updated_at ${ts})`,
        params: [],
      });
      await source.query({
        text: `create table ${orders} (id int primary key, user_id int, amount double precision, created_at ${ts})`,
        params: [],
      });
      const p = (i: number) => (type === 'postgres' ? `$${i}` : '?');
      for (let id = 1; id <= 5; id++)
        await source.query({
          text: `insert into ${users} values (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)})`,
          params: [id, `User ${id}`, `u${id}@example.com`, new Date(Date.UTC(2026, 0, id))],
        });
      for (let id = 1; id <= 12; id++)
        await source.query({
          text: `insert into ${orders} values (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)})`,
          params: [id, (id % 4) + 1, id * 2.5, new Date(Date.UTC(2026, 0, id))],
        });
    });
    afterAll(async () => {
      if (!up) return;
      await source.query({ text: `drop table ${users}`, params: [] });
      await source.query({ text: `drop table ${orders}`, params: [] });
      await source.close();
    });

    it.skipIf(!up)('answers online queries with the values a plain SQL query returns', async () => {
      const { artifact, functions } = collectGraph({ Customer, customer_row, customer_orders });
      const engine = createEngine({
        graph: artifact,
        runtime: createSqlRuntime({
          resolvers: artifact.resolvers,
          sources: new Map([['app', source]]),
          fallback: createInProcessRuntime(functions),
        }),
        environment: 'test',
        deploymentId: 'd1',
      });
      const now = new Date(Date.UTC(2026, 0, 8));
      const ids = [1, 2, 3, 99];
      const result = await engine.query({
        inputs: { 'customer.id': ids },
        outputs: ['customer.full_name', 'customer.email', 'customer.order_count', 'customer.order_total'],
        now,
      });
      expect(result.errors).toEqual([]);
      const column = (fqn: string) => result.columns.find((c) => c.fqn === fqn)!.values;

      const p = (i: number) => (type === 'postgres' ? `$${i}` : '?');
      const expected = await Promise.all(
        ids.map(async (id) => {
          const user = await source.query({
            text: `select full_name, email from ${users} where id = ${p(1)}`,
            params: [id],
          });
          const agg = await source.query({
            text: `select count(*) as n, coalesce(sum(amount), 0) as s from ${orders} where user_id = ${p(1)} and created_at <= ${p(2)}`,
            params: [id, now],
          });
          return {
            name: user.rows[0]?.full_name ?? null,
            email: user.rows[0]?.email ?? null,
            count: Number(agg.rows[0]!.n),
            total: Number(agg.rows[0]!.s),
          };
        }),
      );
      expect(column('customer.full_name')).toEqual(expected.map((e) => e.name));
      expect(column('customer.email')).toEqual(expected.map((e) => e.email));
      expect(column('customer.order_count')).toEqual(expected.map((e) => e.count));
      expect(column('customer.order_total')).toEqual(expected.map((e) => e.total));
      expect(expected[3]!.name).toBeNull();
      await engine.close();
    });

    it.skipIf(!up)('scans a .sql file resolver within bounds and after a high-water mark', async () => {
      const file = parseSqlResolverFile(
        'resolvers/customers.chalk.sql',
        [
          '-- Every customer, for the offline store.',
          '-- source: app',
          '-- resolves: Customer',
          '-- cron: "0 * * * *"',
          '-- incremental: {mode: row, incremental_column: updated_at}',
          `select id, full_name, email, updated_at from ${users}`,
        ].join('\n'),
      );
      const { artifact } = collectGraph({ Customer, file });
      const spec = artifact.resolvers.find((r) => r.fqn === 'customers')!;
      expect(spec).toMatchObject({
        cron: '0 * * * *',
        description: 'Every customer, for the offline store.',
      });
      const sources = new Map([['app', source]]);
      const scan = async (options: Parameters<typeof scanSqlResolver>[2]) => {
        const rows: Record<string, unknown>[] = [];
        let highWater: unknown;
        for await (const page of scanSqlResolver(spec, sources, { pageSize: 2, ...options })) {
          rows.push(...page.rows);
          highWater = page.highWater;
        }
        return { rows, highWater };
      };
      const all = await scan({ now: new Date() });
      expect(all.rows.map((r) => r['customer.id'])).toEqual([1, 2, 3, 4, 5]);
      expect(all.rows[1]).toMatchObject({
        'customer.full_name': 'User 2',
        'customer.email': 'u2@example.com',
      });
      expect(new Date(all.highWater as Date).toISOString()).toBe('2026-01-05T00:00:00.000Z');
      const bounded = await scan({
        now: new Date(),
        lowerBound: new Date(Date.UTC(2026, 0, 2)),
        upperBound: new Date(Date.UTC(2026, 0, 4)),
      });
      expect(bounded.rows.map((r) => r['customer.id'])).toEqual([2, 3]);
      const after = await scan({ now: new Date(), after: new Date(Date.UTC(2026, 0, 3)) });
      expect(after.rows.map((r) => r['customer.id'])).toEqual([4, 5]);
    });
  },
);
