import type { AggregateFunction, BinaryOperator, ExprFunction, UnaryOperator } from '@slate/graph';

/**
 * An expression as the `_` DSL builds it, before the graph collector resolves its references against the
 * feature classes (`ref` paths become features, has-one paths, struct fields or row columns).
 */
export type RawExpr =
  | { readonly kind: 'literal'; readonly value: unknown; readonly dtype?: 'datetime' }
  | { readonly kind: 'now' }
  | { readonly kind: 'window_start' }
  /** `_.a.b.c`: resolved against the scope's feature class (`root`) or the aggregated rows (`row`). */
  | { readonly kind: 'ref'; readonly scope: 'root' | 'row'; readonly path: readonly string[] }
  | { readonly kind: 'field'; readonly of: RawExpr; readonly name: string }
  | { readonly kind: 'unary'; readonly op: UnaryOperator; readonly arg: RawExpr }
  | { readonly kind: 'binary'; readonly op: BinaryOperator; readonly left: RawExpr; readonly right: RawExpr }
  | { readonly kind: 'call'; readonly fn: ExprFunction; readonly args: readonly RawExpr[] }
  | { readonly kind: 'rows'; readonly of: RawExpr; readonly where?: RawExpr; readonly select?: RawExpr }
  | {
      readonly kind: 'aggregate';
      readonly fn: AggregateFunction;
      readonly rows: RawExpr & { kind: 'rows' };
      readonly quantile?: number;
    };

const nodeKey = Symbol.for('slate.expr');
declare const valueType: unique symbol;

/** What an operand may be: an expression or a plain value (a `Date` is a datetime literal). */
export type Operand<T> = Expr<T> | T;
type AnyOperand = Expr<unknown> | string | number | boolean | Date | null;

/**
 * A typed expression of the `_` DSL. Immutable: every method returns a new expression. JavaScript has no
 * operator overloading, so operators are methods: `_.total.sub(_.sales_tax)`, `_.amount.gt(100)`.
 * References (`_.name`) are untyped (`Ref`) and fit any feature type; operators, `F` helpers and
 * aggregations are typed, so `int().expression((_) => F.lower(_.email))` does not compile.
 *
 * Null semantics: see `ExprNode` in `@slate/graph` (null in, null out; division by zero is null).
 */
export interface Expr<T = unknown> {
  /** Phantom member carrying the value type; never set at run time. */
  readonly [valueType]?: T;
  add(other: Operand<number>): Expr<number>;
  sub(other: Operand<number>): Expr<number>;
  mul(other: Operand<number>): Expr<number>;
  /** True division (`7 / 2` is 3.5); division by zero is `null`. */
  div(other: Operand<number>): Expr<number>;
  mod(other: Operand<number>): Expr<number>;
  neg(): Expr<number>;
  eq(other: AnyOperand): Expr<boolean>;
  ne(other: AnyOperand): Expr<boolean>;
  lt(other: AnyOperand): Expr<boolean>;
  le(other: AnyOperand): Expr<boolean>;
  gt(other: AnyOperand): Expr<boolean>;
  ge(other: AnyOperand): Expr<boolean>;
  and(other: Operand<boolean>): Expr<boolean>;
  or(other: Operand<boolean>): Expr<boolean>;
  not(): Expr<boolean>;
  isNull(): Expr<boolean>;
  isNotNull(): Expr<boolean>;
  /** A field or feature by name, for names that collide with a method (`_.get('count')`). */
  get(name: string): Ref;
}

/**
 * The rows of a has-many relationship, optionally filtered and projected, and their aggregations. `S` is
 * what `_` is inside a filter or projection (the related row), `U` the projected value. Empty and null
 * semantics follow the seed product: `count` counts rows (nulls included), `sum` of nothing is 0,
 * `min`/`max`/`mean`/`approxPercentile` of nothing are `null`, `std`/`var` need two values.
 */
export interface Rows<S = Ref, U = never> {
  /** Keeps rows for which `filter` is true; inside it `_` is the related row. Chains with `and`. */
  where(filter: (row: S) => Expr<boolean>): Rows<S, U>;
  /** Projects each row to one value (the column aggregations work on). */
  select<V>(projection: (row: S) => Expr<V>): Rows<S, V>;
  count(): Expr<number>;
  sum(projection?: (row: S) => Expr<number | null>): Expr<number>;
  min(): Expr<U | null>;
  max(): Expr<U | null>;
  mean(): Expr<number | null>;
  /** Sample standard deviation; `null` for fewer than 2 values. */
  std(): Expr<number | null>;
  /** Sample variance; `null` for fewer than 2 values. */
  var(): Expr<number | null>;
  /** Distinct non-null values (computed exactly, which is within any approximation's bounds). */
  approxCountDistinct(): Expr<number>;
  /** The nearest-rank `quantile` (0..1) of the non-null values. */
  approxPercentile(quantile: number): Expr<number | null>;
  any(): Expr<boolean>;
  all(): Expr<boolean>;
}

/**
 * An untyped reference, for expressions written inline on a field (`int().expression((_) => …)`), where the
 * class being defined has no type yet: `_` itself, a feature (`_.amount`), a has-one path
 * (`_.profile.email`), a struct field (`_.home.lat`) or a has-many relationship (`_.transactions`).
 * `_.chalk_now` (or `_.now`, unless the class has a feature of that name) is the query time; `_.chalk_window`
 * the start of the window a windowed feature computes. TypeScript projects using `noUncheckedIndexedAccess`
 * (which makes every `_.x` possibly undefined) use the typed form instead: the `expressions` option of
 * `features(...)`, where `_` is typed by the class's fields.
 */
export type Ref = Expr<never> & Rows<Ref, never> & { readonly [name: string]: Ref };

/** The raw node behind an expression. */
export function rawExpr(expr: unknown): RawExpr {
  const node = (expr as { [nodeKey]?: RawExpr } | null)?.[nodeKey];
  if (node) return node;
  return literal(expr);
}

export function isExpr(value: unknown): boolean {
  return typeof value === 'object' && value !== null && nodeKey in value;
}

function literal(value: unknown): RawExpr {
  if (value instanceof Date)
    return freeze({ kind: 'literal', value: value.toISOString(), dtype: 'datetime' });
  if (value === undefined) return freeze({ kind: 'literal', value: null });
  return freeze({ kind: 'literal', value: JSON.parse(JSON.stringify(value)) });
}

const freeze = <T>(node: T): T => Object.freeze(node);

const binary =
  (op: BinaryOperator) =>
  (node: RawExpr) =>
  (other: unknown): unknown =>
    exprOf({ kind: 'binary', op, left: node, right: rawExpr(other) });

const rowsOf = (node: RawExpr): RawExpr & { kind: 'rows' } =>
  node.kind === 'rows' ? node : freeze({ kind: 'rows', of: node });

const aggregate =
  (fn: AggregateFunction) =>
  (node: RawExpr) =>
  (arg?: unknown): unknown => {
    let rows = rowsOf(node);
    if (typeof arg === 'function') rows = freeze({ ...rows, select: rawExpr(arg(rowScope())) });
    const quantile = typeof arg === 'number' ? arg : undefined;
    return exprOf({ kind: 'aggregate', fn, rows, ...(quantile === undefined ? {} : { quantile }) });
  };

/** Method implementations, by name: each takes the receiver's node and returns the method. */
const methods: Record<string, (node: RawExpr) => (...args: never[]) => unknown> = {
  add: binary('add'),
  sub: binary('sub'),
  mul: binary('mul'),
  div: binary('div'),
  mod: binary('mod'),
  eq: binary('eq'),
  ne: binary('ne'),
  lt: binary('lt'),
  le: binary('le'),
  gt: binary('gt'),
  ge: binary('ge'),
  and: binary('and'),
  or: binary('or'),
  neg: (node) => () => exprOf({ kind: 'unary', op: 'neg', arg: node }),
  not: (node) => () => exprOf({ kind: 'unary', op: 'not', arg: node }),
  isNull: (node) => () => exprOf({ kind: 'unary', op: 'is_null', arg: node }),
  isNotNull: (node) => () =>
    exprOf({ kind: 'unary', op: 'not', arg: { kind: 'unary', op: 'is_null', arg: node } }),
  get: (node) => (name: never) => member(node, name),
  where: (node) => (filter: never) => {
    const rows = rowsOf(node);
    const condition = rawExpr((filter as (row: unknown) => unknown)(rowScope()));
    const where: RawExpr = rows.where
      ? { kind: 'binary', op: 'and', left: rows.where, right: condition }
      : condition;
    return exprOf({ ...rows, where });
  },
  select: (node) => (projection: never) =>
    exprOf({ ...rowsOf(node), select: rawExpr((projection as (row: unknown) => unknown)(rowScope())) }),
  count: aggregate('count'),
  sum: aggregate('sum'),
  min: aggregate('min'),
  max: aggregate('max'),
  mean: aggregate('mean'),
  std: aggregate('std'),
  var: aggregate('var'),
  approxCountDistinct: aggregate('approx_count_distinct'),
  approxPercentile: aggregate('approx_percentile'),
  any: aggregate('any'),
  all: aggregate('all'),
};

/** Property names never treated as feature names (runtimes and test tools probe them). */
const probes = new Set([
  'then',
  'toJSON',
  'constructor',
  'asymmetricMatch',
  '$$typeof',
  'nodeType',
  'inspect',
]);

function member(node: RawExpr, name: string): unknown {
  if (node.kind === 'ref') {
    if (node.path.length === 0 && name === 'chalk_now') return exprOf({ kind: 'now' });
    if (node.path.length === 0 && name === 'chalk_window') return exprOf({ kind: 'window_start' });
    return exprOf({ ...node, path: [...node.path, name] });
  }
  return exprOf({ kind: 'field', of: node, name });
}

/** Wraps a node in the proxy that gives it `Expr`/`Rows`/`Ref` behaviour. */
export function exprOf(node: RawExpr): never {
  const frozen = freeze(node);
  const target = Object.freeze({ [nodeKey]: frozen });
  return new Proxy(target, {
    get(_target, property) {
      if (property === nodeKey) return frozen;
      if (typeof property === 'symbol' || probes.has(property)) return undefined;
      if (property === 'toString') return () => `Expr(${JSON.stringify(frozen)})`;
      const method = methods[property];
      if (method) return method(frozen);
      return member(frozen, property);
    },
    has: (_target, property) => property === nodeKey,
    set: () => false,
  }) as never;
}

/** `_` at the root of a feature class. */
export function rootScope(): Ref {
  return exprOf({ kind: 'ref', scope: 'root', path: [] });
}

/** `_` inside a has-many filter or projection: the related row. */
function rowScope(): Ref {
  return exprOf({ kind: 'ref', scope: 'row', path: [] });
}
