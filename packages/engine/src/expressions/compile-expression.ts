import type { AggregateFunction, BinaryOperator, ExprFunction, ExprNode } from '@slate/graph';

/** What an expression sees when evaluated for one row of a query. */
export interface ExpressionScope {
  /** A root feature's value (by the FQN the expression names), `null` when absent. */
  feature(fqn: string): unknown;
  /** The related rows of a has-many relationship (objects keyed by short feature name). */
  rows(relation: string): readonly Record<string, unknown>[];
  readonly now: Date;
  /** Start of the window being computed; `null` outside windowed features. */
  readonly windowStart: Date | null;
}

/** A compiled expression: a plain function of the row scope, safe to call concurrently. */
export type CompiledExpression = (scope: ExpressionScope) => unknown;

type Evaluate = (scope: ExpressionScope, row: Record<string, unknown> | null) => unknown;

/** Raised for a value the expression cannot work with (a string where a number belongs…). */
export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
}

/** Compiled programs by node: an artifact's expressions are compiled once per engine. */
const compiled = new WeakMap<ExprNode, CompiledExpression>();

/**
 * Compiles an expression tree into a closure. The engine interprets expressions itself, so no user code
 * runs. Semantics (see `ExprNode`): null in, null out; `x / 0` is null; comparisons of datetimes compare
 * instants (ISO strings are read as instants when compared with one); aggregations follow the seed product's
 * empty/null table; `approx_percentile` is the nearest-rank percentile and `approx_count_distinct` is exact.
 *
 * @throws ExpressionError from the returned function for operands of the wrong type.
 * @example
 * const run = compileExpression({ kind: 'binary', op: 'add', left: { kind: 'feature', fqn: 'a.x' }, right: { kind: 'literal', value: 1 } });
 * run({ feature: () => 41, rows: () => [], now: new Date(), windowStart: null }); // 42
 */
export function compileExpression(node: ExprNode): CompiledExpression {
  const known = compiled.get(node);
  if (known) return known;
  const evaluate = compile(node);
  const program: CompiledExpression = (scope) => evaluate(scope, null);
  compiled.set(node, program);
  return program;
}

function compile(node: ExprNode): Evaluate {
  switch (node.kind) {
    case 'literal': {
      const value = node.dtype === 'datetime' ? new Date(node.value as string) : node.value;
      return () => value;
    }
    case 'feature': {
      const { fqn } = node;
      return (scope) => scope.feature(fqn) ?? null;
    }
    case 'column': {
      const { name } = node;
      return (_scope, row) => {
        if (row === null)
          throw new ExpressionError(`_.${name} is a row column used outside a filter or projection`);
        return row[name] ?? null;
      };
    }
    case 'now':
      return (scope) => scope.now;
    case 'window_start':
      return (scope) => scope.windowStart;
    case 'field': {
      const of = compile(node.of);
      const { name } = node;
      return (scope, row) => {
        const value = of(scope, row);
        if (value === null || typeof value !== 'object') return null;
        return (value as Record<string, unknown>)[name] ?? null;
      };
    }
    case 'unary': {
      const arg = compile(node.arg);
      switch (node.op) {
        case 'is_null':
          return (scope, row) => arg(scope, row) === null;
        case 'not':
          return (scope, row) => {
            const value = arg(scope, row);
            return value === null ? null : !bool(value, 'not');
          };
        default:
          return (scope, row) => {
            const value = arg(scope, row);
            return value === null ? null : -num(value, 'neg');
          };
      }
    }
    case 'binary':
      return compileBinary(node.op, compile(node.left), compile(node.right));
    case 'call':
      return compileCall(node.fn, node.args.map(compile));
    case 'aggregate':
      return compileAggregate(node);
  }
}

function num(value: unknown, op: string): number {
  if (typeof value === 'number') return value;
  throw new ExpressionError(`${op} needs a number, got ${describe(value)}`);
}

/** A vector operand: a list of numbers (a `vector(n)` feature, or any numeric list). */
function vec(value: unknown, op: string): readonly number[] {
  if (Array.isArray(value) && value.every((v) => typeof v === 'number')) return value as number[];
  throw new ExpressionError(`${op} needs a vector of numbers, got ${describe(value)}`);
}

function dot(a: readonly number[], b: readonly number[], op: string): number {
  if (a.length !== b.length) {
    throw new ExpressionError(`${op} needs vectors of one length, got ${a.length} and ${b.length}`);
  }
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function bool(value: unknown, op: string): boolean {
  if (typeof value === 'boolean') return value;
  throw new ExpressionError(`${op} needs a boolean, got ${describe(value)}`);
}

function str(value: unknown, op: string): string {
  if (typeof value === 'string') return value;
  throw new ExpressionError(`${op} needs a string, got ${describe(value)}`);
}

function describe(value: unknown): string {
  return value instanceof Date ? 'a datetime' : `${typeof value} ${JSON.stringify(value)?.slice(0, 40)}`;
}

/** Milliseconds of an instant: a `Date`, or an ISO string compared with one. */
function instant(value: unknown, op: string): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new ExpressionError(`${op} needs a datetime, got ${describe(value)}`);
}

/** Orders two non-null values: numbers, strings, booleans, or instants (when either side is a Date). */
function compare(a: unknown, b: unknown, op: string): number {
  if (a instanceof Date || b instanceof Date) return instant(a, op) - instant(b, op);
  if (typeof a === typeof b && (typeof a === 'number' || typeof a === 'string' || typeof a === 'boolean'))
    return a < (b as typeof a) ? -1 : a > (b as typeof a) ? 1 : 0;
  throw new ExpressionError(`${op} cannot compare ${describe(a)} with ${describe(b)}`);
}

function equal(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) return instant(a, 'eq') === instant(b, 'eq');
  if (typeof a === 'object' || typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b);
  return a === b;
}

function compileBinary(op: BinaryOperator, left: Evaluate, right: Evaluate): Evaluate {
  const strict = (apply: (a: unknown, b: unknown) => unknown): Evaluate => {
    return (scope, row) => {
      const a = left(scope, row);
      if (a === null) return null;
      const b = right(scope, row);
      return b === null ? null : apply(a, b);
    };
  };
  switch (op) {
    case 'add':
      return strict((a, b) => num(a, 'add') + num(b, 'add'));
    case 'sub':
      return strict((a, b) => num(a, 'sub') - num(b, 'sub'));
    case 'mul':
      return strict((a, b) => num(a, 'mul') * num(b, 'mul'));
    case 'div':
      return strict((a, b) => (num(b, 'div') === 0 ? null : num(a, 'div') / (b as number)));
    case 'mod':
      return strict((a, b) => (num(b, 'mod') === 0 ? null : num(a, 'mod') % (b as number)));
    case 'eq':
      return strict(equal);
    case 'ne':
      return strict((a, b) => !equal(a, b));
    case 'lt':
      return strict((a, b) => compare(a, b, 'lt') < 0);
    case 'le':
      return strict((a, b) => compare(a, b, 'le') <= 0);
    case 'gt':
      return strict((a, b) => compare(a, b, 'gt') > 0);
    case 'ge':
      return strict((a, b) => compare(a, b, 'ge') >= 0);
    // Three-valued logic: false wins an `and`, true wins an `or`, otherwise null is unknown.
    case 'and':
      return (scope, row) => {
        const a = left(scope, row);
        if (a === false) return false;
        const b = right(scope, row);
        if (b === false) return false;
        if (a === null || b === null) return null;
        return bool(a, 'and') && bool(b, 'and');
      };
    case 'or':
      return (scope, row) => {
        const a = left(scope, row);
        if (a === true) return true;
        const b = right(scope, row);
        if (b === true) return true;
        if (a === null || b === null) return null;
        return bool(a, 'or') || bool(b, 'or');
      };
  }
}

/** Rounds half away from zero at `digits` decimals, on the decimal digits (so 1.005 → 1.01, not 1.00). */
function roundHalfAway(value: number, digits: number): number {
  if (!Number.isFinite(value)) return value;
  if (String(value).includes('e')) {
    const factor = 10 ** digits;
    return (Math.sign(value) * Math.round(Math.abs(value) * factor)) / factor;
  }
  const shifted = Math.round(Number(`${Math.abs(value)}e${digits}`));
  return Math.sign(value) * Number(`${shifted}e${-digits}`);
}

function compileCall(fn: ExprFunction, args: Evaluate[]): Evaluate {
  // Functions that look at nulls themselves.
  if (fn === 'coalesce')
    return (scope, row) => {
      for (const arg of args) {
        const value = arg(scope, row);
        if (value !== null) return value;
      }
      return null;
    };
  if (fn === 'if_then_else') {
    const [condition, then, otherwise] = args as [Evaluate, Evaluate, Evaluate];
    return (scope, row) => (condition(scope, row) === true ? then(scope, row) : otherwise(scope, row));
  }
  if (fn === 'greatest' || fn === 'least')
    return (scope, row) => {
      let best: unknown = null;
      for (const arg of args) {
        const value = arg(scope, row);
        if (value === null) continue;
        if (
          best === null ||
          (fn === 'greatest' ? compare(value, best, fn) > 0 : compare(value, best, fn) < 0)
        )
          best = value;
      }
      return best;
    };
  const apply = scalarFunction(fn);
  return (scope, row) => {
    const values = args.map((arg) => arg(scope, row));
    return values.some((value) => value === null) ? null : apply(values);
  };
}

function scalarFunction(fn: ExprFunction): (values: unknown[]) => unknown {
  switch (fn) {
    case 'lower':
      return ([v]) => str(v, fn).toLowerCase();
    case 'upper':
      return ([v]) => str(v, fn).toUpperCase();
    case 'trim':
      return ([v]) => str(v, fn).trim();
    case 'length':
      return ([v]) => (Array.isArray(v) ? v.length : [...str(v, fn)].length);
    case 'contains':
      return ([haystack, needle]) =>
        Array.isArray(haystack)
          ? haystack.some((item) => equal(item, needle))
          : str(haystack, fn).includes(str(needle, fn));
    case 'starts_with':
      return ([v, prefix]) => str(v, fn).startsWith(str(prefix, fn));
    case 'ends_with':
      return ([v, suffix]) => str(v, fn).endsWith(str(suffix, fn));
    case 'replace':
      return ([v, search, replacement]) => str(v, fn).split(str(search, fn)).join(str(replacement, fn));
    case 'substr':
      return ([v, start, length]) => {
        const chars = [...str(v, fn)];
        const from = num(start, fn);
        return chars.slice(from, length === undefined ? undefined : from + num(length, fn)).join('');
      };
    case 'concat':
      return (values) => values.map((v) => str(v, fn)).join('');
    case 'abs':
      return ([v]) => Math.abs(num(v, fn));
    case 'round':
      return ([v, digits]) => roundHalfAway(num(v, fn), digits === undefined ? 0 : num(digits, fn));
    case 'floor':
      return ([v]) => Math.floor(num(v, fn));
    case 'ceil':
      return ([v]) => Math.ceil(num(v, fn));
    case 'sqrt':
      return ([v]) => (num(v, fn) < 0 ? null : Math.sqrt(v as number));
    case 'exp':
      return ([v]) => Math.exp(num(v, fn));
    case 'ln':
      return ([v]) => (num(v, fn) <= 0 ? null : Math.log(v as number));
    case 'power':
      return ([base, exponent]) => num(base, fn) ** num(exponent, fn);
    case 'dot':
      return ([a, b]) => dot(vec(a, fn), vec(b, fn), fn);
    case 'norm':
      return ([v]) => Math.sqrt(dot(vec(v, fn), vec(v, fn), fn));
    case 'cosine_similarity':
      return ([a, b]) => {
        const x = vec(a, fn);
        const y = vec(b, fn);
        const norms = Math.sqrt(dot(x, x, fn)) * Math.sqrt(dot(y, y, fn));
        // The angle with a zero vector is undefined: null, like sqrt of a negative number.
        return norms === 0 ? null : dot(x, y, fn) / norms;
      };
    case 'unix_seconds':
      return ([v]) => instant(v, fn) / 1000;
    case 'seconds_between':
      return ([start, end]) => (instant(end, fn) - instant(start, fn)) / 1000;
    case 'cast_float':
      return ([v]) => {
        const n =
          typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
        return Number.isNaN(n) ? null : n;
      };
    case 'cast_int':
      return ([v]) => {
        const n =
          typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
        return Number.isFinite(n) ? Math.trunc(n) : null;
      };
    case 'cast_string':
      return ([v]) => (v instanceof Date ? v.toISOString() : typeof v === 'string' ? v : JSON.stringify(v));
    default:
      return () => {
        throw new ExpressionError(`F.${fn} is not a scalar function`);
      };
  }
}

function compileAggregate(node: ExprNode & { kind: 'aggregate' }): Evaluate {
  const where = node.where ? compile(node.where) : null;
  const select = node.select ? compile(node.select) : null;
  const aggregate = aggregator(node.fn, node.quantile);
  const needsValues = node.fn !== 'count';
  if (needsValues && !select)
    return () => {
      throw new ExpressionError(`${node.fn}() needs a projection: say which column to aggregate`);
    };
  const { relation } = node;
  return (scope) => {
    const rows = scope.rows(relation);
    const kept = where ? rows.filter((row) => where(scope, row) === true) : rows;
    if (!needsValues) return kept.length;
    return aggregate(kept.map((row) => select!(scope, row)));
  };
}

/** Aggregations over the projected values of the kept rows (the seed product's empty/null semantics). */
function aggregator(fn: AggregateFunction, quantile: number | undefined): (values: unknown[]) => unknown {
  const present = (values: unknown[]) => values.filter((v) => v !== null);
  const numbers = (values: unknown[]) => present(values).map((v) => num(v, fn));
  switch (fn) {
    case 'count':
      return (values) => values.length;
    case 'sum':
      return (values) => numbers(values).reduce((total, v) => total + v, 0);
    case 'min':
    case 'max':
      return (values) => {
        let best: unknown = null;
        for (const value of present(values)) {
          if (best === null || (fn === 'min' ? compare(value, best, fn) < 0 : compare(value, best, fn) > 0))
            best = value;
        }
        return best;
      };
    case 'mean':
      return (values) => {
        const xs = numbers(values);
        return xs.length === 0 ? null : xs.reduce((total, v) => total + v, 0) / xs.length;
      };
    case 'var':
    case 'std':
      return (values) => {
        const xs = numbers(values);
        if (xs.length < 2) return null;
        const mean = xs.reduce((total, v) => total + v, 0) / xs.length;
        const variance = xs.reduce((total, v) => total + (v - mean) ** 2, 0) / (xs.length - 1);
        return fn === 'var' ? variance : Math.sqrt(variance);
      };
    case 'approx_count_distinct':
      return (values) =>
        new Set(present(values).map((v) => (v instanceof Date ? `d${v.getTime()}` : JSON.stringify(v)))).size;
    case 'approx_percentile':
      return (values) => {
        const xs = numbers(values).sort((a, b) => a - b);
        if (xs.length === 0) return null;
        const q = quantile ?? 0.5;
        return xs[Math.max(0, Math.ceil(q * xs.length) - 1)]!;
      };
    case 'any':
      return (values) => present(values).some((v) => bool(v, fn));
    case 'all':
      return (values) => present(values).every((v) => bool(v, fn));
  }
}
