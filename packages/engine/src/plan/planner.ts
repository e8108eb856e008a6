import { createHash } from 'node:crypto';
import {
  type FeatureSpec,
  type GraphArtifact,
  type NamespaceSpec,
  parseDuration,
  type ResolverSpec,
  SlateError,
} from '@slate/graph';
import type { QueryError } from '../query.ts';
import type { HasManySubquery, Plan, PlannedOutput, ResolverStep } from './plan.ts';

/** The parts of a query that decide its plan; equal shapes share one cached plan. */
export interface QueryShape {
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly kind: 'online' | 'offline';
  readonly tags: readonly string[];
  readonly requiredResolverTags: readonly string[];
  readonly staleness: Readonly<Record<string, string>>;
}

export interface Planner {
  /** The plan for a shape, from the cache when this shape was planned before. */
  plan(shape: QueryShape): { plan: Plan; cacheHit: boolean };
  /** Features, namespaces and producers of the graph, indexed. */
  readonly index: GraphIndex;
}

export interface GraphIndex {
  readonly features: ReadonlyMap<string, FeatureSpec>;
  readonly namespaces: ReadonlyMap<string, NamespaceSpec>;
  readonly producers: ReadonlyMap<string, readonly ResolverSpec[]>;
}

/** Indexes a graph for planning: every lookup the planner makes is a map hit. */
export function indexGraph(graph: GraphArtifact): GraphIndex {
  const features = new Map<string, FeatureSpec>();
  const namespaces = new Map<string, NamespaceSpec>();
  for (const ns of graph.namespaces) {
    namespaces.set(ns.name, ns);
    for (const feature of ns.features) features.set(feature.fqn, feature);
  }
  const producers = new Map<string, ResolverSpec[]>();
  for (const resolver of graph.resolvers) {
    for (const output of resolver.outputs)
      producers.set(output.fqn, [...(producers.get(output.fqn) ?? []), resolver]);
  }
  return { features, namespaces, producers };
}

/**
 * Creates the planner of one deployment in one environment. Plans are cached by query shape (at most
 * `cacheSize`, least recently used evicted), so a repeated shape is never planned again.
 *
 * @example
 * const planner = createPlanner(artifact, { environment: 'dev' });
 * const { plan } = planner.plan({ inputs: ['user.id'], outputs: ['user.name'], kind: 'online', tags: [], requiredResolverTags: [], staleness: {} });
 */
export function createPlanner(
  graph: GraphArtifact,
  options: { environment: string; environmentNames?: readonly string[]; cacheSize?: number },
): Planner {
  const index = indexGraph(graph);
  const environments = new Set([options.environment, ...(options.environmentNames ?? [])]);
  const cacheSize = options.cacheSize ?? 1_000;
  const cache = new Map<string, Plan>();
  return {
    index,
    plan(shape) {
      const key = shapeKey(shape);
      const cached = cache.get(key);
      if (cached) {
        cache.delete(key);
        cache.set(key, cached);
        return { plan: cached, cacheHit: true };
      }
      const plan = buildPlan(index, environments, shape);
      cache.set(key, plan);
      if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
      return { plan, cacheHit: false };
    },
  };
}

function shapeKey(shape: QueryShape): string {
  return JSON.stringify([
    [...shape.inputs].sort(),
    shape.outputs,
    shape.kind,
    [...shape.tags].sort(),
    [...shape.requiredResolverTags].sort(),
    Object.entries(shape.staleness).sort(),
  ]);
}

type Resolution = { ok: true; step: number | null } | { ok: false; error: QueryError };

function buildPlan(index: GraphIndex, environments: ReadonlySet<string>, shape: QueryShape): Plan {
  const errors: QueryError[] = [];
  for (const fqn of shape.inputs) {
    if (!index.features.has(fqn)) {
      errors.push({
        code: 'PARSE_FAILED',
        category: 'REQUEST',
        feature: fqn,
        message: `Query input referenced undefined feature '${fqn}'`,
      });
    }
  }
  for (const fqn of shape.outputs) {
    if (!index.features.has(fqn)) {
      errors.push({
        code: 'PARSE_FAILED',
        category: 'REQUEST',
        feature: fqn,
        message: `Query output referenced undefined feature '${fqn}'`,
      });
    }
  }
  const staleness = new Map<string, number | null>();
  for (const [fqn, text] of Object.entries(shape.staleness)) {
    try {
      staleness.set(fqn, parseDuration(text));
    } catch (error) {
      if (!(error instanceof SlateError)) throw error;
      errors.push({
        code: 'INVALID_QUERY',
        category: 'REQUEST',
        feature: fqn,
        message: `staleness for '${fqn}': ${error.message}`,
      });
    }
  }
  if (errors.length > 0) {
    return {
      hash: '',
      steps: [],
      outputs: [],
      errors,
      unresolvable: new Map(),
      explain: errors.map((e) => e.message).join('\n'),
    };
  }

  const inputs = new Set(shape.inputs);
  const steps: ResolverStep[] = [];
  const stepByResolver = new Map<string, number>();
  const memo = new Map<string, Resolution>();
  const visiting = new Set<string>();

  const inScope = (resolver: ResolverSpec): boolean =>
    (shape.kind === 'offline' || resolver.kind === 'online') &&
    (resolver.environments.length === 0 || resolver.environments.some((env) => environments.has(env))) &&
    resolver.tags.every((tag) => shape.tags.some((given) => given === tag || given.startsWith(`${tag}:`))) &&
    shape.requiredResolverTags.every((tag) => resolver.tags.includes(tag));

  // More specific resolvers win: environment-bound over generic, tagged over untagged, and the query's kind.
  const specificity = (resolver: ResolverSpec): number =>
    (resolver.environments.length > 0 ? 4 : 0) +
    (resolver.tags.length > 0 ? 2 : 0) +
    (resolver.kind === shape.kind ? 1 : 0);

  const resolve = (fqn: string): Resolution => {
    if (inputs.has(fqn)) return { ok: true, step: null };
    const known = memo.get(fqn);
    if (known) return known;
    if (visiting.has(fqn)) {
      return {
        ok: false,
        error: {
          code: 'RESOLVER_NOT_FOUND',
          category: 'REQUEST',
          feature: fqn,
          message: `No resolver found for '${fqn}': its resolvers depend on it`,
        },
      };
    }
    visiting.add(fqn);
    const candidates = (index.producers.get(fqn) ?? [])
      .filter(inScope)
      .sort((a, b) => specificity(b) - specificity(a));
    let result: Resolution = {
      ok: false,
      error: {
        code: 'RESOLVER_NOT_FOUND',
        category: 'REQUEST',
        feature: fqn,
        message: `No resolver found for '${fqn}' in this query's scope`,
      },
    };
    for (let i = 0; i < candidates.length; i++) {
      const resolver = candidates[i]!;
      const step = planStep(resolver);
      if (typeof step !== 'number') {
        result = {
          ok: false,
          error: { ...step, feature: fqn, message: `No resolver found for '${fqn}': ${step.message}` },
        };
        continue;
      }
      const rival = candidates
        .slice(i + 1)
        .find((other) => specificity(other) === specificity(resolver) && typeof planStep(other) === 'number');
      result = rival
        ? {
            ok: false,
            error: {
              code: 'INVALID_QUERY',
              category: 'REQUEST',
              feature: fqn,
              message: `Ambiguous resolvers for '${fqn}': ${resolver.fqn} and ${rival.fqn} are both in scope`,
            },
          }
        : { ok: true, step };
      break;
    }
    visiting.delete(fqn);
    memo.set(fqn, result);
    return result;
  };

  const planStep = (resolver: ResolverSpec): number | QueryError => {
    const existing = stepByResolver.get(resolver.fqn);
    if (existing !== undefined) return existing;
    const dependsOn = new Set<number>();
    const subqueries: HasManySubquery[] = [];
    for (const input of resolver.inputs) {
      const resolution = resolve(input.fqn);
      if (!resolution.ok) {
        return {
          code: 'RESOLVER_NOT_FOUND',
          category: 'REQUEST',
          message: `${resolver.fqn} needs '${input.fqn}', which cannot be resolved`,
        };
      }
      if (resolution.step !== null) dependsOn.add(resolution.step);
      if (input.type === 'has_many') {
        const relation = index.features.get(input.fqn);
        if (relation?.kind === 'has_many') {
          subqueries.push({
            param: input.param,
            relation: input.fqn,
            target: relation.target,
            features: input.features,
          });
        }
      }
    }
    const maxStalenessS = new Map<string, number | null>();
    for (const output of resolver.outputs) {
      const feature = index.features.get(output.fqn);
      const declared = feature?.kind === 'scalar' && feature.storeOnline ? feature.maxStalenessS : 0;
      maxStalenessS.set(output.fqn, staleness.has(output.fqn) ? staleness.get(output.fqn)! : declared);
    }
    const namespace = index.namespaces.get(resolver.namespace);
    const step: ResolverStep = {
      index: steps.length,
      resolver,
      dependsOn: [...dependsOn].sort((a, b) => a - b),
      maxStalenessS,
      primaryKey: namespace?.primaryKey ?? `${resolver.namespace}.id`,
      subqueries,
    };
    steps.push(step);
    stepByResolver.set(resolver.fqn, step.index);
    return step.index;
  };

  const unresolvable = new Map<string, QueryError>();
  const outputs: PlannedOutput[] = shape.outputs.map((fqn) => {
    const feature = index.features.get(fqn)!;
    const resolution = resolve(fqn);
    if (!resolution.ok) {
      unresolvable.set(fqn, resolution.error);
      return { kind: 'unresolvable', feature, error: resolution.error };
    }
    return resolution.step === null
      ? { kind: 'input', feature }
      : { kind: 'step', feature, step: resolution.step };
  });

  const pruned = pruneUnreachable(steps, outputs);
  const structure = JSON.stringify([
    pruned.steps.map((s) => [s.resolver.fqn, s.dependsOn]),
    pruned.outputs.map((o) => [o.feature.fqn, o.kind === 'step' ? o.step : o.kind]),
  ]);
  const hash = createHash('sha256').update(structure).digest('hex').slice(0, 32);
  return {
    hash,
    ...pruned,
    errors: [],
    unresolvable,
    explain: explainPlan(hash, pruned.steps, pruned.outputs),
  };
}

/**
 * Keeps only the steps the outputs need. Planning tries candidates (to check their inputs resolve and to
 * detect ambiguity), which can leave steps no output depends on.
 */
function pruneUnreachable(
  steps: readonly ResolverStep[],
  outputs: readonly PlannedOutput[],
): { steps: ResolverStep[]; outputs: PlannedOutput[] } {
  const reachable = new Set<number>();
  const visit = (index: number) => {
    if (reachable.has(index)) return;
    reachable.add(index);
    for (const dependency of steps[index]!.dependsOn) visit(dependency);
  };
  for (const output of outputs) if (output.kind === 'step') visit(output.step);
  const renumber = new Map([...reachable].sort((a, b) => a - b).map((old, index) => [old, index]));
  const kept = [...renumber.keys()].map((old) => {
    const step = steps[old]!;
    return { ...step, index: renumber.get(old)!, dependsOn: step.dependsOn.map((d) => renumber.get(d)!) };
  });
  return {
    steps: kept,
    outputs: outputs.map((output) =>
      output.kind === 'step' ? { ...output, step: renumber.get(output.step)! } : output,
    ),
  };
}

function explainPlan(
  hash: string,
  steps: readonly ResolverStep[],
  outputs: readonly PlannedOutput[],
): string {
  const lines = [`plan ${hash}: ${steps.length} resolver step(s)`];
  for (const step of steps) {
    const inputs = step.resolver.inputs.map((input) => input.fqn).join(', ');
    const produced = step.resolver.outputs.map((output) => output.fqn).join(', ');
    const after = step.dependsOn.length > 0 ? `  after ${step.dependsOn.map((d) => `[${d}]`).join(' ')}` : '';
    lines.push(`  [${step.index}] ${step.resolver.fqn}(${inputs}) -> ${produced}${after}`);
  }
  lines.push('outputs:');
  for (const output of outputs) {
    const how =
      output.kind === 'input'
        ? 'given as input'
        : output.kind === 'step'
          ? `from [${output.step}]`
          : `${output.error.code}: ${output.error.message}`;
    lines.push(`  ${output.feature.fqn} ${how}`);
  }
  return lines.join('\n');
}
