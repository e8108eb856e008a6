import { describe, expect, it } from 'vitest';
import type { ExprNode } from './expression.ts';
import { assignable, inferExpressionType } from './expression-types.ts';
import type { DType } from './graph-artifact.ts';

const types: Record<string, DType> = {
  'u.age': { type: 'int' },
  'u.name': { type: 'string' },
  'u.home': { type: 'struct', fields: { lat: { type: 'float' } } },
};
const columns: Record<string, DType> = { amount: { type: 'float' }, label: { type: 'string' } };
const infer = (node: ExprNode) =>
  inferExpressionType(node, { feature: (fqn) => types[fqn], column: (_relation, name) => columns[name] });
const f = (fqn: string): ExprNode => ({ kind: 'feature', fqn });

describe('inferExpressionType', () => {
  it.each<[string, ExprNode, string]>([
    [
      'int + int',
      { kind: 'binary', op: 'add', left: f('u.age'), right: { kind: 'literal', value: 1 } },
      'int',
    ],
    [
      'int / int',
      { kind: 'binary', op: 'div', left: f('u.age'), right: { kind: 'literal', value: 2 } },
      'float',
    ],
    ['struct field', { kind: 'field', of: f('u.home'), name: 'lat' }, 'float'],
    ['lower', { kind: 'call', fn: 'lower', args: [f('u.name')] }, 'string'],
    ['count', { kind: 'aggregate', fn: 'count', relation: 'u.r' }, 'int'],
    [
      'sum of floats',
      { kind: 'aggregate', fn: 'sum', relation: 'u.r', select: { kind: 'column', name: 'amount' } },
      'float',
    ],
    [
      'max of strings',
      { kind: 'aggregate', fn: 'max', relation: 'u.r', select: { kind: 'column', name: 'label' } },
      'string',
    ],
  ])('%s', (_name, node, type) => {
    expect(infer(node)).toEqual({ type, errors: [] });
  });

  it('reports type errors', () => {
    expect(infer({ kind: 'call', fn: 'lower', args: [f('u.age')] }).errors).toEqual([
      'F.lower() argument 1 must be string, got int',
    ]);
    expect(
      infer({ kind: 'aggregate', fn: 'sum', relation: 'u.r', select: { kind: 'column', name: 'label' } })
        .errors,
    ).toEqual(['sum() of string values']);
    expect(infer({ kind: 'binary', op: 'lt', left: f('u.age'), right: f('u.name') }).errors).toEqual([
      "'lt' compares a int with a string",
    ]);
    expect(infer({ kind: 'field', of: f('u.home'), name: 'lon' }).errors).toEqual([
      "the struct has no field 'lon'",
    ]);
  });

  it('lets ints into floats but not the reverse', () => {
    expect(assignable('int', { type: 'float' })).toBe(true);
    expect(assignable('float', { type: 'int' })).toBe(false);
    expect(assignable('unknown', { type: 'int' })).toBe(true);
  });
});
