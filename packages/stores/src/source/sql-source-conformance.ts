import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlSource } from './sql-source.ts';
import { bindSqlTemplate, compileSqlTemplate, pushDownIn, quoteIdentifier } from './sql-template.ts';

/**
 * The behaviour every SQL source must show, against a real database: value types, `${param}` binding,
 * push-down of input values, and errors as `SlateError`s. Creates and drops its own table.
 */
export function runSqlSourceConformance(name: string, options: { create: () => Promise<SqlSource> }): void {
  describe(`SqlSource conformance: ${name}`, () => {
    let source: SqlSource;
    const table = `slate_conformance_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
    const rows = [
      {
        id: 1,
        name: 'Ada',
        amount: 12.5,
        big: 9_007_199_254_740_000,
        active: true,
        at: new Date('2026-01-03T09:15:00Z'),
      },
      { id: 2, name: "O'Brien", amount: 80, big: 2, active: false, at: new Date('2026-01-04T18:40:00Z') },
      { id: 3, name: 'Grace', amount: 7.25, big: 3, active: true, at: new Date('2026-01-09T12:00:00Z') },
    ];

    beforeAll(async () => {
      source = await options.create();
      await source.init();
      const t = quoteIdentifier(source.dialect, table);
      const timestamp = source.dialect === 'postgres' ? 'timestamptz' : 'datetime(3)';
      await source.query({
        text: `create table ${t} (id integer primary key, name varchar(64), amount decimal(12,2), big bigint, active boolean, at ${timestamp}, note text)`,
        params: [],
      });
      for (const row of rows) {
        const template = compileSqlTemplate(
          `insert into ${t} (id, name, amount, big, active, at, note) values (\${id}, \${name}, \${amount}, \${big}, \${active}, \${at}, null)`,
          source.dialect,
        );
        await source.query(bindSqlTemplate(template, row));
      }
    });

    afterAll(async () => {
      await source
        ?.query({ text: `drop table if exists ${quoteIdentifier(source.dialect, table)}`, params: [] })
        .catch(() => undefined);
      await source?.close();
    });

    const select = (where = '') =>
      `select id, name, amount, big, active, at, note from ${quoteIdentifier(source.dialect, table)} ${where}`;

    it('returns values as JS types by column type', async () => {
      const result = await source.query({ text: `${select()} order by id`, params: [] });
      expect(result.columns).toEqual(['id', 'name', 'amount', 'big', 'active', 'at', 'note']);
      expect(result.rows).toEqual(rows.map((row) => ({ ...row, note: null })));
      expect(result.rows[0]!.at).toBeInstanceOf(Date);
    });

    it('binds ${feature} parameters, leaving quoted text alone', async () => {
      const template = compileSqlTemplate(
        `${select("where id = ${user.id} and name <> '${not.a.param}'")}`,
        source.dialect,
      );
      expect(template.params).toEqual(['user.id']);
      const result = await source.query(bindSqlTemplate(template, { 'user.id': 2 }));
      expect(result.rows.map((r) => r.name)).toEqual(["O'Brien"]);
    });

    it('pushes input values down into the query', async () => {
      const pushed = await source.query(
        pushDownIn({ text: select(), params: [] }, source.dialect, 'id', [3, 1, 99]),
      );
      expect(pushed.rows.map((r) => r.id).sort()).toEqual([1, 3]);
      const none = await source.query(pushDownIn({ text: select(), params: [] }, source.dialect, 'id', []));
      expect(none.rows).toEqual([]);
    });

    it('keeps the query’s own parameters when pushing down', async () => {
      const template = compileSqlTemplate(`${select('where amount > ${min}')}`, source.dialect);
      const pushed = await source.query(
        pushDownIn(bindSqlTemplate(template, { min: 10 }), source.dialect, 'id', [1, 2, 3]),
      );
      expect(pushed.rows.map((r) => r.id).sort()).toEqual([1, 2]);
    });

    it('reports a bad query as an input error with a stable code', async () => {
      await expect(
        source.query({ text: 'select nope from nowhere_at_all', params: [] }),
      ).rejects.toMatchObject({
        name: 'SlateError',
        kind: 'input',
        code: 'SOURCE_QUERY_FAILED',
      });
    });
  });
}
