import { describe, expect, it } from 'vitest';
import { collectGraph } from './collect-graph.ts';
import { features } from './feature-class.ts';
import { int, string } from './fields.ts';
import { sqlResolver } from './sql-resolver.ts';
import { selectedColumns, sqlParameters } from './sql-resolver-spec.ts';
import { stream } from './stream.ts';

const User = features('user', { id: int(), full_name: string(), email: string(), login_count: int() });

describe('selectedColumns', () => {
  it.each([
    ['select id, full_name from users', ['id', 'full_name']],
    [
      'SELECT u.ID, lower(u.email) AS Email, count(*) "LoginCount" FROM users u',
      ['id', 'email', 'LoginCount'],
    ],
    ['select id, (select max(x) from t) as m from users', ['id', 'm']],
    ['select coalesce(a, b, c) fromage from users', ['fromage']],
    ['select * from users', null],
  ])('%s', (query, expected) => {
    expect(selectedColumns(query)).toEqual(expected);
  });

  it(`lists \${param} names once, outside string literals`, () => {
    expect(
      sqlParameters(`select 1 where a = \${user.id} and b = '\${x}' and c < \${now} and d = \${user.id}`),
    ).toEqual(['user.id', 'now']);
  });
});

describe('SQL resolvers in the graph', () => {
  it('maps columns to features (case-insensitive, underscores stripped) and keys by the primary key', () => {
    const users = sqlResolver({
      source: 'app',
      resolves: User,
      query: 'select ID, FullName, e_mail as email from users',
    });
    const { artifact } = collectGraph({ User, users });
    expect(artifact.resolvers[0]).toMatchObject({
      fqn: 'users',
      namespace: 'user',
      inputs: [{ type: 'feature', param: 'id', fqn: 'user.id' }],
      outputs: [
        { param: 'full_name', fqn: 'user.full_name' },
        { param: 'email', fqn: 'user.email' },
      ],
      sql: { dataSource: 'app', count: 'one_or_none', keyColumn: 'id' },
    });
  });

  it(`takes \${feature} parameters as inputs; count: all makes a data frame`, () => {
    const logins = sqlResolver({
      source: 'app',
      resolves: User,
      query: `select count(*) as login_count from logins where user_id = \${user.id} and at < \${now}`,
    });
    const everyone = sqlResolver({
      source: 'app',
      resolves: User,
      query: 'select id, email from users',
      count: 'all',
    });
    const { artifact } = collectGraph({ User, logins, everyone });
    expect(artifact.resolvers.find((r) => r.fqn === 'logins')).toMatchObject({
      inputs: [{ param: 'user.id', fqn: 'user.id' }],
      outputs: [{ param: 'login_count', fqn: 'user.login_count' }],
    });
    expect(artifact.resolvers.find((r) => r.fqn === 'everyone')).toMatchObject({
      inputs: [],
      total: true,
      dataframe: 'rows',
      outputs: [
        { param: 'id', fqn: 'user.id' },
        { param: 'email', fqn: 'user.email' },
      ],
    });
  });

  it('reads .sql header comments', () => {
    const { artifact } = collectGraph(
      { User },
      {
        sqlFiles: [
          {
            path: 'src/user_emails.chalk.sql',
            text: [
              '-- Emails from the app database.',
              '-- source: app',
              '-- resolves: User',
              '-- type: offline',
              '-- count: one',
              '-- cron: "*/5 * * * *"',
              '-- timeout: 2s',
              '-- incremental:',
              '--   mode: row',
              '--   incremental_column: updated_at',
              '--   lookback_period: 1h',
              'select id, email, updated_at from users',
            ].join('\n'),
          },
        ],
      },
    );
    expect(artifact.resolvers[0]).toMatchObject({
      fqn: 'user_emails',
      kind: 'offline',
      cron: '*/5 * * * *',
      timeoutMs: 2000,
      description: 'Emails from the app database.',
      sql: {
        count: 'one',
        incremental: { mode: 'row', column: 'updated_at', lookbackS: 3600 },
        file: 'src/user_emails.chalk.sql',
      },
    });
  });

  it.each([
    ['-- resolves: user\nselect id from users', /source/],
    ['-- source: app\n-- resolves: nobody\nselect id from users', /not a feature class/],
    ['-- source: app\n-- resolves: user\nselect * from users', /not \*/],
    ['-- source: app\n-- resolves: user\nselect email from users', /primary key/],
    ['-- source: app\n-- resolves: user\n-- colour: red\nselect id from users', /unknown header/],
    [`-- source: app\n-- resolves: user\nselect email from users where id = \${order.id}`, /neither/],
    [
      '-- source: app\n-- resolves: user\n-- incremental: {mode: row}\nselect id from users',
      /needs a column/,
    ],
    [
      '-- source: app\n-- resolves: user\n-- incremental: {incremental_column: updated_at}\nselect id, email from users',
      /incremental column 'updated_at' is not selected/,
    ],
    [
      '-- source: app\n-- resolves: user\n-- incremental: {mode: batch, incremental_column: at}\nselect id from users',
      /must be row, group or parameter/,
    ],
    [
      '-- source: app\n-- resolves: user\n-- incremental: {mode: group, incremental_column: at}\nselect id from users',
      /GROUP BY/,
    ],
    [
      '-- source: app\n-- resolves: user\n-- incremental: {mode: parameter}\nselect id from users',
      /chalk_incremental_timestamp/,
    ],
    [
      '-- source: app\n-- resolves: user\n-- incremental: {incremental_column: at, incremental_timestamp: wall}\nselect id from users',
      /feature_time or resolver_execution_time/,
    ],
    [
      `-- source: app\n-- resolves: user\nselect id from users where at > \${chalk_incremental_timestamp}`,
      /only set for incremental mode parameter/,
    ],
  ])('refuses %j', (text, message) => {
    expect(() => collectGraph({ User }, { sqlFiles: [{ path: 'bad.sql', text }] })).toThrow(message);
  });
});

describe('incremental SQL resolvers', () => {
  it('reads the group and parameter modes and the incremental timestamp from the header', () => {
    const { artifact } = collectGraph(
      { User },
      {
        sqlFiles: [
          {
            path: 'src/user_logins.chalk.sql',
            text: [
              '-- source: app',
              '-- resolves: user',
              '-- incremental:',
              '--   mode: group',
              '--   incremental_column: l.at',
              '--   lookback_period: 10m',
              '--   incremental_timestamp: resolver_execution_time',
              'select l.user_id as id, count(*) as login_count from logins l group by l.user_id',
            ].join('\n'),
          },
          {
            path: 'src/recent_emails.chalk.sql',
            text: [
              '-- source: app',
              '-- resolves: user',
              '-- incremental: {mode: parameter}',
              `select id, email from users where updated_at > \${chalk_incremental_timestamp}`,
            ].join('\n'),
          },
        ],
      },
    );
    expect(artifact.resolvers.map((r) => [r.fqn, r.sql?.incremental, r.inputs.map((i) => i.param)])).toEqual([
      [
        'user_logins',
        { mode: 'group', column: 'l.at', lookbackS: 600, timestamp: 'resolver_execution_time' },
        ['id'],
      ],
      ['recent_emails', { mode: 'parameter', lookbackS: 0, timestamp: 'feature_time' }, ['id']],
    ]);
  });
});

describe('stream', () => {
  it('must output the primary key', () => {
    const keyless = stream({
      source: { topic: 'logins' },
      outputs: { n: User.login_count },
      parse: () => ({ n: 1 }),
    });
    expect(() => collectGraph({ User, keyless })).toThrow(/must output the primary key user.id/);
  });

  it('is a streaming resolver the planner never picks: topic, deadline, outputs', () => {
    const logins = stream({
      source: { topic: 'logins' },
      outputs: { id: User.id, n: User.login_count },
      lateArrivalDeadline: '10m',
      parse: ({ value }) => {
        const body = JSON.parse(value) as { id?: number; n: number };
        return body.id === undefined ? undefined : { id: body.id, n: body.n };
      },
    });
    const { artifact, functions } = collectGraph({ User, logins });
    expect(artifact.resolvers[0]).toMatchObject({
      fqn: 'logins',
      inputs: [],
      outputs: [
        { param: 'id', fqn: 'user.id' },
        { param: 'n', fqn: 'user.login_count' },
      ],
      stream: { topic: 'logins', lateArrivalS: 600, mode: 'mapping' },
    });
    const fn = functions.get('logins')!;
    const context = {
      now: new Date(),
      environment: 'e',
      deploymentId: 'd',
      tags: [],
      queryContext: {},
      secret: () => undefined,
    };
    const message = (value: string) => ({ message: { value, key: 'k', publishedAt: new Date() } });
    expect(fn(message('{"id":3,"n":7}'), context)).toEqual({ id: 3, n: 7 });
    expect(fn(message('{"n":7}'), context)).toEqual({ __skipped: true });
    expect(() => fn(message('not json'), context)).toThrow();
  });
});
