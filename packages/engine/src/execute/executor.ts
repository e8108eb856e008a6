import type { FeatureSpec, ScalarFeatureSpec } from '@slate/graph';
import type { OnlineEntry, OnlineKey, OnlineStore, StoredValue } from '@slate/stores';
import { compileExpression } from '../expressions/compile-expression.ts';
import type { Plan, ResolverStep } from '../plan/plan.ts';
import type { GraphIndex, Planner } from '../plan/planner.ts';
import type { EngineQuery, EngineResult, OutputColumn, QueryError } from '../query.ts';
import {
  type CallContext,
  describeException,
  type ResolverOutcome,
  type ResolverRuntime,
} from '../runtime/resolver-runtime.ts';
import { coerceValue, primitiveTypeOf, toJsonValue } from '../values.ts';
import { answerCompiledRows, compiledRowKeys, compiledRowReads, singleRowPlanOf } from './single-row-plan.ts';

/** What executing a plan needs besides the plan and the query. */
export interface ExecutionDeps {
  readonly planner: Planner;
  readonly runtime: ResolverRuntime;
  readonly onlineStore?: OnlineStore;
  /** Online-store namespace of this environment. */
  readonly environment: string;
  readonly deploymentId: string;
  /**
   * Answer one-row queries whose every value is fresh in the online store through the plan's compiled
   * single-row form (`single-row-plan.ts`): same result, a fraction of the work. Default true; false runs
   * every query through the general executor (the equivalence tests compare the two).
   */
  readonly singleRowPlans?: boolean;
}

/** One feature's values, errors and provenance, one slot per row. */
interface Column {
  readonly values: unknown[];
  readonly errors: (QueryError | null)[];
  readonly observedAt: (number | null)[];
  readonly cacheHits: boolean[];
}

/** Values, errors and provenance of every feature known so far. */
class QueryState {
  private readonly columns = new Map<string, Column>();

  constructor(readonly rowCount: number) {}

  column(fqn: string): Column {
    let column = this.columns.get(fqn);
    if (!column) {
      const n = this.rowCount;
      // One row (every online query) is the common case: literals, not four `fill`s per feature.
      column =
        n === 1
          ? { values: [null], errors: [null], observedAt: [null], cacheHits: [false] }
          : {
              values: new Array<unknown>(n).fill(null),
              errors: new Array<QueryError | null>(n).fill(null),
              observedAt: new Array<number | null>(n).fill(null),
              cacheHits: new Array<boolean>(n).fill(false),
            };
      this.columns.set(fqn, column);
    }
    return column;
  }

  /** A feature's values, when any step or input set them. */
  valuesOf(fqn: string): unknown[] | undefined {
    return this.columns.get(fqn)?.values;
  }

  errorAt(fqn: string, row: number): QueryError | null {
    return this.columns.get(fqn)?.errors[row] ?? null;
  }
}

/**
 * Executes a plan over the query's rows. Independent steps run concurrently; each step sends all its rows
 * to the runtime in one call; a row whose inputs failed is reported `UPSTREAM_FAILED` without running the
 * resolver; values within max-staleness come from the online store (read once per query, in one round
 * trip) and fresh computations are written back.
 */
export async function executePlan(
  plan: Plan,
  query: EngineQuery,
  deps: ExecutionDeps,
  prefetched: Prefetched = new Map(),
  preread?: readonly (StoredValue | null)[],
): Promise<Omit<EngineResult, 'planCacheHit'>> {
  const index = deps.planner.index;
  const now = query.now ?? new Date();
  const rowCount = rowCountOf(query);
  const state = new QueryState(rowCount);
  const requestErrors = coerceInputs(query, plan, index, state);
  if (requestErrors.length > 0)
    return {
      rowCount,
      columns: [],
      errors: requestErrors,
      queryHash: null,
      explain: plan.explain,
      warnings: [...plan.warnings],
    };

  const cached = await readCache(plan, state, now.getTime(), deps, preread);
  const writes: OnlineEntry[] = [];
  const context: CallContext = {
    now,
    environment: deps.environment,
    deploymentId: deps.deploymentId,
    tags: query.tags ?? [],
    queryContext: query.queryContext ?? {},
  };

  const running = new Map<number, Promise<void>>();
  const runStep = (step: ResolverStep): Promise<void> => {
    let promise = running.get(step.index);
    if (!promise) {
      promise = Promise.all(step.dependsOn.map((d) => runStep(plan.steps[d]!))).then(() =>
        executeStep(step, state, cached.get(step.index), context, query, deps, writes, prefetched),
      );
      running.set(step.index, promise);
    }
    return promise;
  };
  await Promise.all(plan.steps.map(runStep));
  if (writes.length > 0 && deps.onlineStore)
    await deps.onlineStore.set(deps.environment, writes, query.signal);

  return assemble(plan, state, index);
}

/** Data-frame resolver results already fetched in this query (a `total` resolver that supplied the rows). */
export type Prefetched = Map<string, readonly Record<string, unknown>[]>;

function rowCountOf(query: EngineQuery): number {
  const lengths = Object.values(query.inputs).map((column) => column.length);
  return lengths.length === 0 ? 0 : Math.max(...lengths);
}

function coerceInputs(query: EngineQuery, plan: Plan, index: GraphIndex, state: QueryState): QueryError[] {
  const errors: QueryError[] = [];
  for (const [name, column] of Object.entries(query.inputs)) {
    const fqn = plan.inputs.get(name) ?? name;
    const feature = index.resolve(fqn)?.spec;
    if (!feature) continue;
    if (column.length !== state.rowCount) {
      errors.push({
        code: 'INVALID_QUERY',
        category: 'REQUEST',
        feature: fqn,
        message: `Input '${fqn}' has ${column.length} values; other inputs have ${state.rowCount}`,
      });
      continue;
    }
    const target = state.column(fqn);
    for (let row = 0; row < column.length; row++) {
      const coerced = coerceFeatureValue(feature, column[row], index);
      if (!coerced.ok) {
        errors.push({
          code: 'PARSE_FAILED',
          category: 'REQUEST',
          feature: name,
          message: `Input '${name}': ${coerced.reason}`,
        });
        break;
      }
      target.values[row] = coerced.value;
    }
  }
  return errors;
}

/** Coerces a scalar to its type, or a has-many value to an array of rows of the target's fields. */
function coerceFeatureValue(
  feature: FeatureSpec,
  value: unknown,
  index: GraphIndex,
): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (feature.kind === 'scalar') return coerceValue(feature.dtype, value);
  if (feature.kind === 'has_one') return { ok: true, value };
  if (value === null || value === undefined) return { ok: true, value: [] };
  if (!Array.isArray(value)) return { ok: false, reason: 'expected a list of rows' };
  const rows: Record<string, unknown>[] = [];
  for (const row of value) {
    if (typeof row !== 'object' || row === null || Array.isArray(row))
      return { ok: false, reason: 'expected each row to be an object' };
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(row as Record<string, unknown>)) {
      // Rows may name fields by short name (`amount`) or FQN (`transaction.amount`).
      const name = key.startsWith(`${feature.target}.`) ? key.slice(feature.target.length + 1) : key;
      const spec = index.features.get(`${feature.target}.${name}`);
      if (spec?.kind !== 'scalar') {
        out[name] = field;
        continue;
      }
      const coerced = coerceValue(spec.dtype, field);
      if (!coerced.ok) return { ok: false, reason: `${spec.fqn}: ${coerced.reason}` };
      out[name] = coerced.value;
    }
    rows.push(out);
  }
  return { ok: true, value: rows };
}

/**
 * A value read from the online store as the feature's type, `null` when it no longer fits (the feature's
 * type changed since it was stored). A finite number stored for a float, or an integer for an int, is
 * already in the engine's representation: most bulk reads take that path without a result object each.
 */
function storedValueOf(feature: FeatureSpec, value: unknown, index: GraphIndex): unknown {
  if (typeof value === 'number' && feature.kind === 'scalar') {
    const { type } = feature.dtype;
    if ((type === 'float' && !Number.isNaN(value)) || (type === 'int' && Number.isInteger(value)))
      return value;
  }
  const coerced = coerceFeatureValue(feature, value, index);
  return coerced.ok ? coerced.value : null;
}

/** Fresh cached outputs per step and row: a row is served from cache only when every output is fresh. */
type CachedRows = Map<number, (Map<string, StoredValue> | null)[]>;

/** The steps whose outputs may be read from the online store, and which features: fixed per plan. */
const cacheReads = new WeakMap<Plan, readonly { step: ResolverStep; needed: readonly string[] }[]>();

export function cacheReadsOf(plan: Plan): readonly { step: ResolverStep; needed: readonly string[] }[] {
  let reads = cacheReads.get(plan);
  if (!reads) {
    reads = plan.steps
      .filter((step) => {
        if (step.needed.size === 0) return false;
        for (const fqn of step.needed) if (step.maxStalenessS.get(fqn) === 0) return false;
        return true;
      })
      .map((step) => ({ step, needed: [...step.needed] }));
    cacheReads.set(plan, reads);
  }
  return reads;
}

async function readCache(
  plan: Plan,
  state: QueryState,
  nowMs: number,
  deps: ExecutionDeps,
  /** The values of these very keys, already read (a one-row query that missed its compiled form). */
  preread?: readonly (StoredValue | null)[],
): Promise<CachedRows> {
  const cached: CachedRows = new Map();
  if (!deps.onlineStore) return cached;
  const keys: OnlineKey[] = [];
  // Parallel arrays rather than one slot object per key read.
  const slotSteps: ResolverStep[] = [];
  const slotRows: number[] = [];
  const slotFqns: string[] = [];
  for (const { step, needed } of cacheReadsOf(plan)) {
    const pkeys = state.valuesOf(step.primaryKey);
    if (!pkeys) continue;
    for (let row = 0; row < state.rowCount; row++) {
      const pkey = pkeys[row];
      if (typeof pkey !== 'string' && typeof pkey !== 'number') continue;
      for (const fqn of needed) {
        keys.push({ feature: fqn, pkey });
        slotSteps.push(step);
        slotRows.push(row);
        slotFqns.push(fqn);
      }
    }
  }
  if (keys.length === 0) return cached;
  const stored =
    preread?.length === keys.length ? preread : await deps.onlineStore.get(deps.environment, keys);
  const fresh: (Map<string, StoredValue> | null)[][] = plan.steps.map(() => []);
  for (let i = 0; i < stored.length; i++) {
    const value = stored[i];
    const step = slotSteps[i]!;
    const row = slotRows[i]!;
    const fqn = slotFqns[i]!;
    // A value observed after the query's time is never returned (point-in-time correctness).
    if (!value || value.observedAt > nowMs) continue;
    const maxStaleness = step.maxStalenessS.get(fqn)!;
    if (maxStaleness !== null && nowMs - value.observedAt > maxStaleness * 1000) continue;
    const rows = fresh[step.index]!;
    let values = rows[row];
    if (!values) {
      values = new Map();
      rows[row] = values;
    }
    values.set(fqn, value);
  }
  for (const step of plan.steps) {
    const rows = fresh[step.index]!;
    let any = false;
    const served = Array.from({ length: state.rowCount }, (_, row) => {
      const values = rows[row];
      const complete = values !== undefined && values !== null && values.size === step.needed.size;
      if (complete) any = true;
      return complete ? values : null;
    });
    if (any) cached.set(step.index, served);
  }
  return cached;
}

async function executeStep(
  step: ResolverStep,
  state: QueryState,
  cachedRows: (Map<string, StoredValue> | null)[] | undefined,
  context: CallContext,
  query: EngineQuery,
  deps: ExecutionDeps,
  writes: OnlineEntry[],
  prefetched: Prefetched,
): Promise<void> {
  const { resolver } = step;
  const index = deps.planner.index;
  const outputs = step.outputs.map((output) => ({
    param: output.param,
    fqn: output.fqn,
    feature: output.feature,
    column: state.column(output.fqn),
  }));
  const subqueryRows = await fillHasManyInputs(step, state, query, deps);

  const pending: number[] = [];
  const callRows: Record<string, unknown>[] = [];
  for (let row = 0; row < state.rowCount; row++) {
    const hit = cachedRows?.[row];
    if (hit) {
      for (const output of outputs) {
        const stored = hit.get(output.fqn);
        if (!stored) continue;
        output.column.values[row] = storedValueOf(output.feature, stored.value, index);
        output.column.observedAt[row] = stored.observedAt;
        output.column.cacheHits[row] = true;
      }
      continue;
    }
    let failedInput: QueryError | null | undefined = null;
    for (const input of step.inputs) {
      failedInput = state.errorAt(input.fqn, row) ?? subqueryRows.errors.get(`${input.param}:${row}`);
      if (failedInput) break;
    }
    if (failedInput) {
      for (const output of outputs) {
        output.column.errors[row] = {
          code: 'UPSTREAM_FAILED',
          category: 'FIELD',
          feature: output.fqn,
          resolver: resolver.fqn,
          message: `Upstream feature '${failedInput.feature}' failed: ${failedInput.message}`,
        };
      }
      continue;
    }
    const inputs: Record<string, unknown> = {};
    for (const input of step.inputs) {
      inputs[input.param] =
        input.type === 'has_many'
          ? subqueryRows.rows.get(`${input.param}:${row}`)
          : (state.valuesOf(input.fqn)?.[row] ?? null);
    }
    pending.push(row);
    callRows.push(inputs);
  }
  if (pending.length === 0) return;

  let outcomes: StepOutcome[];
  switch (step.kind) {
    case 'expression':
      outcomes = evaluateExpression(step, callRows, context);
      break;
    case 'traversal':
      outcomes = await traverse(step, callRows, query, deps);
      break;
    default:
      outcomes =
        resolver.dataframe === undefined
          ? await callRuntime(step, callRows, context, query, deps)
          : await joinDataFrame(step, pending, state, context, query, deps, prefetched);
  }

  const observedAt = context.now.getTime();
  pending.forEach((row, i) => {
    const outcome = outcomes[i]!;
    // A row that outputs its class's feature time is dated by it (a backdated value then never
    // overwrites a newer one in the online store).
    const featureTime = step.featureTime && outcome.ok ? outcome.outputs[featureTimeParam(step)] : undefined;
    const rowObservedAt =
      featureTime instanceof Date || typeof featureTime === 'string'
        ? new Date(featureTime).getTime() || observedAt
        : observedAt;
    for (const output of outputs) {
      if (!outcome.ok) {
        output.column.errors[row] = {
          code: outcome.timedOut ? 'RESOLVER_TIMED_OUT' : 'RESOLVER_FAILED',
          category: 'FIELD',
          feature: output.fqn,
          resolver: resolver.fqn,
          message: outcome.timedOut
            ? `Resolver ${resolver.fqn} timed out`
            : `Resolver ${resolver.fqn} failed: ${outcome.error.message}`,
          exception: outcome.error,
        };
        continue;
      }
      const outputError = outcome.outputErrors?.[output.param];
      if (outputError) {
        output.column.errors[row] = { ...outputError, feature: output.fqn };
        continue;
      }
      let value = outcome.outputs[output.param];
      if (step.kind === 'traversal' && (value === null || value === undefined)) {
        // An optional has-one without a related row: the path's features are null, whatever their type.
        output.column.values[row] = null;
        continue;
      }
      if (value === null && output.feature.kind === 'scalar' && output.feature.default !== undefined)
        value = output.feature.default;
      const checked = checkOutput(output.feature, value, output.param, index);
      if (!checked.ok) {
        output.column.errors[row] = {
          code: 'VALIDATION_FAILED',
          category: 'FIELD',
          feature: output.fqn,
          resolver: resolver.fqn,
          message: checked.reason,
        };
        continue;
      }
      output.column.values[row] = checked.value;
      output.column.observedAt[row] = rowObservedAt;
      const ttl = step.writeTtlS.get(output.fqn);
      const pkey = state.valuesOf(step.primaryKey)?.[row];
      if (
        ttl !== 0 &&
        ttl !== undefined &&
        (typeof pkey === 'string' || typeof pkey === 'number') &&
        shouldCache(output.feature, checked.value)
      ) {
        writes.push({
          feature: output.fqn,
          pkey,
          value: toJsonValue(checked.value),
          observedAt: rowObservedAt,
          ...(ttl === null ? {} : { ttlMs: ttl * 1000 }),
        });
      }
    }
  });
}

/** A row's outcome; `outputErrors` carries per-output failures (of a nested query). */
type StepOutcome =
  | (ResolverOutcome & { readonly ok: false })
  | {
      readonly ok: true;
      readonly outputs: Readonly<Record<string, unknown>>;
      readonly outputErrors?: Readonly<Record<string, QueryError>>;
    };

function featureTimeParam(step: ResolverStep): string {
  return step.outputs.find((output) => output.fqn === step.featureTime)?.param ?? '\0';
}

async function callRuntime(
  step: ResolverStep,
  callRows: Record<string, unknown>[],
  context: CallContext,
  query: EngineQuery,
  deps: ExecutionDeps,
): Promise<StepOutcome[]> {
  const { resolver } = step;
  // An uploaded feature has nothing to compute it: what the online store did not have is its default, or
  // no resolver found, as when nothing was ever uploaded.
  if (step.kind === 'stored') return callRows.map(() => storedMiss(step));
  // A streaming resolver runs on its topic, not in a query: what the online store did not have is null.
  if (resolver.stream) {
    const outputs = Object.fromEntries(step.outputs.map((output) => [output.param, null]));
    return callRows.map(() => ({ ok: true, outputs }));
  }
  const remaining = query.deadline === undefined ? undefined : Math.max(1, query.deadline - Date.now());
  const timeoutMs =
    resolver.timeoutMs === undefined
      ? remaining
      : Math.min(resolver.timeoutMs, remaining ?? Number.POSITIVE_INFINITY);
  try {
    return await deps.runtime.call(
      { resolver: resolver.fqn, rows: callRows, context, timeoutMs },
      query.signal,
    );
  } catch (thrown) {
    const error = {
      kind: 'RuntimeError',
      message: thrown instanceof Error ? thrown.message : String(thrown),
      stacktrace: '',
    };
    return callRows.map(() => ({ ok: false, error }));
  }
}

function storedMiss(step: ResolverStep): StepOutcome {
  const output = step.outputs[0]!;
  const { feature } = output;
  if (feature.kind === 'scalar' && feature.default !== undefined)
    return { ok: true, outputs: { [output.param]: null } };
  return {
    ok: true,
    outputs: {},
    outputErrors: {
      [output.param]: {
        code: 'RESOLVER_NOT_FOUND',
        category: 'REQUEST',
        feature: output.fqn,
        message: `No resolver found for '${output.fqn}' in this query's scope, and the online store holds no value for it`,
      },
    },
  };
}

/**
 * A data-frame resolver is called once (without inputs) and its rows are joined to the query's rows by
 * primary key; an entity it does not return gets nulls (a left outer join).
 */
async function joinDataFrame(
  step: ResolverStep,
  pending: readonly number[],
  state: QueryState,
  context: CallContext,
  query: EngineQuery,
  deps: ExecutionDeps,
  prefetched: Prefetched,
): Promise<StepOutcome[]> {
  const fetched = await fetchDataFrame(
    step.resolver.fqn,
    step.resolver.dataframe!,
    step,
    context,
    query,
    deps,
    prefetched,
  );
  if (!fetched.ok) return pending.map(() => fetched);
  const pkParam = step.outputs.find((output) => output.fqn === step.primaryKey)?.param ?? '';
  const byKey = new Map(fetched.rows.map((row) => [String(row[pkParam]), row]));
  const pkeys = state.valuesOf(step.primaryKey) ?? [];
  return pending.map((row) => {
    const found = byKey.get(String(pkeys[row]));
    return {
      ok: true,
      outputs: Object.fromEntries(
        step.outputs.map((output) => [output.param, found?.[output.param] ?? null]),
      ),
    };
  });
}

async function fetchDataFrame(
  fqn: string,
  param: string,
  step: Pick<ResolverStep, 'resolver'>,
  context: CallContext,
  query: EngineQuery,
  deps: ExecutionDeps,
  prefetched: Prefetched,
): Promise<{ ok: true; rows: readonly Record<string, unknown>[] } | (ResolverOutcome & { ok: false })> {
  const known = prefetched.get(fqn);
  if (known) return { ok: true, rows: known };
  const [outcome] = await callRuntime(step as ResolverStep, [{}], context, query, deps);
  if (!outcome!.ok) return outcome as ResolverOutcome & { ok: false };
  const rows = outcome!.outputs[param];
  if (!Array.isArray(rows) || rows.some((row) => typeof row !== 'object' || row === null))
    return {
      ok: false,
      error: {
        kind: 'TypeError',
        message: `${fqn} must return an array of row objects as '${param}'`,
        stacktrace: '',
      },
    };
  prefetched.set(fqn, rows);
  return { ok: true, rows };
}

/** Evaluates an expression step in process: no user code runs. */
function evaluateExpression(
  step: ResolverStep,
  callRows: readonly Record<string, unknown>[],
  context: CallContext,
): StepOutcome[] {
  const program = compileExpression(step.expression!.node);
  const seconds = step.expression!.windowSeconds;
  // "all" looks back 100 years, as the seed product does.
  const windowMs =
    seconds === undefined ? null : seconds === null ? 100 * 365.25 * 86_400_000 : seconds * 1000;
  const windowStart = windowMs === null ? null : new Date(context.now.getTime() - windowMs);
  return callRows.map((inputs) => {
    try {
      const value = program({
        feature: (fqn) => inputs[fqn] ?? null,
        rows: (relation) => (inputs[relation] as Record<string, unknown>[] | undefined) ?? [],
        now: context.now,
        windowStart,
      });
      return { ok: true, outputs: { value } };
    } catch (thrown) {
      return { ok: false, error: describeException(thrown) };
    }
  });
}

/**
 * Follows a has-one relationship: one nested query in the related namespace over every row at once, whose
 * inputs are the join's foreign features set to this row's local values. A row whose join key is missing
 * gets nulls (an optional relationship) or an error.
 */
async function traverse(
  step: ResolverStep,
  callRows: readonly Record<string, unknown>[],
  query: EngineQuery,
  deps: ExecutionDeps,
): Promise<StepOutcome[]> {
  const relation = step.traversal!;
  const keyed: number[] = [];
  const outcomes: StepOutcome[] = callRows.map((inputs, i) => {
    if (relation.join.some((pair) => inputs[pair.foreign] === null || inputs[pair.foreign] === undefined)) {
      if (relation.optional) return { ok: true, outputs: {} };
      return {
        ok: false,
        error: { kind: 'LookupError', message: `${relation.fqn}: the join key is missing`, stacktrace: '' },
      };
    }
    keyed.push(i);
    return { ok: true, outputs: {} };
  });
  if (keyed.length === 0) return outcomes;
  const nested = await executeQuery(
    {
      ...query,
      inputs: Object.fromEntries(
        relation.join.map((pair) => [pair.foreign, keyed.map((i) => callRows[i]![pair.foreign])]),
      ),
      outputs: step.outputs.map((output) => output.param),
      staleness: undefined,
    },
    deps,
  );
  const requestError = nested.errors.find((error) => error.category === 'REQUEST');
  keyed.forEach((callIndex, nestedRow) => {
    const outputs: Record<string, unknown> = {};
    const outputErrors: Record<string, QueryError> = {};
    for (const output of step.outputs) {
      const column = nested.columns.find((c) => c.fqn === output.param);
      const error = column?.errors[nestedRow] ?? (column ? null : (requestError ?? null));
      if (error) outputErrors[output.param] = error;
      else outputs[output.param] = column?.values[nestedRow] ?? null;
    }
    outcomes[callIndex] = { ok: true, outputs, outputErrors };
  });
  return outcomes;
}

function shouldCache(feature: FeatureSpec, value: unknown): boolean {
  if (feature.kind !== 'scalar') return false;
  if (value === null) return feature.cacheNulls;
  if (feature.default !== undefined && JSON.stringify(toJsonValue(value)) === JSON.stringify(feature.default))
    return feature.cacheDefaults;
  return true;
}

/** Checks a resolver's output against its feature: presence, type, nullability and validations. */
function checkOutput(
  feature: FeatureSpec,
  value: unknown,
  param: string,
  index: GraphIndex,
): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (value === undefined)
    return { ok: false, reason: `the resolver returned no '${param}' (${feature.fqn})` };
  const coerced = coerceFeatureValue(feature, value, index);
  if (!coerced.ok) return { ok: false, reason: `${feature.fqn}: ${coerced.reason}` };
  if (feature.kind !== 'scalar') return coerced;
  if (coerced.value === null && !feature.nullable)
    return { ok: false, reason: `${feature.fqn} is not nullable, but the resolver returned null` };
  const violation = validationFailure(feature, coerced.value);
  return violation && feature.validations?.strict
    ? { ok: false, reason: `${feature.fqn}: ${violation}` }
    : coerced;
}

function validationFailure(feature: ScalarFeatureSpec, value: unknown): string | null {
  const rules = feature.validations;
  if (!rules || value === null) return null;
  if (typeof value === 'number') {
    if (rules.min !== undefined && value < rules.min) return `${value} is below the minimum ${rules.min}`;
    if (rules.max !== undefined && value > rules.max) return `${value} is above the maximum ${rules.max}`;
  }
  const length = typeof value === 'string' || Array.isArray(value) ? value.length : undefined;
  if (length !== undefined) {
    if (rules.minLength !== undefined && length < rules.minLength)
      return `length ${length} is below the minimum ${rules.minLength}`;
    if (rules.maxLength !== undefined && length > rules.maxLength)
      return `length ${length} is above the maximum ${rules.maxLength}`;
  }
  return null;
}

/**
 * Prepares has-many inputs: each row's related rows, narrowed to the features the resolver asked for.
 * Features the relation's rows lack are computed by a nested query over all related rows at once.
 */
async function fillHasManyInputs(
  step: ResolverStep,
  state: QueryState,
  query: EngineQuery,
  deps: ExecutionDeps,
): Promise<{ rows: Map<string, Record<string, unknown>[]>; errors: Map<string, QueryError> }> {
  const rows = new Map<string, Record<string, unknown>[]>();
  const errors = new Map<string, QueryError>();
  for (const sub of step.subqueries) {
    const parents = state.valuesOf(sub.relation) ?? [];
    const names = sub.features.map((fqn) => fqn.slice(sub.target.length + 1));
    const flat: Record<string, unknown>[] = [];
    const owner: number[] = [];
    parents.forEach((related, row) => {
      for (const child of (related as Record<string, unknown>[] | null) ?? []) {
        flat.push(child);
        owner.push(row);
      }
    });
    const missing = names.filter((name) => flat.some((child) => !(name in child)));
    if (missing.length > 0 && flat.length > 0) {
      const target = deps.planner.index.namespaces.get(sub.target)!;
      const pkName = target.primaryKey.slice(sub.target.length + 1);
      const nested = await executeQuery(
        {
          ...query,
          inputs: { [target.primaryKey]: flat.map((child) => child[pkName]) },
          outputs: missing.map((name) => `${sub.target}.${name}`),
        },
        deps,
      );
      for (const column of nested.columns) {
        const name = column.fqn.slice(sub.target.length + 1);
        column.values.forEach((value, i) => {
          flat[i] = { ...flat[i], [name]: value };
          const error = column.errors[i];
          if (error) errors.set(`${sub.param}:${owner[i]}`, error);
        });
      }
      for (const error of nested.errors.filter((e) => e.category === 'REQUEST')) {
        for (let row = 0; row < parents.length; row++) errors.set(`${sub.param}:${row}`, error);
      }
    }
    for (let row = 0; row < parents.length; row++) rows.set(`${sub.param}:${row}`, []);
    flat.forEach((child, i) => {
      rows
        .get(`${sub.param}:${owner[i]}`)!
        .push(Object.fromEntries(names.map((name) => [name, child[name] ?? null])));
    });
  }
  return { rows, errors };
}

/** Plans (through the planner's cache) and executes a query. */
export async function executeQuery(
  query: EngineQuery,
  deps: ExecutionDeps,
  prefetched: Prefetched = new Map(),
): Promise<EngineResult> {
  const { plan, cacheHit } = deps.planner.plan({
    inputs: Object.keys(query.inputs),
    outputs: query.outputs,
    kind: query.kind ?? 'online',
    tags: query.tags ?? [],
    requiredResolverTags: query.requiredResolverTags ?? [],
    staleness: query.staleness ?? {},
  });
  if (plan.errors.length > 0) {
    return {
      rowCount: rowCountOf(query),
      columns: [],
      errors: [...plan.errors],
      queryHash: null,
      planCacheHit: cacheHit,
      explain: plan.explain,
      warnings: [...plan.warnings],
    };
  }
  if (plan.rowSource) return queryEveryEntity(plan, plan.rowSource, query, deps, prefetched);
  const single =
    deps.singleRowPlans !== false && deps.onlineStore
      ? singleRowPlanOf(plan, deps.planner.index, cacheReadsOf(plan))
      : undefined;
  const pkeys = single && compiledRowKeys(single, query.inputs);
  if (single && pkeys !== undefined) {
    // The one read the general executor would make, then either the answer straight from it or, when a
    // step must compute, the general executor over the values already read (same query time).
    const now = query.now ?? new Date();
    const stored = await deps.onlineStore!.get(deps.environment, compiledRowReads(single, pkeys));
    const answer = answerCompiledRows(single, plan, pkeys, stored, now.getTime());
    if (answer) return { ...answer, planCacheHit: cacheHit };
    return {
      ...(await executePlan(plan, { ...query, now }, deps, prefetched, stored)),
      planCacheHit: cacheHit,
    };
  }
  return { ...(await executePlan(plan, query, deps, prefetched)), planCacheHit: cacheHit };
}

/**
 * A query without inputs, answered by a `total` data-frame resolver: one row per entity it returns, the
 * rest of the features computed as if the primary keys had been given.
 */
async function queryEveryEntity(
  plan: Plan,
  source: NonNullable<Plan['rowSource']>,
  query: EngineQuery,
  deps: ExecutionDeps,
  prefetched: Prefetched,
): Promise<EngineResult> {
  const context: CallContext = {
    now: query.now ?? new Date(),
    environment: deps.environment,
    deploymentId: deps.deploymentId,
    tags: query.tags ?? [],
    queryContext: query.queryContext ?? {},
  };
  const fetched = await fetchDataFrame(
    source.fqn,
    source.dataframe!,
    { resolver: source },
    context,
    query,
    deps,
    prefetched,
  );
  const namespace = deps.planner.index.namespaces.get(source.namespace)!;
  if (!fetched.ok) {
    const error: QueryError = {
      code: fetched.timedOut ? 'RESOLVER_TIMED_OUT' : 'RESOLVER_FAILED',
      category: 'REQUEST',
      resolver: source.fqn,
      message: `Resolver ${source.fqn} failed: ${fetched.error.message}`,
      exception: fetched.error,
    };
    return {
      rowCount: 0,
      columns: [],
      errors: [error],
      queryHash: plan.hash,
      planCacheHit: true,
      explain: plan.explain,
      warnings: [...plan.warnings],
    };
  }
  const pkParam = source.outputs.find((output) => output.fqn === namespace.primaryKey)?.param ?? '';
  const result = await executeQuery(
    { ...query, inputs: { [namespace.primaryKey]: fetched.rows.map((row) => row[pkParam] ?? null) } },
    deps,
    prefetched,
  );
  return { ...result, explain: `${plan.explain}\n${result.explain}` };
}

function assemble(plan: Plan, state: QueryState, index: GraphIndex): Omit<EngineResult, 'planCacheHit'> {
  const errors: QueryError[] = [];
  const columns: OutputColumn[] = plan.outputs.map((output) => {
    const { feature } = output;
    const column = state.column(output.fqn);
    if (output.kind === 'unresolvable') errors.push(output.error);
    else
      for (const error of column.errors)
        if (error) errors.push(error.feature === output.name ? error : { ...error, feature: output.name });
    if (output.kind === 'default' && feature.kind === 'scalar') {
      const coerced = coerceValue(feature.dtype, feature.default);
      column.values.fill(coerced.ok ? coerced.value : feature.default);
    }
    const kind = feature.kind === 'has_many' ? 'has_many' : 'scalar';
    const spec = index.resolve(output.fqn)?.spec ?? feature;
    return {
      fqn: output.name,
      kind,
      target: feature.kind === 'has_many' ? feature.target : undefined,
      values: column.values,
      observedAt: column.observedAt,
      errors:
        output.kind === 'unresolvable'
          ? column.values.map(() => output.error)
          : column.errors.map((error) =>
              error && error.feature !== output.name ? { ...error, feature: output.name } : error,
            ),
      cacheHits: column.cacheHits,
      resolver:
        output.kind === 'step' && plan.steps[output.step]!.kind !== 'stored'
          ? plan.steps[output.step]!.resolver.fqn
          : null,
      primitiveType:
        feature.kind === 'scalar'
          ? primitiveTypeOf(feature.dtype)
          : feature.kind === 'has_many'
            ? "<class 'chalk.DataFrame'>"
            : null,
      version: spec.kind === 'scalar' ? spec.version : 1,
    };
  });
  return {
    rowCount: state.rowCount,
    columns,
    errors,
    queryHash: plan.hash,
    explain: plan.explain,
    warnings: [...plan.warnings],
  };
}
