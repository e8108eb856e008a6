import { describe, expect, it } from 'vitest';
import { bindSqlTemplate, compileSqlTemplate, pushDownIn } from './sql-template.ts';

describe('compileSqlTemplate', () => {
  it('numbers PostgreSQL placeholders in order, repeating names', () => {
    const t = compileSqlTemplate(
      'select * from t where a = ${user.id} and b < ${now} or c = ${user.id}',
      'postgres',
    );
    expect(t).toEqual({
      dialect: 'postgres',
      text: 'select * from t where a = $1 and b < $2 or c = $3',
      params: ['user.id', 'now', 'user.id'],
    });
  });

  it('uses ? for MySQL', () => {
    expect(compileSqlTemplate('select ${a}, ${b}', 'mysql').text).toBe('select ?, ?');
  });

  it('leaves ${…} inside literals, quoted identifiers and comments alone', () => {
    const sql = `select '\${x}', "\${y}", \`\${z}\` -- \${w}\n/* \${v} */ from t where id = \${user.id}`;
    const t = compileSqlTemplate(sql, 'postgres');
    expect(t.params).toEqual(['user.id']);
    expect(t.text).toBe(`select '\${x}', "\${y}", \`\${z}\` -- \${w}\n/* \${v} */ from t where id = $1`);
  });

  it.each(['select ${', 'select ${}', 'select ${1abc}'])('rejects %j', (sql) => {
    expect(() => compileSqlTemplate(sql, 'postgres')).toThrow(
      expect.objectContaining({ code: 'INVALID_SQL_TEMPLATE' }),
    );
  });

  it('binds values by name and refuses a missing one', () => {
    const t = compileSqlTemplate('select ${a}, ${b}, ${a}', 'postgres');
    expect(bindSqlTemplate(t, { a: 1, b: 'x' }).params).toEqual([1, 'x', 1]);
    expect(() => bindSqlTemplate(t, { a: 1 })).toThrow(
      expect.objectContaining({ code: 'MISSING_SQL_PARAMETER' }),
    );
  });
});

describe('pushDownIn', () => {
  it('wraps the query and appends the values as the next parameter', () => {
    expect(
      pushDownIn({ text: 'select * from u where x = $1;', params: [5] }, 'postgres', 'id', [1, 2]),
    ).toEqual({
      text: 'select * from (select * from u where x = $1) as slate_q where slate_q."id" = any($2)',
      params: [5, [1, 2]],
    });
    expect(pushDownIn({ text: 'select * from u', params: [] }, 'mysql', 'id', [1, 2])).toEqual({
      text: 'select * from (select * from u) as slate_q where slate_q.`id` in (?, ?)',
      params: [1, 2],
    });
  });
});
