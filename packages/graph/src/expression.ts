import { z } from 'zod';

/**
 * An expression feature's definition, as stored in the graph artifact: an immutable tree of `kind`-tagged
 * nodes that the engine interprets without calling user code. The SDK's `_` DSL builds these trees.
 *
 * Scopes: at the root, `feature` nodes read features of the expression's namespace (FQNs, possibly a
 * has-one path such as `user.profile.email`); inside an aggregation's `where`/`select`, `column` nodes read
 * features of the related row by short name.
 *
 * Null semantics: an operator or function with a `null` operand yields `null` (except `is_null`,
 * `coalesce`, `if_then_else`, `and` with a `false` side and `or` with a `true` side); division by zero
 * yields `null`. Aggregations follow the seed product's table: see `AggregateFunction`.
 *
 * @example
 * const node: ExprNode = {
 *   kind: 'binary', op: 'sub',
 *   left: { kind: 'feature', fqn: 'transaction.total' },
 *   right: { kind: 'feature', fqn: 'transaction.sales_tax' },
 * };
 */
export type ExprNode =
  | { readonly kind: 'literal'; readonly value: unknown; readonly dtype?: 'datetime' }
  | { readonly kind: 'feature'; readonly fqn: string }
  | { readonly kind: 'column'; readonly name: string }
  /** The query's time (`_.chalk_now`). */
  | { readonly kind: 'now' }
  /** The start of the window being computed (`_.chalk_window`): query time minus the window. */
  | { readonly kind: 'window_start' }
  /** A field of a struct (or document) value. */
  | { readonly kind: 'field'; readonly of: ExprNode; readonly name: string }
  | { readonly kind: 'unary'; readonly op: UnaryOperator; readonly arg: ExprNode }
  | {
      readonly kind: 'binary';
      readonly op: BinaryOperator;
      readonly left: ExprNode;
      readonly right: ExprNode;
    }
  | { readonly kind: 'call'; readonly fn: ExprFunction; readonly args: readonly ExprNode[] }
  | {
      readonly kind: 'aggregate';
      readonly fn: AggregateFunction;
      /** FQN of the has-many relationship whose rows are aggregated. */
      readonly relation: string;
      /** Rows for which this is not `true` are dropped first. */
      readonly where?: ExprNode;
      /** The value aggregated per row; `count` needs none. */
      readonly select?: ExprNode;
      /** For `approx_percentile`: the quantile in [0, 1]. */
      readonly quantile?: number;
    };

export const UNARY_OPERATORS = ['neg', 'not', 'is_null'] as const;
export type UnaryOperator = (typeof UNARY_OPERATORS)[number];

export const BINARY_OPERATORS = [
  'add',
  'sub',
  'mul',
  'div',
  'mod',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
  'and',
  'or',
] as const;
export type BinaryOperator = (typeof BINARY_OPERATORS)[number];

/** Scalar functions (`F.lower`, `F.abs`, …). */
export const EXPR_FUNCTIONS = [
  'lower',
  'upper',
  'trim',
  'length',
  'contains',
  'starts_with',
  'ends_with',
  'replace',
  'substr',
  'concat',
  'abs',
  'round',
  'floor',
  'ceil',
  'sqrt',
  'exp',
  'ln',
  'power',
  'greatest',
  'least',
  'coalesce',
  'if_then_else',
  'unix_seconds',
  'seconds_between',
  'cast_float',
  'cast_int',
  'cast_string',
  'dot',
  'norm',
  'cosine_similarity',
] as const;
export type ExprFunction = (typeof EXPR_FUNCTIONS)[number];

/**
 * Aggregations over a has-many relationship. Empty and null handling (the seed product's documented table):
 * `count` counts rows, nulls included (empty → 0); `sum` skips nulls (empty → 0); `min`, `max`, `mean`
 * and `approx_percentile` skip nulls (empty → null); `std` and `var` are the sample statistics over
 * non-null values (fewer than 2 → null); `approx_count_distinct` counts distinct non-null values (exactly;
 * empty → 0); `any` / `all` skip nulls (empty → false / true).
 */
export const AGGREGATE_FUNCTIONS = [
  'count',
  'sum',
  'min',
  'max',
  'mean',
  'std',
  'var',
  'approx_count_distinct',
  'approx_percentile',
  'any',
  'all',
] as const;
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

export const ExprNodeSchema: z.ZodType<ExprNode> = z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('literal'), value: z.unknown(), dtype: z.literal('datetime').optional() }),
    z.object({ kind: z.literal('feature'), fqn: z.string().min(1) }),
    z.object({ kind: z.literal('column'), name: z.string().min(1) }),
    z.object({ kind: z.literal('now') }),
    z.object({ kind: z.literal('window_start') }),
    z.object({ kind: z.literal('field'), of: ExprNodeSchema, name: z.string().min(1) }),
    z.object({ kind: z.literal('unary'), op: z.enum(UNARY_OPERATORS), arg: ExprNodeSchema }),
    z.object({
      kind: z.literal('binary'),
      op: z.enum(BINARY_OPERATORS),
      left: ExprNodeSchema,
      right: ExprNodeSchema,
    }),
    z.object({ kind: z.literal('call'), fn: z.enum(EXPR_FUNCTIONS), args: z.array(ExprNodeSchema) }),
    z.object({
      kind: z.literal('aggregate'),
      fn: z.enum(AGGREGATE_FUNCTIONS),
      relation: z.string().min(1),
      where: ExprNodeSchema.optional(),
      select: ExprNodeSchema.optional(),
      quantile: z.number().min(0).max(1).optional(),
    }),
  ]),
) as z.ZodType<ExprNode>;

/** What an expression reads: root features (FQNs) and, per has-many relation, the row columns it uses. */
export interface ExpressionReads {
  readonly features: ReadonlySet<string>;
  readonly relations: ReadonlyMap<string, ReadonlySet<string>>;
  /** Whether the expression reads query time or the window start (then it is not cacheable across time). */
  readonly usesTime: boolean;
}

/**
 * Lists what an expression reads, so the planner can plan it like a resolver whose inputs are those
 * features.
 *
 * @example
 * expressionReads({ kind: 'aggregate', fn: 'count', relation: 'user.logins' }).relations; // Map { 'user.logins' => Set {} }
 */
export function expressionReads(node: ExprNode): ExpressionReads {
  const features = new Set<string>();
  const relations = new Map<string, Set<string>>();
  let usesTime = false;
  const visit = (n: ExprNode, columns: Set<string> | null): void => {
    switch (n.kind) {
      case 'literal':
        return;
      case 'feature':
        features.add(n.fqn);
        return;
      case 'column':
        columns?.add(n.name);
        return;
      case 'now':
      case 'window_start':
        usesTime = true;
        return;
      case 'field':
        visit(n.of, columns);
        return;
      case 'unary':
        visit(n.arg, columns);
        return;
      case 'binary':
        visit(n.left, columns);
        visit(n.right, columns);
        return;
      case 'call':
        for (const arg of n.args) visit(arg, columns);
        return;
      case 'aggregate': {
        const used = relations.get(n.relation) ?? new Set<string>();
        relations.set(n.relation, used);
        if (n.where) visit(n.where, used);
        if (n.select) visit(n.select, used);
        return;
      }
    }
  };
  visit(node, null);
  return { features, relations, usesTime };
}

/** A readable rendering of an expression, for `explain` and lint messages. */
export function formatExpression(node: ExprNode): string {
  switch (node.kind) {
    case 'literal':
      return JSON.stringify(node.value);
    case 'feature':
      return `_.${node.fqn.slice(node.fqn.indexOf('.') + 1)}`;
    case 'column':
      return `_.${node.name}`;
    case 'now':
      return '_.chalk_now';
    case 'window_start':
      return '_.chalk_window';
    case 'field':
      return `${formatExpression(node.of)}.${node.name}`;
    case 'unary':
      return `${node.op}(${formatExpression(node.arg)})`;
    case 'binary':
      return `(${formatExpression(node.left)} ${symbols[node.op]} ${formatExpression(node.right)})`;
    case 'call':
      return `F.${node.fn}(${node.args.map(formatExpression).join(', ')})`;
    case 'aggregate': {
      const parts = [
        node.where && formatExpression(node.where),
        node.select && formatExpression(node.select),
      ];
      const inner = parts.filter(Boolean).join(', ');
      const arg = node.quantile === undefined ? '' : String(node.quantile);
      return `_.${node.relation.slice(node.relation.indexOf('.') + 1)}[${inner}].${node.fn}(${arg})`;
    }
  }
}

const symbols: Record<BinaryOperator, string> = {
  add: '+',
  sub: '-',
  mul: '*',
  div: '/',
  mod: '%',
  eq: '==',
  ne: '!=',
  lt: '<',
  le: '<=',
  gt: '>',
  ge: '>=',
  and: '&',
  or: '|',
};
