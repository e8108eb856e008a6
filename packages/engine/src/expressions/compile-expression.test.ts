import type { ExprNode } from '@slate/graph';
import { describe, expect, it } from 'vitest';
import { compileExpression, type ExpressionScope } from './compile-expression.ts';

const lit = (value: unknown): ExprNode => ({ kind: 'literal', value });
const feature = (fqn: string): ExprNode => ({ kind: 'feature', fqn });
const bin = (
  op: ExprNode & { kind: 'binary' } extends { op: infer O } ? O : never,
  left: ExprNode,
  right: ExprNode,
): ExprNode => ({
  kind: 'binary',
  op,
  left,
  right,
});
const scope = (
  values: Record<string, unknown> = {},
  rows: Record<string, Record<string, unknown>[]> = {},
): ExpressionScope => ({
  feature: (fqn) => values[fqn] ?? null,
  rows: (relation) => rows[relation] ?? [],
  now: new Date('2026-01-01T00:00:00Z'),
  windowStart: null,
});
const run = (node: ExprNode, s = scope()) => compileExpression(node)(s);

describe('compileExpression', () => {
  it('propagates null through operators and functions, and makes division by zero null', () => {
    expect(run(bin('add', feature('a.x'), lit(1)))).toBeNull();
    expect(run(bin('div', lit(1), lit(0)))).toBeNull();
    expect(run(bin('mod', lit(7), lit(0)))).toBeNull();
    expect(run(bin('div', lit(7), lit(2)))).toBe(3.5);
    expect(run({ kind: 'call', fn: 'lower', args: [feature('a.s')] })).toBeNull();
    expect(run({ kind: 'call', fn: 'coalesce', args: [feature('a.s'), lit('fallback')] })).toBe('fallback');
    expect(run({ kind: 'unary', op: 'is_null', arg: feature('a.s') })).toBe(true);
  });

  it('uses three-valued logic for and/or', () => {
    const unknown = feature('a.b');
    expect(run(bin('and', unknown, lit(false)))).toBe(false);
    expect(run(bin('and', unknown, lit(true)))).toBeNull();
    expect(run(bin('or', unknown, lit(true)))).toBe(true);
    expect(run(bin('or', unknown, lit(false)))).toBeNull();
  });

  it('compares datetimes as instants, also against ISO strings', () => {
    const at: ExprNode = { kind: 'literal', value: '2025-12-31T23:00:00Z', dtype: 'datetime' };
    expect(run(bin('lt', at, { kind: 'now' }))).toBe(true);
    expect(
      run(
        bin('gt', feature('a.t'), lit('2025-01-01T00:00:00Z')),
        scope({ 'a.t': new Date('2025-06-01T00:00:00Z') }),
      ),
    ).toBe(true);
  });

  it('throws ExpressionError for operands of the wrong type', () => {
    expect(() => run(bin('add', lit('a'), lit(1)))).toThrow(/add needs a number/);
  });

  it('rounds half away from zero and handles math edge cases', () => {
    expect(run({ kind: 'call', fn: 'round', args: [lit(2.5)] })).toBe(3);
    expect(run({ kind: 'call', fn: 'round', args: [lit(-2.5)] })).toBe(-3);
    expect(run({ kind: 'call', fn: 'round', args: [lit(1.005), lit(2)] })).toBe(1.01);
    expect(run({ kind: 'call', fn: 'sqrt', args: [lit(-1)] })).toBeNull();
    expect(run({ kind: 'call', fn: 'ln', args: [lit(0)] })).toBeNull();
  });

  it('computes dot product, norm and cosine similarity of vectors', () => {
    const values = { 'e.a': [3, 4, 0], 'e.b': [1, 2, 2], 'e.zero': [0, 0, 0], 'e.short': [1, 2] };
    const call = (fn: 'dot' | 'norm' | 'cosine_similarity', ...fqns: string[]) =>
      run({ kind: 'call', fn, args: fqns.map(feature) }, scope(values));
    // By hand: a·b = 3 + 8 + 0 = 11, |a| = 5, |b| = 3.
    expect(call('dot', 'e.a', 'e.b')).toBe(11);
    expect(call('norm', 'e.a')).toBe(5);
    expect(call('norm', 'e.b')).toBe(3);
    expect(call('cosine_similarity', 'e.a', 'e.b')).toBeCloseTo(11 / 15, 12);
    expect(call('cosine_similarity', 'e.a', 'e.a')).toBeCloseTo(1, 12);
    expect(call('cosine_similarity', 'e.a', 'e.zero')).toBeNull();
    expect(call('dot', 'e.a', 'e.missing')).toBeNull();
    expect(() => call('dot', 'e.a', 'e.short')).toThrow(/vectors of one length, got 3 and 2/);
    expect(() => run({ kind: 'call', fn: 'norm', args: [lit('abc')] })).toThrow(/needs a vector of numbers/);
  });

  it('drops rows whose filter is null, and counts null projections', () => {
    const rows = { 'a.r': [{ v: 1 }, { v: null }, { v: 3 }] };
    const where = bin('gt', { kind: 'column', name: 'v' }, lit(1));
    expect(run({ kind: 'aggregate', fn: 'count', relation: 'a.r', where }, scope({}, rows))).toBe(1);
    expect(
      run(
        { kind: 'aggregate', fn: 'count', relation: 'a.r', select: { kind: 'column', name: 'v' } },
        scope({}, rows),
      ),
    ).toBe(3);
    expect(run({ kind: 'aggregate', fn: 'any', relation: 'a.r', select: where }, scope({}, rows))).toBe(true);
    expect(
      run({ kind: 'aggregate', fn: 'all', relation: 'a.r', select: where }, scope({}, { 'a.r': [] })),
    ).toBe(true);
    expect(
      run({ kind: 'aggregate', fn: 'any', relation: 'a.r', select: where }, scope({}, { 'a.r': [] })),
    ).toBe(false);
  });
});
