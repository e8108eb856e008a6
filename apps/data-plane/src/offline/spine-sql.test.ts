import { randomUUID } from 'node:crypto';
import { SlateError } from '@slate/graph';
import { createSqlSource, type SqlSource } from '@slate/stores';
import { testServices } from '@slate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteSqlSource } from '../sources/pglite-sql-source.ts';
import { runSpineSql } from './spine-sql.ts';

const features = new Set(['user.id', 'user.name', 'user.email']);
const T = Date.UTC(2025, 0, 10);

let pglite: SqlSource;
let mysql: SqlSource;
const table = `spine_${randomUUID().replaceAll('-', '').slice(0, 12)}`;

beforeAll(async () => {
  pglite = createPgliteSqlSource();
  await pglite.init();
  await pglite.query({
    text: 'create table signups (id int, signup_at timestamptz, email text, note text)',
    params: [],
  });
  await pglite.query({
    text: `insert into signups values (3, '2025-01-10T00:00:00Z', 'c@x.io', 'a'), (1, '2025-01-10T00:01:00Z', 'a@x.io', 'b'),
        (2, null, null, 'c')`,
    params: [],
  });
  mysql = createSqlSource({ type: 'mysql', url: testServices.mysqlUrl });
  await mysql.init();
  await mysql.query({ text: `create table ${table} (user_id int, ts datetime(3))`, params: [] });
  await mysql.query({
    text: `insert into ${table} values (7, '2025-01-10 00:00:00.250'), (8, '2025-01-10 00:02:00')`,
    params: [],
  });
});

afterAll(async () => {
  await pglite?.close();
  await mysql?.query({ text: `drop table if exists ${table}`, params: [] }).catch(() => {});
  await mysql?.close();
});

const error = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (e) {
    return e as SlateError;
  }
  throw new Error('expected a failure');
};

describe('runSpineSql', () => {
  it('reads keys, times (ts) and feature-named columns from the only data source, in query order', async () => {
    const spine = await runSpineSql('select id, signup_at as ts, email, note from signups order by note;', {
      sources: new Map([['app', pglite]]),
      primaryKey: 'user.id',
      features,
    });
    expect(spine.columns).toEqual(['user.id', '__ts__', 'user.email']);
    expect(spine.values).toEqual([
      [3, 1, 2],
      [new Date(T).toISOString(), new Date(T + 60_000).toISOString(), null],
      ['c@x.io', 'a@x.io', null],
    ]);
  });

  it('takes the source named by a -- source: line, pushes max_samples down, and runs on MySQL', async () => {
    const sources = new Map([
      ['app', pglite],
      ['warehouse', mysql],
    ]);
    // The key is the first column when none is named like it; LIMIT 1 is applied on MySQL itself.
    const first = await runSpineSql(
      `-- source: warehouse\nselect user_id, ts from ${table} order by user_id`,
      {
        sources,
        primaryKey: 'user.id',
        features,
        maxSamples: 1,
      },
    );
    expect(first).toEqual({
      columns: ['user.id', '__ts__'],
      values: [[7], [new Date(T + 250).toISOString()]],
    });
    const named = await runSpineSql(
      `-- source: warehouse\nselect ts, user_id as \`user.id\` from ${table} where user_id > 7`,
      { sources, primaryKey: 'user.id', features },
    );
    expect(named).toEqual({
      columns: ['user.id', '__ts__'],
      values: [[8], [new Date(T + 120_000).toISOString()]],
    });
  });

  it('refuses what it cannot run, with INVALID_QUERY or the source error', async () => {
    const one = new Map([['app', pglite]]);
    const two = new Map([
      ['app', pglite],
      ['warehouse', mysql],
    ]);
    const base = { primaryKey: 'user.id', features };
    expect(await error(runSpineSql('delete from signups', { ...base, sources: one }))).toMatchObject({
      code: 'INVALID_QUERY',
      kind: 'input',
    });
    expect(
      await error(runSpineSql('select 1 as id; delete from signups', { ...base, sources: one })),
    ).toMatchObject({ code: 'SOURCE_QUERY_FAILED' });
    expect((await pglite.query({ text: 'select count(*)::int as n from signups', params: [] })).rows).toEqual(
      [{ n: 3 }],
    );
    expect(await error(runSpineSql('select id from signups', { ...base, sources: two }))).toMatchObject({
      code: 'INVALID_QUERY',
      message: expect.stringContaining('-- source: NAME'),
    });
    expect(
      await error(runSpineSql('-- source: nope\nselect id from signups', { ...base, sources: two })),
    ).toMatchObject({ code: 'INVALID_QUERY', message: expect.stringContaining("'nope'") });
    expect(await error(runSpineSql('select id from signups', { ...base, sources: new Map() }))).toMatchObject(
      {
        code: 'INVALID_QUERY',
      },
    );
    expect(
      await error(runSpineSql('select email as id from signups', { ...base, sources: one })),
    ).toMatchObject({ code: 'INVALID_QUERY', message: expect.stringContaining('NULL') });
    expect(
      await error(runSpineSql("select id, 'soon' as ts from signups", { ...base, sources: one })),
    ).toMatchObject({ code: 'INVALID_QUERY', message: expect.stringContaining('not a timestamp') });
    const failed = await error(runSpineSql('select id from no_such_table', { ...base, sources: one }));
    expect(failed).toBeInstanceOf(SlateError);
    expect(failed).toMatchObject({ code: 'SOURCE_QUERY_FAILED', message: expect.stringContaining("'app'") });
  });
});
