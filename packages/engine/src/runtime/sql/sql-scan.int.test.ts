import { randomBytes } from 'node:crypto';
import { collectGraph, datetime, features, float, int, sqlResolver, string } from '@slate/sdk';
import { createSqlSource, type SqlSource } from '@slate/stores';
import { requireService, testServices } from '@slate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanSqlResolver } from './sql-scan.ts';

const services = [
  { type: 'postgres' as const, url: testServices.postgresUrl },
  { type: 'mysql' as const, url: testServices.mysqlUrl },
];
const reachable = await Promise.all(
  services.map((service) =>
    requireService(service.type === 'postgres' ? 'PostgreSQL' : 'MariaDB', service.url),
  ),
);
const day = (d: number, ms = 0) => new Date(Date.UTC(2026, 0, d) + ms);

describe.each(services.map((service, i) => ({ ...service, reachable: reachable[i]! })))(
  'incremental SQL scans on $type',
  ({ type, url, reachable: up }) => {
    const suffix = randomBytes(4).toString('hex');
    const people = `p7_people_${suffix}`;
    const payments = `p7_payments_${suffix}`;
    let source: SqlSource;
    const p = (i: number) => (type === 'postgres' ? `$${i}` : '?');
    const sql = async (text: string, params: unknown[] = []) => (await source.query({ text, params })).rows;

    const Person = features('person', {
      id: int(),
      full_name: string().nullable(),
      updated_at: datetime().featureTime(),
      payment_count: int(),
      payment_total: float(),
    });
    const people_rows = sqlResolver({
      source: 'app',
      resolves: Person,
      kind: 'offline',
      query: `select id, full_name, updated_at from ${people}`,
      incremental: { column: 'updated_at' },
    });
    const payment_totals = sqlResolver({
      source: 'app',
      resolves: Person,
      kind: 'offline',
      query: `select pay.person_id as id, count(*) as payment_count, sum(pay.amount) as payment_total
              from ${payments} pay where pay.amount > 0 group by pay.person_id`,
      incremental: { mode: 'group', column: 'pay.created_at' },
    });
    const recent_people = sqlResolver({
      source: 'app',
      resolves: Person,
      kind: 'offline',
      query: `select id, full_name, updated_at from ${people} where updated_at > \${chalk_incremental_timestamp}`,
      incremental: { mode: 'parameter' },
    });
    const { artifact } = collectGraph({ Person, people_rows, payment_totals, recent_people });
    const spec = (fqn: string) => artifact.resolvers.find((r) => r.fqn === fqn)!;

    const scan = async (fqn: string, options: Omit<Parameters<typeof scanSqlResolver>[2], 'now'> = {}) => {
      const rows: Record<string, unknown>[] = [];
      const bounds: unknown[] = [];
      let highWater: unknown;
      let ordered = false;
      for await (const page of scanSqlResolver(spec(fqn), new Map([['app', source]]), {
        now: new Date(),
        pageSize: 2,
        ...options,
      })) {
        rows.push(...page.rows);
        bounds.push(...(page.boundValues ?? []));
        highWater = page.highWater;
        ordered = page.ordered;
      }
      return { rows, bounds, highWater, ordered };
    };
    const time = (value: unknown) => (value == null ? null : new Date(value as Date).getTime());

    beforeAll(async () => {
      if (!up) return;
      source = createSqlSource({ type, url });
      await source.init();
      const ts = type === 'postgres' ? 'timestamptz' : 'datetime(6)';
      await sql(`create table ${people} (id int primary key, full_name varchar(100), updated_at ${ts})`);
      await sql(
        `create table ${payments} (id int primary key, person_id int, amount double precision, created_at ${ts})`,
      );
      // Ties on updated_at across page boundaries (pages of 2), and a NULL that only a full scan reads.
      const at = [day(3), day(1), day(2), day(2), day(2), day(4), null];
      for (const [i, value] of at.entries())
        await sql(`insert into ${people} values (${p(1)}, ${p(2)}, ${p(3)})`, [i + 1, `P${i + 1}`, value]);
      for (let id = 1; id <= 9; id++)
        await sql(`insert into ${payments} values (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)})`, [
          id,
          (id % 3) + 1,
          id === 5 ? -1 : id * 1.5,
          day(id),
        ]);
    });
    afterAll(async () => {
      if (!up) return;
      await sql(`drop table ${people}`);
      await sql(`drop table ${payments}`);
      await source.close();
    });

    it.skipIf(!up)('row mode pages in incremental-column order, ties and NULLs included once', async () => {
      const all = await scan('people_rows');
      const expected = await sql(
        `select id from ${people} order by case when updated_at is null then 1 else 0 end, updated_at, id`,
      );
      expect(all.ordered).toBe(true);
      expect(all.rows.map((r) => r['person.id'])).toEqual(expected.map((r) => r.id));
      expect(time(all.highWater)).toBe(day(4).getTime());
      const nonNull = all.bounds.filter((b) => b != null).map(time);
      expect(nonNull).toEqual([...nonNull].sort((a, b) => a! - b!));

      const after = await scan('people_rows', { after: day(2) });
      const newer = await sql(`select id from ${people} where updated_at > ${p(1)} order by updated_at, id`, [
        day(2),
      ]);
      expect(after.rows.map((r) => r['person.id'])).toEqual(newer.map((r) => r.id));
    });

    it.skipIf(!up)('row mode keeps sub-millisecond timestamps apart (no page read twice)', async () => {
      // Microseconds a JS Date cannot hold: the keyset cursor must not round them.
      const base = 60_000_000 + randomBytes(1)[0]!;
      for (const [i, micros] of [1, 2, 3].entries())
        await sql(
          type === 'postgres'
            ? `insert into ${people} values (${p(1)}, 'micro', timestamptz '2026-01-10 00:00:00.123${micros}00+00')`
            : `insert into ${people} values (${p(1)}, 'micro', '2026-01-10 00:00:00.123${micros}00')`,
          [base + i],
        );
      const all = await scan('people_rows', { after: day(9) });
      expect(all.rows.map((r) => r['person.id'])).toEqual([base, base + 1, base + 2]);
      await sql(`delete from ${people} where full_name = 'micro'`);
    });

    it.skipIf(!up)('group mode re-aggregates whole groups that changed since the mark', async () => {
      const aggregate = async (ids?: number[]) =>
        Object.fromEntries(
          (
            await sql(
              `select person_id, count(*) as n, sum(amount) as s from ${payments} where amount > 0${
                ids ? ` and person_id in (${ids.join(', ')})` : ''
              } group by person_id order by person_id`,
            )
          ).map((r) => [Number(r.person_id), { count: Number(r.n), total: Number(r.s) }]),
        );
      const byPerson = (rows: Record<string, unknown>[]) =>
        Object.fromEntries(
          rows.map((r) => [
            Number(r['person.id']),
            { count: Number(r['person.payment_count']), total: Number(r['person.payment_total']) },
          ]),
        );
      const first = await scan('payment_totals');
      expect(byPerson(first.rows)).toEqual(await aggregate());
      expect(time(first.highWater)).toBe(day(9).getTime());
      // Nothing new: no group.
      expect((await scan('payment_totals', { after: first.highWater })).rows).toEqual([]);

      // A new payment of person 2 (and a refund of person 3, which the query's own WHERE leaves out).
      await sql(`insert into ${payments} values (10, 2, 100, ${p(1)}), (11, 3, -5, ${p(2)})`, [
        day(10),
        day(11),
      ]);
      const second = await scan('payment_totals', { after: first.highWater });
      expect(byPerson(second.rows)).toEqual(await aggregate([2]));
      // The mark is measured over the rows the query aggregates: the refund is not one of them.
      expect(time(second.highWater)).toBe(day(10).getTime());

      // Bounds choose groups by their rows' incremental column too: payments of Jan 1–2 are persons 2, 3.
      const bounded = await scan('payment_totals', { lowerBound: day(1), upperBound: day(3) });
      expect(byPerson(bounded.rows)).toEqual(await aggregate([2, 3]));
    });

    it.skipIf(!up)(
      'parameter mode binds ${chalk_incremental_timestamp} into the query as written',
      async () => {
        const ids = async (after: Date) =>
          (await sql(`select id from ${people} where updated_at > ${p(1)} order by id`, [after])).map(
            (r) => r.id,
          );
        const all = await scan('recent_people');
        expect(all.rows.map((r) => r['person.id'])).toEqual(await ids(new Date(0)));
        const later = await scan('recent_people', {
          incrementalTimestamp: day(2),
          boundColumn: 'updated_at',
        });
        expect(later.rows.map((r) => r['person.id'])).toEqual(await ids(day(2)));
        expect(time(later.highWater)).toBe(day(4).getTime());
      },
    );
  },
);
