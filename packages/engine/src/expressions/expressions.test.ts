import {
  bool,
  collectGraph,
  datetime,
  F,
  features,
  float,
  hasMany,
  hasOne,
  int,
  online,
  string,
  struct,
  windowed,
} from '@slate/sdk';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../engine.ts';
import type { EngineResult } from '../query.ts';
import { createInProcessRuntime } from '../runtime/in-process/in-process-runtime.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000);

/** Sample rows: amounts include nulls, times spread over two days. */
const payments = [
  { id: 1, user_id: 1, amount: 12.5, status: 'ok', at: minutesAgo(5) },
  { id: 2, user_id: 1, amount: 80, status: 'failed', at: minutesAgo(30) },
  { id: 3, user_id: 1, amount: null, status: 'failed', at: minutesAgo(50) },
  { id: 4, user_id: 1, amount: 7.25, status: 'ok', at: minutesAgo(200) },
  { id: 5, user_id: 1, amount: 80, status: 'failed', at: minutesAgo(2000) },
  { id: 6, user_id: 1, amount: 1500, status: 'ok', at: minutesAgo(3000) },
  { id: 7, user_id: 2, amount: null, status: 'failed', at: minutesAgo(1) },
];
const people = [
  { id: 1, name: 'Ada Lovelace', email: 'Ada@Example.COM', age: 36, home: { lat: 51.5, lon: -0.12 } },
  { id: 2, name: 'Alan Turing', email: 'alan@gmail.com', age: 41, home: { lat: 52.2, lon: 0.12 } },
  { id: 3, name: 'Nobody', email: 'none@x.org', age: 20, home: { lat: 0, lon: 0 } },
];
const profiles = [
  { id: 10, user_id: 1, bio: 'Mathematician', followers: 1200 },
  { id: 20, user_id: 2, bio: 'Codebreaker', followers: 300 },
];

const Payment = features('payment', {
  id: int(),
  user_id: int(),
  amount: float().nullable(),
  status: string(),
  at: datetime(),
});

const Profile = features('profile', { id: int(), user_id: int(), bio: string(), followers: int() });

const Person = features(
  'person',
  {
    id: int(),
    name: string(),
    email: string(),
    age: int(),
    home: struct({ lat: float(), lon: float() }),
    payments: hasMany(() => Payment, { on: { user_id: 'id' } }),
    profile: hasOne(() => Profile, { on: { user_id: 'id' }, optional: true }),
    age_next_year: int(),
    half_age: float(),
    is_adult_ada: bool(),
    not_ada: bool(),
    email_lower: string(),
    is_gmail: bool(),
    name_length: int(),
    initials: string(),
    lat_abs_rounded: float(),
    home_lat: float(),
    bio: string().nullable(),
    followers_k: float().nullable(),
    query_hour: float(),
    payment_count: int(),
    failed_count: int(),
    amount_sum: float(),
    big_sum: float(),
    amount_min: float().nullable(),
    amount_max: float().nullable(),
    amount_mean: float().nullable(),
    amount_std: float().nullable(),
    amount_var: float().nullable(),
    amount_distinct: int(),
    amount_p75: float().nullable(),
    any_big: bool(),
    all_ok: bool(),
    latest_payment: datetime().nullable(),
    mean_or_zero: float(),
    failed_share: float().nullable(),
    failed_recent: windowed('10m', '1h', '1d', { type: int(), default: 0 }),
    spend: windowed('1h', '1d', 'all', { type: float() }),
    // The inline, untyped form (for JavaScript users) works the same.
    inline_double_age: int().expression((_) => _.age!.mul(2)),
  },
  {
    expressions: (_) => ({
      // arithmetic, comparison, boolean logic
      age_next_year: _.age.add(1),
      half_age: _.age.div(2),
      is_adult_ada: _.age.ge(18).and(F.startsWith(_.name, 'Ada')),
      not_ada: F.startsWith(_.name, 'Ada').not().or(_.age.lt(0)),
      // strings and math
      email_lower: F.lower(_.email),
      is_gmail: F.endsWith(F.lower(_.email), '@gmail.com'),
      name_length: F.length(_.name),
      initials: F.concat(F.substr(_.name, 0, 1), F.upper(F.substr(_.name, 4, 1))),
      lat_abs_rounded: F.round(F.abs(_.home.lat.neg()), 1),
      // struct field access, has-one traversal, query time
      home_lat: _.home.lat,
      bio: _.profile.bio,
      followers_k: _.profile.followers.div(1000),
      query_hour: F.floor(F.unixSeconds(_.chalk_now).div(3600).mod(24)),
      // aggregations over the has-many, with filters and projections
      payment_count: _.payments.count(),
      failed_count: _.payments.where((p) => p.status.eq('failed')).count(),
      amount_sum: _.payments.sum((p) => p.amount),
      big_sum: _.payments
        .where((p) => p.amount.gt(50))
        .select((p) => p.amount)
        .sum(),
      amount_min: _.payments.select((p) => p.amount).min(),
      amount_max: _.payments.select((p) => p.amount).max(),
      amount_mean: _.payments.select((p) => p.amount).mean(),
      amount_std: _.payments.select((p) => p.amount).std(),
      amount_var: _.payments.select((p) => p.amount).var(),
      amount_distinct: _.payments.select((p) => p.amount).approxCountDistinct(),
      amount_p75: _.payments.select((p) => p.amount).approxPercentile(0.75),
      any_big: _.payments.select((p) => p.amount.gt(1000)).any(),
      all_ok: _.payments.select((p) => p.status.eq('ok')).all(),
      latest_payment: _.payments.select((p) => p.at).max(),
      mean_or_zero: F.coalesce(_.payments.select((p) => p.amount).mean(), 0),
      // a chain: an expression over expressions
      failed_share: _.failed_count.div(_.payment_count),
      // windowed aggregations: _.chalk_window is the window's start
      failed_recent: _.payments.where((p) => p.status.eq('failed').and(p.at.gt(_.chalk_window))).count(),
      spend: _.payments
        .where((p) => p.at.gt(_.chalk_window))
        .select((p) => p.amount)
        .sum(),
    }),
  },
);

export const get_person = online({
  inputs: { id: Person.id },
  outputs: { name: Person.name, email: Person.email, age: Person.age, home: Person.home },
  fn: ({ id }) => {
    const person = people.find((p) => p.id === id);
    if (!person) throw new Error(`no person ${id}`);
    return { name: person.name, email: person.email, age: person.age, home: person.home };
  },
});

export const person_payments = online({
  inputs: { id: Person.id },
  outputs: { payments: Person.payments },
  fn: ({ id }) => ({ payments: payments.filter((p) => p.user_id === id) }),
});

export const profile_by_user = online({
  inputs: { user_id: Profile.user_id },
  outputs: { id: Profile.id, bio: Profile.bio, followers: Profile.followers },
  fn: ({ user_id }) => {
    const found = profiles.find((p) => p.user_id === user_id);
    if (!found) throw new Error(`no profile for user ${user_id}`);
    return { id: found.id, bio: found.bio, followers: found.followers };
  },
});

const { artifact, functions } = collectGraph({
  Person,
  Payment,
  Profile,
  get_person,
  person_payments,
  profile_by_user,
});
const engine = createEngine({
  graph: artifact,
  runtime: createInProcessRuntime(functions),
  environment: 'test',
  deploymentId: 'd-expr',
});

const query = (outputs: string[], id = 1) =>
  engine.query({ inputs: { 'person.id': [id] }, outputs, now: NOW });
const valueIn = (result: EngineResult, fqn: string) => {
  const column = result.columns.find((c) => c.fqn === fqn);
  if (!column) throw new Error(`no column ${fqn}`);
  if (column.errors[0]) throw new Error(`${fqn}: ${column.errors[0].message}`);
  return column.values[0];
};

/** Independent statistics over sample rows, by plain loops. */
function stats(values: (number | null)[]) {
  const xs: number[] = [];
  for (const v of values) if (v !== null) xs.push(v);
  let sum = 0;
  for (const x of xs) sum += x;
  const mean = xs.length ? sum / xs.length : null;
  let squares = 0;
  for (const x of xs) squares += (x - (mean ?? 0)) ** 2;
  const variance = xs.length >= 2 ? squares / (xs.length - 1) : null;
  const sorted = [...xs].sort((a, b) => a - b);
  let min: number | null = null;
  let max: number | null = null;
  for (const x of xs) {
    if (min === null || x < min) min = x;
    if (max === null || x > max) max = x;
  }
  return {
    count: values.length,
    sum,
    min,
    max,
    mean,
    variance,
    std: variance === null ? null : Math.sqrt(variance),
    distinct: new Set(xs).size,
    p75: sorted.length ? sorted[Math.ceil(0.75 * sorted.length) - 1]! : null,
  };
}

describe('expression features', () => {
  it('computes arithmetic, comparisons, boolean logic, strings and math', async () => {
    const result = await query([
      'person.inline_double_age',
      'person.age_next_year',
      'person.half_age',
      'person.is_adult_ada',
      'person.not_ada',
      'person.email_lower',
      'person.is_gmail',
      'person.name_length',
      'person.initials',
      'person.lat_abs_rounded',
    ]);
    expect(result.errors).toEqual([]);
    expect(valueIn(result, 'person.inline_double_age')).toBe(72);
    expect(valueIn(result, 'person.age_next_year')).toBe(37);
    expect(valueIn(result, 'person.half_age')).toBe(18);
    expect(valueIn(result, 'person.is_adult_ada')).toBe(true);
    expect(valueIn(result, 'person.not_ada')).toBe(false);
    expect(valueIn(result, 'person.email_lower')).toBe('ada@example.com');
    expect(valueIn(result, 'person.is_gmail')).toBe(false);
    expect(valueIn(result, 'person.name_length')).toBe('Ada Lovelace'.length);
    expect(valueIn(result, 'person.initials')).toBe('AL');
    expect(valueIn(result, 'person.lat_abs_rounded')).toBe(51.5);
    const alan = await query(['person.is_gmail', 'person.is_adult_ada'], 2);
    expect(valueIn(alan, 'person.is_gmail')).toBe(true);
    expect(valueIn(alan, 'person.is_adult_ada')).toBe(false);
  });

  it('reads struct fields, has-one paths and query time', async () => {
    const result = await query(['person.home_lat', 'person.bio', 'person.followers_k', 'person.query_hour']);
    expect(valueIn(result, 'person.home_lat')).toBe(51.5);
    expect(valueIn(result, 'person.bio')).toBe('Mathematician');
    expect(valueIn(result, 'person.followers_k')).toBe(1.2);
    expect(valueIn(result, 'person.query_hour')).toBe(NOW.getUTCHours());
  });

  it.each([1, 2, 3])(
    'aggregates payments of person %i as a plain loop over the sample rows does',
    async (id) => {
      const mine = payments.filter((p) => p.user_id === id);
      const amounts = mine.map((p) => p.amount);
      const expected = stats(amounts);
      let failed = 0;
      let big = 0;
      let anyBig = false;
      let allOk = true;
      let latest: Date | null = null;
      for (const p of mine) {
        if (p.status === 'failed') failed++;
        if (p.amount !== null && p.amount > 50) big += p.amount;
        if (p.amount !== null && p.amount > 1000) anyBig = true;
        if (p.status !== 'ok') allOk = false;
        if (latest === null || p.at > latest) latest = p.at;
      }
      const result = await query(
        [
          'person.payment_count',
          'person.failed_count',
          'person.amount_sum',
          'person.big_sum',
          'person.amount_min',
          'person.amount_max',
          'person.amount_mean',
          'person.amount_std',
          'person.amount_var',
          'person.amount_distinct',
          'person.amount_p75',
          'person.any_big',
          'person.all_ok',
          'person.latest_payment',
          'person.mean_or_zero',
          'person.failed_share',
        ],
        id,
      );
      expect(result.errors).toEqual([]);
      expect(valueIn(result, 'person.payment_count')).toBe(expected.count);
      expect(valueIn(result, 'person.failed_count')).toBe(failed);
      expect(valueIn(result, 'person.amount_sum')).toBeCloseTo(expected.sum, 10);
      expect(valueIn(result, 'person.big_sum')).toBeCloseTo(big, 10);
      expect(valueIn(result, 'person.amount_min')).toBe(expected.min);
      expect(valueIn(result, 'person.amount_max')).toBe(expected.max);
      expect(valueIn(result, 'person.amount_mean')).toBe(expected.mean);
      expect(valueIn(result, 'person.amount_std')).toBe(expected.std);
      expect(valueIn(result, 'person.amount_var')).toBe(expected.variance);
      expect(valueIn(result, 'person.amount_distinct')).toBe(expected.distinct);
      expect(valueIn(result, 'person.amount_p75')).toBe(expected.p75);
      expect(valueIn(result, 'person.any_big')).toBe(anyBig);
      expect(valueIn(result, 'person.all_ok')).toBe(allOk);
      expect(valueIn(result, 'person.latest_payment')).toEqual(latest);
      expect(valueIn(result, 'person.mean_or_zero')).toBe(expected.mean ?? 0);
      expect(valueIn(result, 'person.failed_share')).toBe(mine.length ? failed / mine.length : null);
    },
  );

  it('follows the documented empty and null semantics', async () => {
    // Person 3 has no payments; person 2 has one payment whose amount is null.
    const empty = await query(
      [
        'person.payment_count',
        'person.amount_sum',
        'person.amount_min',
        'person.amount_mean',
        'person.amount_std',
      ],
      3,
    );
    expect(empty.columns.map((c) => c.values[0])).toEqual([0, 0, null, null, null]);
    const onlyNull = await query(['person.payment_count', 'person.amount_sum', 'person.amount_max'], 2);
    expect(onlyNull.columns.map((c) => c.values[0])).toEqual([1, 0, null]);
  });

  it('names each window in seconds and returns every window for the bare name', async () => {
    const result = await query(['person.failed_recent', 'person.spend__3600__']);
    expect(result.columns.map((c) => c.fqn)).toEqual([
      'person.failed_recent__600__',
      'person.failed_recent__3600__',
      'person.failed_recent__86400__',
      'person.spend__3600__',
    ]);
    const inWindow = (seconds: number, keep: (p: (typeof payments)[number]) => boolean) => {
      const rows = [];
      for (const p of payments)
        if (p.user_id === 1 && p.at.getTime() > NOW.getTime() - seconds * 1000 && keep(p)) rows.push(p);
      return rows;
    };
    expect(result.columns.map((c) => c.values[0])).toEqual([
      inWindow(600, (p) => p.status === 'failed').length,
      inWindow(3600, (p) => p.status === 'failed').length,
      inWindow(86_400, (p) => p.status === 'failed').length,
      stats(inWindow(3600, () => true).map((p) => p.amount)).sum,
    ]);
    const all = await query(['person.spend__all__']);
    expect(valueIn(all, 'person.spend__all__')).toBeCloseTo(
      stats(payments.filter((p) => p.user_id === 1).map((p) => p.amount)).sum,
      10,
    );
  });

  it('uses a window default when there is nothing to count', async () => {
    const result = await query(['person.failed_recent__600__'], 3);
    expect(valueIn(result, 'person.failed_recent__600__')).toBe(0);
  });

  it('plans an expression like a resolver step over the features it reads', async () => {
    const result = await query(['person.failed_share']);
    expect(result.explain).toContain(
      'expression:person.failed_share(person.failed_count, person.payment_count)',
    );
    expect(result.explain).toContain('expression:person.failed_count(person.payments)');
    expect(result.columns[0]!.resolver).toBe('expression:person.failed_share');
  });

  it('reports a failing upstream resolver on the expression as UPSTREAM_FAILED', async () => {
    const result = await query(['person.age_next_year'], 99);
    expect(result.columns[0]!.errors[0]).toMatchObject({
      code: 'UPSTREAM_FAILED',
      feature: 'person.age_next_year',
    });
  });
});
