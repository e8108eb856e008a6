import type { DType, FeatureIndex, ScalarFeatureSpec } from '@slate/graph';
import type { EngineResult, OutputColumn } from './query.ts';

/** How one requested output is answered from the columns the planner can produce. */
type OutputRoute =
  /** Answered as planned; `columns` are the planner's column names (every window of a windowed feature's bare name). */
  | { readonly kind: 'plain'; readonly name: string; readonly columns: readonly string[] }
  /** `user.profile`: every scalar of the target namespace, read through the has-one, packed as a struct. */
  | {
      readonly kind: 'struct';
      readonly name: string;
      readonly fields: readonly { readonly name: string; readonly path: string; readonly dtype: DType }[];
    }
  /** `user.transactions.amount`: the has-many table restricted to one column. */
  | {
      readonly kind: 'has_many_column';
      readonly name: string;
      readonly relation: string;
      readonly field: string;
    };

/** A query's outputs rewritten into what the planner answers, and how to fold the result back. */
export interface RelationOutputs {
  /** The outputs to plan (deduplicated). */
  readonly outputs: readonly string[];
  /** Folds the planner's columns back into one column per requested output, in request order. */
  collapse(result: EngineResult): EngineResult;
}

/**
 * Rewrites outputs the planner does not answer directly: a has-one asked for as a whole (`user.profile`)
 * becomes its target's scalar features read through the relation, packed into one struct column; a has-many's
 * sub-feature (`user.transactions.amount`) becomes the has-many, restricted to that column. `undefined` when
 * no output needs rewriting. Deeper paths through a has-many (`user.transactions.merchant.name`) are not
 * rewritten and stay `PARSE_FAILED`.
 *
 * @example
 * const rewrite = rewriteRelationOutputs(index, ['user.profile']);
 * // rewrite.outputs: ['user.profile.email', 'user.profile.city', ...]
 */
export function rewriteRelationOutputs(
  index: FeatureIndex,
  outputs: readonly string[],
): RelationOutputs | undefined {
  let rewritten = false;
  const routes: OutputRoute[] = outputs.map((name) => {
    const resolved = index.resolve(name);
    if (resolved?.kind === 'feature' && resolved.spec.kind === 'has_one') {
      const target = index.namespaces.get(resolved.spec.target);
      const fields = (target?.features ?? [])
        .filter((f): f is ScalarFeatureSpec => f.kind === 'scalar' && !f.window)
        .map((f) => ({ name: f.name, path: `${name}.${f.name}`, dtype: f.dtype }));
      rewritten = true;
      return { kind: 'struct', name, fields };
    }
    const plain = { kind: 'plain', name, columns: index.windows(name) ?? [name] } as const;
    if (resolved) return plain;
    const first = name.indexOf('.');
    const second = name.indexOf('.', first + 1);
    const relation = second > 0 ? index.features.get(name.slice(0, second)) : undefined;
    if (relation?.kind !== 'has_many') return plain;
    const field = name.slice(second + 1);
    const leaf = index.resolve(`${relation.target}.${field}`);
    if (leaf?.kind !== 'feature' || leaf.spec.kind !== 'scalar') return plain;
    rewritten = true;
    return { kind: 'has_many_column', name, relation: relation.fqn, field: leaf.spec.name };
  });
  if (!rewritten) return undefined;
  const planned = [
    ...new Set(
      routes.flatMap((route) =>
        route.kind === 'plain'
          ? [route.name]
          : route.kind === 'struct'
            ? route.fields.map((f) => f.path)
            : [route.relation],
      ),
    ),
  ];
  return { outputs: planned, collapse: (result) => collapse(result, routes) };
}

function collapse(result: EngineResult, routes: readonly OutputRoute[]): EngineResult {
  const byName = new Map(result.columns.map((column) => [column.fqn, column]));
  const columns: OutputColumn[] = [];
  for (const route of routes) {
    if (route.kind === 'plain') {
      // A windowed feature's bare name is planned as its windows: each comes back as its own column.
      for (const name of route.columns) {
        const column = byName.get(name);
        if (column) columns.push(column);
      }
    } else if (route.kind === 'has_many_column') {
      const column = byName.get(route.relation);
      if (!column) continue;
      columns.push({
        ...column,
        fqn: route.name,
        fields: [route.field],
        values: column.values.map((rows) =>
          Array.isArray(rows)
            ? rows.map((row: Record<string, unknown>) => ({ [route.field]: row[route.field] ?? null }))
            : rows,
        ),
      });
    } else {
      columns.push(structColumn(route, byName, result.rowCount));
    }
  }
  return { ...result, columns };
}

/** One struct per row from the has-one's field columns; `null` where every field is `null` (no related row). */
function structColumn(
  route: Extract<OutputRoute, { kind: 'struct' }>,
  byName: ReadonlyMap<string, OutputColumn>,
  rowCount: number,
): OutputColumn {
  const parts = route.fields.map((field) => ({ field, column: byName.get(field.path) }));
  const values: unknown[] = [];
  const observedAt: (number | null)[] = [];
  const errors: OutputColumn['errors'] = [];
  const cacheHits: boolean[] = [];
  for (let row = 0; row < rowCount; row++) {
    const struct: Record<string, unknown> = {};
    let present = false;
    let seen: number | null = null;
    let error: OutputColumn['errors'][number] = null;
    let cached = parts.length > 0;
    for (const { field, column } of parts) {
      const value = column && !column.errors[row] ? (column.values[row] ?? null) : null;
      struct[field.name] = value;
      if (value !== null) present = true;
      const at = column?.observedAt[row] ?? null;
      if (at !== null && (seen === null || at > seen)) seen = at;
      error ??= column?.errors[row] ?? null;
      cached &&= column?.cacheHits[row] ?? false;
    }
    values.push(present ? struct : null);
    observedAt.push(seen);
    errors.push(error && !present ? { ...error, feature: route.name } : null);
    cacheHits.push(cached);
  }
  return {
    fqn: route.name,
    kind: 'struct',
    dtype: { type: 'struct', fields: Object.fromEntries(route.fields.map((f) => [f.name, f.dtype])) },
    values,
    observedAt,
    errors,
    cacheHits,
    resolver: null,
    primitiveType: null,
    version: 1,
  };
}
