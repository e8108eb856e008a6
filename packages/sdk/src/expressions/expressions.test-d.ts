import { describe, expectTypeOf, it } from 'vitest';
import {
  bool,
  dataFrame,
  datetime,
  type Expr,
  F,
  features,
  float,
  hasMany,
  hasOne,
  int,
  online,
  type Ref,
  string,
  struct,
  windowed,
} from '../index.ts';

const Txn = features('txn', { id: int(), user_id: int(), amount: float(), at: datetime() });
const Profile = features('profile', { id: int(), user_id: int(), email: string() });
const User = features(
  'user',
  {
    id: int(),
    name: string(),
    home: struct({ lat: float(), lon: float() }),
    txns: hasMany(() => Txn, { on: { user_id: 'id' } }),
    profile: hasOne(() => Profile, { on: { user_id: 'id' } }),
    score: float().version(2, { default: 2 }),
    n_big: int(),
    mean_amount: float().nullable(),
    logins: windowed('10m', '1h', { type: int(), default: 0 }),
    maybe: windowed('1d', { type: float() }),
  },
  {
    expressions: (_) => ({
      n_big: _.txns.where((t) => t.amount.gt(100)).count(),
      mean_amount: _.txns.select((t) => t.amount).mean(),
      logins: _.txns.where((t) => t.at.gt(_.chalk_window)).count(),
      maybe: _.txns.select((t) => t.amount).mean(),
    }),
  },
);

describe('the _ DSL is typed', () => {
  it('types each feature, struct field, relationship and aggregation of the class', () => {
    features(
      'probe',
      {
        id: int(),
        name: string(),
        home: struct({ lat: float(), lon: float() }),
        txns: hasMany(() => Txn, { on: { user_id: 'id' } }),
        profile: hasOne(() => Profile, { on: { user_id: 'id' } }),
        out: float(),
      },
      {
        expressions: (_) => {
          expectTypeOf(_.name).toExtend<Expr<string>>();
          expectTypeOf(_.id.add(1)).toEqualTypeOf<Expr<number>>();
          expectTypeOf(_.id.gt(1)).toEqualTypeOf<Expr<boolean>>();
          expectTypeOf(_.home.lat).toExtend<Expr<number>>();
          expectTypeOf(_.profile.email).toExtend<Expr<string>>();
          expectTypeOf(_.chalk_now).toEqualTypeOf<Expr<Date>>();
          expectTypeOf(F.lower(_.name)).toEqualTypeOf<Expr<string>>();
          expectTypeOf(_.txns.count()).toEqualTypeOf<Expr<number>>();
          expectTypeOf(_.txns.select((t) => t.amount).mean()).toEqualTypeOf<Expr<number | null>>();
          expectTypeOf(_.txns.select((t) => t.at).max()).toEqualTypeOf<Expr<Date | null>>();
          expectTypeOf(F.coalesce(_.txns.select((t) => t.amount).mean(), 0)).toEqualTypeOf<Expr<number>>();
          return { out: _.home.lat.mul(2) };
        },
      },
    );
  });

  it('rejects an expression whose type does not fit the feature', () => {
    features(
      'bad1',
      { id: int(), name: string(), x: int() },
      // @ts-expect-error a string expression for an int feature
      { expressions: (_) => ({ x: F.lower(_.name) }) },
    );
    features(
      'bad2',
      { id: int(), txns: hasMany(() => Txn, { on: { user_id: 'id' } }), x: float() },
      // @ts-expect-error mean() may be null: the feature must be nullable (or use F.coalesce)
      { expressions: (_) => ({ x: _.txns.select((t) => t.amount).mean() }) },
    );
    features(
      'bad3',
      { id: int(), x: string() },
      // @ts-expect-error a comparison is a boolean, not a string
      { expressions: (_) => ({ x: _.id.gt(1) }) },
    );
  });

  it('rejects references to features that do not exist', () => {
    features(
      'bad4',
      { id: int(), x: int(), txns: hasMany(() => Txn, { on: { user_id: 'id' } }) },
      {
        expressions: (_) => ({
          // @ts-expect-error the class has no feature 'nope'
          x: _.nope.add(1),
        }),
      },
    );
    features(
      'bad5',
      { id: int(), x: int(), txns: hasMany(() => Txn, { on: { user_id: 'id' } }) },
      {
        // @ts-expect-error txn rows have no 'fee'
        expressions: (_) => ({ x: _.txns.where((t) => t.fee.gt(1)).count() }),
      },
    );
  });

  it('rejects helpers applied to the wrong types', () => {
    features(
      'bad6',
      { id: int(), ok: bool() },
      // @ts-expect-error F.startsWith needs strings, not a number expression
      { expressions: (_) => ({ ok: F.startsWith(_.id.add(1), 'x') }) },
    );
  });

  it('leaves inline expressions untyped (Ref), for JavaScript users', () => {
    const field = float().expression((_) => {
      expectTypeOf(_).toEqualTypeOf<Ref>();
      return _.a!.add(1);
    });
    expectTypeOf(field.__value).toEqualTypeOf<number>();
  });

  it('types windowed features, with their windows and nullability', () => {
    expectTypeOf(User.logins.fqn).toEqualTypeOf<'user.logins'>();
    expectTypeOf(User.logins.__value).toEqualTypeOf<number>();
    expectTypeOf(User.maybe.__value).toEqualTypeOf<number | null>();
    expectTypeOf(User.logins.window('10m').__value).toEqualTypeOf<number>();
    online({
      inputs: { recent: User.logins.window('10m') },
      outputs: { n: User.n_big },
      fn: ({ recent }) => {
        expectTypeOf(recent).toEqualTypeOf<number>();
        return { n: recent };
      },
    });
  });

  it('types versions and has-one paths', () => {
    expectTypeOf(User.score.at(2).fqn).toEqualTypeOf<'user.score@2'>();
    expectTypeOf(User.profile.feature('email').fqn).toEqualTypeOf<'user.profile.email'>();
    expectTypeOf(User.profile.feature('email').__value).toEqualTypeOf<string>();
    // @ts-expect-error profile has no feature 'phone'
    User.profile.feature('phone');
  });

  it('types batch and data-frame resolvers', () => {
    online.batch({
      inputs: { id: User.id },
      outputs: { name: User.name },
      fn: (rows) => {
        expectTypeOf(rows).toEqualTypeOf<{ readonly id: number }[]>();
        return rows.map((row) => ({ name: String(row.id) }));
      },
    });
    online.batch({
      inputs: { id: User.id },
      outputs: { name: User.name },
      // @ts-expect-error a batch resolver returns an array of outputs
      fn: () => ({ name: 'x' }),
    });
    online({
      inputs: {},
      outputs: { users: dataFrame(User, 'id', 'name') },
      total: true,
      fn: () => {
        return { users: [{ id: 1, name: 'Ada' }] };
      },
    });
    online({
      inputs: {},
      outputs: { users: dataFrame(User, 'id', 'name') },
      // @ts-expect-error each row needs a string name
      fn: () => ({ users: [{ id: 1, name: 2 }] }),
    });
  });
});
