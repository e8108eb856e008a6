import type { ExprNode } from '@slate/graph';
import { type FeatureClassInternals, featureClassInternals, isRelationField } from '../feature-class.ts';
import type { RawExpr } from './expr.ts';

/** Field declarations of every collected namespace: what references resolve against. */
export type ClassTable = ReadonlyMap<string, FeatureClassInternals>;

/**
 * Resolves a DSL expression of namespace `namespace` into the artifact's `ExprNode`: root paths become
 * features (following has-one relationships into paths such as `user.profile.email`, struct fields after a
 * scalar), row paths become columns of the aggregated relation. A path naming nothing becomes a `feature`
 * node with that name, which `lintGraph` reports as unknown, with the feature's file and line.
 */
export function resolveExpression(raw: RawExpr, namespace: string, classes: ClassTable): ExprNode {
  const resolve = (node: RawExpr): ExprNode => {
    switch (node.kind) {
      case 'literal':
      case 'now':
      case 'window_start':
        return node;
      case 'ref':
        return node.scope === 'row' ? rowRef(node.path) : rootRef(node.path);
      case 'field':
        return { kind: 'field', of: resolve(node.of), name: node.name };
      case 'unary':
        return { kind: 'unary', op: node.op, arg: resolve(node.arg) };
      case 'binary':
        return { kind: 'binary', op: node.op, left: resolve(node.left), right: resolve(node.right) };
      case 'call':
        return { kind: 'call', fn: node.fn, args: node.args.map(resolve) };
      case 'rows':
        // Rows that were never aggregated: keep the relation as a feature so lint reports a type error.
        return resolve(node.of);
      case 'aggregate': {
        const relation = resolve(node.rows.of);
        return {
          kind: 'aggregate',
          fn: node.fn,
          relation: relation.kind === 'feature' ? relation.fqn : '<not a relationship>',
          ...(node.rows.where ? { where: resolve(node.rows.where) } : {}),
          ...(node.rows.select ? { select: resolve(node.rows.select) } : {}),
          ...(node.quantile === undefined ? {} : { quantile: node.quantile }),
        };
      }
    }
  };

  const withFields = (base: ExprNode, names: readonly string[]): ExprNode =>
    names.reduce<ExprNode>((of, name) => ({ kind: 'field', of, name }), base);

  const rootRef = (path: readonly string[]): ExprNode => {
    const unknown: ExprNode = { kind: 'feature', fqn: [namespace, ...path].join('.') };
    let current = classes.get(namespace);
    for (let i = 0; i < path.length; i++) {
      const name = path[i]!;
      const field = current?.fields[name];
      if (!field) {
        if (i === 0 && name === 'now') return withFields({ kind: 'now' }, path.slice(1));
        return unknown;
      }
      if (isRelationField(field) && field.kind === 'has_one' && i < path.length - 1) {
        current = featureClassInternals(field.target());
        continue;
      }
      // A scalar, a has-many (aggregated by the caller) or a has-one named as a whole; the rest of the
      // path is struct fields.
      return withFields(
        { kind: 'feature', fqn: [namespace, ...path.slice(0, i + 1)].join('.') },
        path.slice(i + 1),
      );
    }
    return unknown;
  };

  const rowRef = (path: readonly string[]): ExprNode => {
    const [first, ...rest] = path;
    if (first === undefined) return { kind: 'column', name: '<row>' };
    return withFields({ kind: 'column', name: first }, rest);
  };

  return resolve(raw);
}
