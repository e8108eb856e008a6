import { describe, expect, it } from 'vitest';
import {
  changedGroupsQuery,
  groupHighWaterQuery,
  hasTopLevelGroupBy,
  splitGroupByQuery,
} from './sql-query-clauses.ts';

describe('splitGroupByQuery', () => {
  it('finds the top-level FROM, WHERE, GROUP BY and what follows, past subqueries, CTEs and literals', () => {
    const query = `with big as (select user_id from payments group by user_id having sum(amount) > 10)
      select p.user_id as id, count(*) as n, (select max(x) from t where y = 'from z group by w') as m
      from payments p join big b on b.user_id = p.user_id
      where p.amount > \${min_amount} -- group by in a comment
      group by p.user_id, p.day
      having count(*) > 1
      order by 1;`;
    expect(splitGroupByQuery(query)).toEqual({
      head: query.slice(0, query.indexOf('\n      where')),
      from: 'payments p join big b on b.user_id = p.user_id',
      where: 'p.amount > ${min_amount} -- group by in a comment',
      groupKeys: 'p.user_id, p.day',
      tail: 'having count(*) > 1\n      order by 1',
    });
  });

  it.each([
    ['select user_id, count(*) from payments', /FROM and GROUP BY/],
    ['select user_id from a group by user_id union select user_id from b group by user_id', /UNION/],
    ['select user_id, count(*) from payments group by 1', /positions/],
  ])('refuses %j', (query, message) => {
    expect(() => splitGroupByQuery(query)).toThrow(message);
  });

  it('tells a GROUP BY of the query from one of a subquery, and a column named group', () => {
    expect(hasTopLevelGroupBy('select id, "group" from t group by id')).toBe(true);
    expect(hasTopLevelGroupBy('select id, (select count(*) from t group by a) from u')).toBe(false);
    expect(hasTopLevelGroupBy('select id, group_name as "group" from u')).toBe(false);
  });
});

describe('changedGroupsQuery', () => {
  it("adds the changed groups to the query's own WHERE and keeps the rest", () => {
    expect(
      changedGroupsQuery(
        'select user_id as id, sum(amount) as total from payments where amount > 0 group by user_id having sum(amount) > 1',
        'created_at > ${after}',
      ),
    ).toBe(
      'select user_id as id, sum(amount) as total from payments where (amount > 0) and (user_id) in ' +
        '(select user_id from payments where (amount > 0) and created_at > ${after}) group by user_id having sum(amount) > 1',
    );
    expect(changedGroupsQuery('select a, b, count(*) as n from t group by a, b', 'at > ${x}')).toBe(
      'select a, b, count(*) as n from t where (a, b) in (select a, b from t where at > ${x}) group by a, b',
    );
  });

  it("measures the high-water mark over the query's rows", () => {
    expect(
      groupHighWaterQuery('select a, count(*) as n from t where b = 1 group by a', 'at', ['at < ${upper}']),
    ).toBe('select max(at) as slate_high_water from t where (b = 1) and at < ${upper}');
  });
});
