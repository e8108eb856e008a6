import type { ExprFunction } from '@slate/graph';
import { type Expr, exprOf, type Operand, rawExpr } from './expr.ts';

const call = (fn: ExprFunction, ...args: unknown[]): never =>
  exprOf({ kind: 'call', fn, args: args.map(rawExpr) });

/**
 * Scalar functions of the `_` DSL (the seed product's `chalk.functions as F`). Each returns an expression;
 * a `null` argument yields `null` unless stated otherwise.
 *
 * @example
 * export const User = features('user', {
 *   id: int(),
 *   email: string(),
 *   email_lower: string().expression((_) => F.lower(_.email)),
 *   is_gmail: bool().expression((_) => F.endsWith(F.lower(_.email), '@gmail.com')),
 * });
 */
export const F = {
  lower: (value: Operand<string>): Expr<string> => call('lower', value),
  upper: (value: Operand<string>): Expr<string> => call('upper', value),
  trim: (value: Operand<string>): Expr<string> => call('trim', value),
  /** Characters of a string, or items of a list. */
  length: (value: Operand<string> | Operand<readonly unknown[]>): Expr<number> => call('length', value),
  /** Whether a string contains a substring, or a list an item. */
  contains: (haystack: Operand<string> | Operand<readonly unknown[]>, needle: unknown): Expr<boolean> =>
    call('contains', haystack, needle),
  startsWith: (value: Operand<string>, prefix: Operand<string>): Expr<boolean> =>
    call('starts_with', value, prefix),
  endsWith: (value: Operand<string>, suffix: Operand<string>): Expr<boolean> =>
    call('ends_with', value, suffix),
  /** Replaces every occurrence of `search`. */
  replace: (value: Operand<string>, search: Operand<string>, replacement: Operand<string>): Expr<string> =>
    call('replace', value, search, replacement),
  /** `length` characters from 0-based `start` (to the end when omitted). */
  substr: (value: Operand<string>, start: Operand<number>, length?: Operand<number>): Expr<string> =>
    length === undefined ? call('substr', value, start) : call('substr', value, start, length),
  concat: (...values: Operand<string>[]): Expr<string> => call('concat', ...values),
  abs: (value: Operand<number>): Expr<number> => call('abs', value),
  /** Rounds half away from zero, to `digits` decimals (0 by default). */
  round: (value: Operand<number>, digits?: Operand<number>): Expr<number> =>
    digits === undefined ? call('round', value) : call('round', value, digits),
  floor: (value: Operand<number>): Expr<number> => call('floor', value),
  ceil: (value: Operand<number>): Expr<number> => call('ceil', value),
  /** Square root; `null` for negative numbers. */
  sqrt: (value: Operand<number>): Expr<number> => call('sqrt', value),
  exp: (value: Operand<number>): Expr<number> => call('exp', value),
  /** Natural logarithm; `null` for numbers ≤ 0. */
  ln: (value: Operand<number>): Expr<number> => call('ln', value),
  power: (base: Operand<number>, exponent: Operand<number>): Expr<number> => call('power', base, exponent),
  /** Dot product of two vectors of one length (an error for different lengths). */
  dot: (a: Operand<readonly number[]>, b: Operand<readonly number[]>): Expr<number> => call('dot', a, b),
  /** Euclidean (L2) norm of a vector. */
  norm: (value: Operand<readonly number[]>): Expr<number> => call('norm', value),
  /**
   * Cosine similarity `a·b / (|a| |b|)` of two vectors of one length, in [-1, 1]; `null` when either is
   * the zero vector. The building block of embedding features.
   */
  cosineSimilarity: (a: Operand<readonly number[]>, b: Operand<readonly number[]>): Expr<number> =>
    call('cosine_similarity', a, b),
  /** The largest non-null argument (`null` when all are null). */
  greatest: <T>(...values: Operand<T>[]): Expr<T> => call('greatest', ...values),
  /** The smallest non-null argument (`null` when all are null). */
  least: <T>(...values: Operand<T>[]): Expr<T> => call('least', ...values),
  /** The first non-null argument. */
  coalesce: <T>(value: Operand<T | null>, fallback: Operand<T>): Expr<T> => call('coalesce', value, fallback),
  /** `then` when `condition` is true, else `otherwise` (also when it is null). */
  ifThenElse: <T>(condition: Operand<boolean>, then: Operand<T>, otherwise: Operand<T>): Expr<T> =>
    call('if_then_else', condition, then, otherwise),
  /** Seconds since the Unix epoch. */
  unixSeconds: (value: Operand<Date>): Expr<number> => call('unix_seconds', value),
  /** `end - start` in seconds (negative when `end` is earlier). */
  secondsBetween: (start: Operand<Date>, end: Operand<Date>): Expr<number> =>
    call('seconds_between', start, end),
  castFloat: (value: unknown): Expr<number> => call('cast_float', value),
  /** Truncates toward zero; parses numeric strings; `null` when the value is not a number. */
  castInt: (value: unknown): Expr<number> => call('cast_int', value),
  castString: (value: unknown): Expr<string> => call('cast_string', value),
  /** The query's time (`_.chalk_now`). */
  now: (): Expr<Date> => exprOf({ kind: 'now' }),
  /** The start of the window a windowed feature computes (`_.chalk_window`). */
  windowStart: (): Expr<Date> => exprOf({ kind: 'window_start' }),
  /** A constant. */
  lit: <T extends string | number | boolean | Date | null>(value: T): Expr<T> => exprOf(rawExpr(value)),
} as const;
