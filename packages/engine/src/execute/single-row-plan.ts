import type { DType, ScalarFeatureSpec } from '@slate/graph';
import type { OnlineKey, StoredValue } from '@slate/stores';
import type { Plan } from '../plan/plan.ts';
import type { GraphIndex } from '../plan/planner.ts';
import type { EngineResult, OutputColumn } from '../query.ts';
import { coerceValue, primitiveTypeOf } from '../values.ts';

/**
 * A plan compiled for the online path's everyday query: one row, one input (the entity's primary key), and
 * every step's values readable from the online store. Fixed per plan: the features to read (in the order
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
 * The plan compiled for one-row queries, or `undefined` when its shape needs the general executor: request
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
  const readMaxAgeMs: (number | null)[] = [];
  const readOf = new Map<string, number>();
  for (const { step, needed } of reads) {
    if (step.primaryKey !== inputFqn || step.subqueries.length > 0) return undefined;
    if (step.inputs.some((input) => input.type !== 'feature')) return undefined;
    for (const fqn of needed) {
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
    readMaxAgeMs,
    outputs,
  };
}

/** The coerced primary key of a one-row query, or `undefined` when the general executor must judge it. */
export function singleRowKey(
  compiledPlan: SingleRowPlan,
  inputs: Readonly<Record<string, readonly unknown[]>>,
): string | number | undefined {
  const column = inputs[compiledPlan.inputName];
  if (column?.length !== 1) return undefined;
  const coerced = coerceValue(compiledPlan.inputType, column[0]);
  if (!coerced.ok) return undefined;
  const pkey = coerced.value;
  return typeof pkey === 'string' || typeof pkey === 'number' ? pkey : undefined;
}

/** The online-store keys of a one-row query: the plan's features, for one primary key. */
export function singleRowKeys(compiledPlan: SingleRowPlan, pkey: string | number): OnlineKey[] {
  const { features } = compiledPlan;
  const keys = new Array<OnlineKey>(features.length);
  for (let i = 0; i < features.length; i++) keys[i] = { feature: features[i]!, pkey };
  return keys;
}

/**
 * The result of a one-row query whose every read came back fresh — what the general executor would answer
 * from the same values, built in one pass — or `undefined` when some step has a stale or missing value
 * and must compute (the caller hands the same values to the general executor).
 */
export function answerSingleRow(
  compiledPlan: SingleRowPlan,
  plan: Plan,
  pkey: string | number,
  stored: readonly (StoredValue | null)[],
  nowMs: number,
): Omit<EngineResult, 'planCacheHit'> | undefined {
  const { readMaxAgeMs } = compiledPlan;
  if (stored.length !== readMaxAgeMs.length) return undefined;
  for (let i = 0; i < stored.length; i++) {
    const value = stored[i];
    // A value observed after the query's time is never returned (point-in-time correctness).
    if (!value || value.observedAt > nowMs) return undefined;
    const maxAge = readMaxAgeMs[i]!;
    if (maxAge !== null && nowMs - value.observedAt > maxAge) return undefined;
  }
  const columns = new Array<OutputColumn>(compiledPlan.outputs.length);
  for (let i = 0; i < compiledPlan.outputs.length; i++) {
    const output = compiledPlan.outputs[i]!;
    let value: unknown = null;
    let observedAt: number | null = null;
    let hit = false;
    if (output.kind === 'input') value = pkey;
    else if (output.kind === 'default') value = output.value;
    else {
      const read = stored[output.read]!;
      const coerced = coerceValue(output.dtype, read.value);
      value = coerced.ok ? coerced.value : null;
      observedAt = read.observedAt;
      hit = true;
    }
    columns[i] = {
      fqn: output.name,
      kind: 'scalar',
      target: undefined,
      values: [value],
      observedAt: [observedAt],
      errors: [null],
      cacheHits: [hit],
      resolver: output.resolver,
      primitiveType: output.primitiveType,
      version: output.version,
    };
  }
  return {
    rowCount: 1,
    columns,
    errors: [],
    queryHash: plan.hash,
    explain: plan.explain,
    warnings: [...plan.warnings],
  };
}
