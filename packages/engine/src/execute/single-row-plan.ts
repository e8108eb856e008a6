import type { DType, ScalarFeatureSpec } from '@slate/graph';
import type { OnlineKey, StoredValue } from '@slate/stores';
import type { Plan } from '../plan/plan.ts';
import type { GraphIndex } from '../plan/planner.ts';
import type { EngineResult, OutputColumn } from '../query.ts';
import { coerceValue, primitiveTypeOf } from '../values.ts';

/**
 * A plan compiled for the online path's everyday query: one input (the entity's primary key; one row, or
 * many for a bulk query), and every step's values readable from the online store. Fixed per plan: the features to read (in the order
 * the general executor reads them, so a miss hands the same read over), each read's staleness bound and
 * step, and each output's column layout.
 */
export interface SingleRowPlan {
  /** The input's name in the query and its canonical FQN. */
  readonly inputName: string;
  readonly inputFqn: string;
  readonly inputType: DType;
  /** Online-store features read, in the general executor's order (`cacheReadsOf`: step by step). */
  readonly features: readonly string[];
  /** Per read: its step's index and the value's max staleness in ms (`null`: forever). */
  readonly readSteps: readonly number[];
  /**
   * Per read: where its step's reads start in `features`. The general executor reads step by step, and
   * within a step row by row, so over `n` rows read `r` of row `row` is key
   * `readStart[r] * n + row * (size of its step's reads) + (r - readStart[r])`.
   */
  readonly readStart: readonly number[];
  readonly readGroupSize: readonly number[];
  readonly readMaxAgeMs: readonly (number | null)[];
  /** Per plan output: how its column is built once every read is fresh. */
  readonly outputs: readonly CompiledOutput[];
}

type CompiledOutput =
  | (OutputBase & { readonly kind: 'input' })
  | (OutputBase & { readonly kind: 'read'; readonly read: number; readonly dtype: DType })
  | (OutputBase & { readonly kind: 'default'; readonly value: unknown });

interface OutputBase {
  readonly name: string;
  readonly resolver: string | null;
  readonly primitiveType: string;
  readonly version: number;
}

const compiled = new WeakMap<Plan, SingleRowPlan | null>();

/**
 * The plan compiled for primary-key queries, or `undefined` when its shape needs the general executor: request
 * errors, a row source, several inputs, has-many or struct outputs, unresolvable outputs, steps that always
 * compute (max staleness 0), steps keyed by another entity, or has-many inputs. Compiled once per plan (the
 * planner caches plans per query shape, so this is per deployment, outputs and input names).
 */
export function singleRowPlanOf(
  plan: Plan,
  index: GraphIndex,
  reads: readonly { readonly step: Plan['steps'][number]; readonly needed: readonly string[] }[],
): SingleRowPlan | undefined {
  let entry = compiled.get(plan);
  if (entry === undefined) {
    entry = compile(plan, index, reads) ?? null;
    compiled.set(plan, entry);
  }
  return entry ?? undefined;
}

function compile(
  plan: Plan,
  index: GraphIndex,
  reads: readonly { readonly step: Plan['steps'][number]; readonly needed: readonly string[] }[],
): SingleRowPlan | undefined {
  if (plan.errors.length > 0 || plan.rowSource || plan.inputs.size !== 1) return undefined;
  const [[inputName, inputFqn]] = [...plan.inputs] as [[string, string]];
  const inputSpec = index.resolve(inputFqn)?.spec;
  if (inputSpec?.kind !== 'scalar' || inputSpec.fqn !== inputFqn) return undefined;
  // Every step must be one the general executor may serve from the online store, for this input's entity.
  if (reads.length !== plan.steps.length) return undefined;
  const features: string[] = [];
  const readSteps: number[] = [];
  const readStart: number[] = [];
  const readGroupSize: number[] = [];
  const readMaxAgeMs: (number | null)[] = [];
  const readOf = new Map<string, number>();
  for (const { step, needed } of reads) {
    if (step.primaryKey !== inputFqn || step.subqueries.length > 0) return undefined;
    if (step.inputs.some((input) => input.type !== 'feature')) return undefined;
    const start = features.length;
    for (const fqn of needed) {
      readStart.push(start);
      readGroupSize.push(needed.length);
      const maxStaleness = step.maxStalenessS.get(fqn);
      if (maxStaleness === undefined || maxStaleness === 0) return undefined;
      readOf.set(fqn, features.length);
      features.push(fqn);
      readSteps.push(step.index);
      readMaxAgeMs.push(maxStaleness === null ? null : maxStaleness * 1000);
    }
  }
  const outputs: CompiledOutput[] = [];
  for (const output of plan.outputs) {
    const { feature } = output;
    if (feature.kind !== 'scalar') return undefined;
    const spec = index.resolve(output.fqn)?.spec ?? feature;
    const base = {
      name: output.name,
      primitiveType: primitiveTypeOf(feature.dtype),
      version: spec.kind === 'scalar' ? spec.version : 1,
    };
    switch (output.kind) {
      case 'input':
        if (output.fqn !== inputFqn) return undefined;
        outputs.push({ ...base, kind: 'input', resolver: null });
        break;
      case 'step': {
        const step = plan.steps[output.step]!;
        const read = readOf.get(output.fqn);
        const produced = step.outputs.find((o) => o.fqn === output.fqn)?.feature;
        if (read === undefined || produced?.kind !== 'scalar' || readSteps[read] !== step.index)
          return undefined;
        outputs.push({
          ...base,
          kind: 'read',
          read,
          dtype: produced.dtype,
          resolver: step.kind === 'stored' ? null : step.resolver.fqn,
        });
        break;
      }
      case 'default': {
        const coerced = coerceValue(feature.dtype, feature.default);
        outputs.push({
          ...base,
          kind: 'default',
          value: coerced.ok ? coerced.value : feature.default,
          resolver: null,
        });
        break;
      }
      default:
        return undefined;
    }
  }
  return {
    inputName,
    inputFqn,
    inputType: (inputSpec as ScalarFeatureSpec).dtype,
    features,
    readSteps,
    readStart,
    readGroupSize,
    readMaxAgeMs,
    outputs,
  };
}

/**
 * The coerced primary keys of a query's rows (one or more), or `undefined` when the general executor must
 * judge them (a key that does not coerce to a string or number, or no rows).
 */
export function compiledRowKeys(
  compiledPlan: SingleRowPlan,
  inputs: Readonly<Record<string, readonly unknown[]>>,
): (string | number)[] | undefined {
  const column = inputs[compiledPlan.inputName];
  if (column === undefined || column.length === 0) return undefined;
  const pkeys = new Array<string | number>(column.length);
  for (let row = 0; row < column.length; row++) {
    const coerced = coerceValue(compiledPlan.inputType, column[row]);
    if (!coerced.ok) return undefined;
    const pkey = coerced.value;
    if (typeof pkey !== 'string' && typeof pkey !== 'number') return undefined;
    pkeys[row] = pkey;
  }
  return pkeys;
}

/**
 * The online-store keys of a compiled query, in the order the general executor reads them (step by step,
 * row by row), so that a miss hands the values read over unchanged.
 */
export function compiledRowReads(
  compiledPlan: SingleRowPlan,
  pkeys: readonly (string | number)[],
): OnlineKey[] {
  const { features, readGroupSize } = compiledPlan;
  const keys = new Array<OnlineKey>(features.length * pkeys.length);
  let at = 0;
  for (let start = 0; start < features.length; start += readGroupSize[start]!) {
    const end = start + readGroupSize[start]!;
    for (let row = 0; row < pkeys.length; row++) {
      const pkey = pkeys[row]!;
      for (let read = start; read < end; read++) keys[at++] = { feature: features[read]!, pkey };
    }
  }
  return keys;
}

/**
 * The result of a compiled query whose every read came back fresh — what the general executor would answer
 * from the same values, built in one pass — or `undefined` when some step has a stale or missing value
 * for some row and must compute (the caller hands the same values to the general executor).
 */
export function answerCompiledRows(
  compiledPlan: SingleRowPlan,
  plan: Plan,
  pkeys: readonly (string | number)[],
  stored: readonly (StoredValue | null)[],
  nowMs: number,
): Omit<EngineResult, 'planCacheHit'> | undefined {
  const { readMaxAgeMs, readStart, readGroupSize } = compiledPlan;
  const rows = pkeys.length;
  if (stored.length !== readMaxAgeMs.length * rows) return undefined;
  for (let i = 0; i < stored.length; i++) {
    const value = stored[i];
    // A value observed after the query's time is never returned (point-in-time correctness).
    if (!value || value.observedAt > nowMs) return undefined;
  }
  for (let read = 0; read < readMaxAgeMs.length; read++) {
    const maxAge = readMaxAgeMs[read]!;
    if (maxAge === null) continue;
    const first = readStart[read]! * rows + (read - readStart[read]!);
    const stride = readGroupSize[read]!;
    for (let row = 0, at = first; row < rows; row++, at += stride)
      if (nowMs - stored[at]!.observedAt > maxAge) return undefined;
  }
  const columns = new Array<OutputColumn>(compiledPlan.outputs.length);
  for (let i = 0; i < compiledPlan.outputs.length; i++) {
    const output = compiledPlan.outputs[i]!;
    const values = new Array<unknown>(rows);
    const observedAt = new Array<number | null>(rows);
    const errors = new Array<null>(rows).fill(null);
    const cacheHits = new Array<boolean>(rows).fill(output.kind === 'read');
    if (output.kind === 'read') {
      const { dtype, read } = output;
      const first = readStart[read]! * rows + (read - readStart[read]!);
      const stride = readGroupSize[read]!;
      for (let row = 0, at = first; row < rows; row++, at += stride) {
        const value = stored[at]!;
        values[row] = storedAs(dtype, value.value);
        observedAt[row] = value.observedAt;
      }
    } else {
      for (let row = 0; row < rows; row++) {
        values[row] = output.kind === 'input' ? pkeys[row] : output.value;
        observedAt[row] = null;
      }
    }
    columns[i] = {
      fqn: output.name,
      kind: 'scalar',
      target: undefined,
      values,
      observedAt,
      errors,
      cacheHits,
      resolver: output.resolver,
      primitiveType: output.primitiveType,
      version: output.version,
    };
  }
  return {
    rowCount: rows,
    columns,
    errors: [],
    queryHash: plan.hash,
    explain: plan.explain,
    warnings: [...plan.warnings],
  };
}

/** A stored value as the feature's type (`null` when it no longer fits); numbers of the right kind as they are. */
function storedAs(dtype: DType, value: unknown): unknown {
  if (typeof value === 'number') {
    if (dtype.type === 'float' && !Number.isNaN(value)) return value;
    if (dtype.type === 'int' && Number.isInteger(value)) return value;
  }
  const coerced = coerceValue(dtype, value);
  return coerced.ok ? coerced.value : null;
}
