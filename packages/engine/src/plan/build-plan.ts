import { createHash } from 'node:crypto';
import {
  type ExprNode,
  expressionReads,
  type FeatureSpec,
  formatExpression,
  type HasOneFeatureSpec,
  parseDuration,
  type ResolverSpec,
  type ScalarFeatureSpec,
  SlateError,
} from '@slate/graph';
import type { QueryError } from '../query.ts';
import type { GraphIndex } from './graph-index.ts';
import type { HasManySubquery, Plan, PlannedOutput, ResolverStep, StepInput, StepOutput } from './plan.ts';
import { missingSpec, requestError, suggestFeature } from './plan-errors.ts';
import { explainPlan, pruneUnreachable } from './plan-steps.ts';
import type { QueryShape } from './planner.ts';
import { resolverScope } from './resolver-scope.ts';

type Resolution = { ok: true; step: number | null } | { ok: false; error: QueryError };

/** A step under construction: outputs of traversal steps grow as more paths through it are planned. */
type DraftStep = ResolverStep & {
  outputs: StepOutput[];
  maxStalenessS: Map<string, number | null>;
  writeTtlS: Map<string, number | null>;
};

/**
 * Plans one query shape: resolves its names (plan-errors.ts for what it cannot), chooses a resolver per
 * feature by scope and specificity (resolver-scope.ts), drafts the steps, then keeps those the outputs need
 * (plan-steps.ts). Earned length: one recursive resolution over shared drafts and a memo, kept in one
 * closure so each feature is planned once per shape.
 */
export function buildPlan(index: GraphIndex, environments: ReadonlySet<string>, shape: QueryShape): Plan {
  const errors: QueryError[] = [];
  const warnings = new Set<string>();
  const warnIfDeprecated = (spec: FeatureSpec) => {
    if (spec.kind === 'scalar' && spec.deprecated)
      warnings.add(`Feature '${spec.fqn}' is deprecated${spec.description ? `: ${spec.description}` : ''}`);
  };

  const inputNames = new Map<string, string>();
  for (const name of shape.inputs) {
    const resolved = index.resolve(name);
    if (!resolved) {
      errors.push(
        requestError(
          'PARSE_FAILED',
          name,
          `Query input referenced undefined feature '${name}'${suggestFeature(index, name)}`,
        ),
      );
      continue;
    }
    inputNames.set(name, resolved.fqn);
    warnIfDeprecated(resolved.spec);
  }
  const requested: { name: string; fqn: string; spec: FeatureSpec }[] = [];
  for (const name of shape.outputs) {
    const windows = index.windows(name);
    if (windows) {
      for (const fqn of windows) requested.push({ name: fqn, fqn, spec: index.features.get(fqn)! });
      continue;
    }
    const resolved = index.resolve(name);
    if (!resolved) {
      errors.push(
        requestError(
          'PARSE_FAILED',
          name,
          `Query output referenced undefined feature '${name}'${suggestFeature(index, name)}`,
        ),
      );
      continue;
    }
    requested.push({ name, fqn: resolved.fqn, spec: resolved.spec });
    warnIfDeprecated(resolved.spec);
  }
  const staleness = new Map<string, number | null>();
  for (const [name, text] of Object.entries(shape.staleness)) {
    try {
      const seconds = parseDuration(text);
      const targets = index.windows(name) ?? [index.resolve(name)?.fqn ?? name];
      for (const fqn of targets) staleness.set(fqn, seconds);
    } catch (error) {
      if (!(error instanceof SlateError)) throw error;
      errors.push(requestError('INVALID_QUERY', name, `staleness for '${name}': ${error.message}`));
    }
  }
  if (errors.length > 0) {
    return {
      hash: '',
      steps: [],
      outputs: [],
      errors,
      unresolvable: new Map(),
      inputs: inputNames,
      warnings: [...warnings],
      explain: errors.map((e) => e.message).join('\n'),
    };
  }

  const inputs = new Set(inputNames.values());
  const steps: DraftStep[] = [];
  const stepByKey = new Map<string, number>();
  const memo = new Map<string, Resolution>();
  const visiting = new Set<string>();
  const canonical = (fqn: string) => index.resolve(fqn)?.fqn ?? fqn;

  const { inScope, specificity } = resolverScope(environments, shape);

  const stalenessOf = (fqn: string): { read: number | null; write: number | null } => {
    const feature = index.features.get(fqn);
    const declared = feature?.kind === 'scalar' && feature.storeOnline ? feature.maxStalenessS : 0;
    return { read: staleness.has(fqn) ? staleness.get(fqn)! : declared, write: declared };
  };

  /**
   * How old a value of a feature only the online store holds (streamed or uploaded) may be: the query's
   * staleness, else the declared max staleness; the default 0 ("always recompute") would make such a
   * feature unservable, so it reads as "any age".
   */
  const storeOnlyStaleness = (fqn: string): number | null => {
    if (staleness.has(fqn)) return staleness.get(fqn)!;
    const feature = index.features.get(fqn);
    const declared = feature?.kind === 'scalar' ? feature.maxStalenessS : 0;
    return declared === 0 ? null : declared;
  };

  const draft = (
    key: string,
    fields: Omit<
      ResolverStep,
      'index' | 'maxStalenessS' | 'writeTtlS' | 'outputs' | 'primaryKey' | 'needed'
    > & {
      outputs: StepOutput[];
      cached: boolean;
    },
  ): number => {
    const { cached, ...rest } = fields;
    const namespace = index.namespaces.get(rest.resolver.namespace);
    const step: DraftStep = {
      ...rest,
      index: steps.length,
      needed: new Set(),
      maxStalenessS: new Map(),
      writeTtlS: new Map(),
      primaryKey: namespace?.primaryKey ?? `${rest.resolver.namespace}.id`,
      featureTime: namespace?.featureTime,
    };
    // A streamed or uploaded feature reaches the store from its stream or an upload only: it is read at any
    // age its staleness allows, and a query's miss is not cached.
    const storeOnly = rest.resolver.stream !== undefined || rest.kind === 'stored';
    for (const output of rest.outputs) {
      const { read, write } = cached ? stalenessOf(output.fqn) : { read: 0, write: 0 };
      step.maxStalenessS.set(output.fqn, storeOnly ? storeOnlyStaleness(output.fqn) : read);
      step.writeTtlS.set(output.fqn, storeOnly ? 0 : write);
    }
    steps.push(step);
    stepByKey.set(key, step.index);
    return step.index;
  };

  /** Resolves each input; returns the steps they depend on, or the first input that cannot be resolved. */
  const dependencies = (fqns: readonly string[]): Set<number> | string => {
    const dependsOn = new Set<number>();
    for (const fqn of fqns) {
      const resolution = resolve(fqn);
      if (!resolution.ok) return fqn;
      if (resolution.step !== null) dependsOn.add(resolution.step);
    }
    return dependsOn;
  };

  const cannotResolve = (owner: string, fqn: string): QueryError =>
    requestError('RESOLVER_NOT_FOUND', fqn, `${owner} needs '${fqn}', which cannot be resolved`);

  const planResolver = (resolver: ResolverSpec): number | QueryError => {
    const existing = stepByKey.get(resolver.fqn);
    if (existing !== undefined) return existing;
    const stepInputs: StepInput[] = resolver.inputs.map((input) => ({
      type: input.type,
      param: input.param,
      fqn: canonical(input.fqn),
    }));
    // Stream values are read from the online store by primary key: the query must be able to supply it.
    const streamKey = resolver.stream ? index.namespaces.get(resolver.namespace)?.primaryKey : undefined;
    if (streamKey) stepInputs.push({ type: 'feature', param: '\0key', fqn: streamKey });
    const dependsOn = dependencies(stepInputs.map((input) => input.fqn));
    if (typeof dependsOn === 'string') return cannotResolve(resolver.fqn, dependsOn);
    const subqueries: HasManySubquery[] = [];
    for (const input of resolver.inputs) {
      const relation = index.resolve(input.fqn)?.spec;
      if (input.type === 'has_many' && relation?.kind === 'has_many')
        subqueries.push({
          param: input.param,
          relation: relation.fqn,
          target: relation.target,
          features: input.features,
        });
    }
    return draft(resolver.fqn, {
      kind: 'resolver',
      resolver,
      inputs: stepInputs,
      outputs: resolver.outputs
        .filter(
          (output) =>
            !resolver.stream ||
            canonical(output.fqn) !== index.namespaces.get(resolver.namespace)?.primaryKey,
        )
        .map((output) => {
          const resolved = index.resolve(output.fqn);
          return {
            param: output.param,
            fqn: resolved?.fqn ?? output.fqn,
            feature: resolved?.spec ?? missingSpec(output.fqn),
          };
        }),
      dependsOn: [...dependsOn].sort((a, b) => a - b),
      subqueries,
      cached: true,
    });
  };

  const planExpression = (spec: ScalarFeatureSpec, fqn: string, node: ExprNode): number | QueryError => {
    const key = `expression:${fqn}`;
    const existing = stepByKey.get(key);
    if (existing !== undefined) return existing;
    const reads = expressionReads(node);
    const stepInputs: StepInput[] = [];
    const subqueries: HasManySubquery[] = [];
    for (const read of reads.features) {
      const resolved = index.resolve(read);
      if (!resolved) return cannotResolve(key, read);
      stepInputs.push({ type: 'feature', param: read, fqn: resolved.fqn });
    }
    for (const [relationName, columns] of reads.relations) {
      const relation = index.resolve(relationName)?.spec;
      if (relation?.kind !== 'has_many') return cannotResolve(key, relationName);
      stepInputs.push({ type: 'has_many', param: relationName, fqn: relation.fqn });
      subqueries.push({
        param: relationName,
        relation: relation.fqn,
        target: relation.target,
        features: [...columns].map((column) => `${relation.target}.${column}`),
      });
    }
    const dependsOn = dependencies(stepInputs.map((input) => input.fqn));
    if (typeof dependsOn === 'string') return cannotResolve(key, dependsOn);
    const resolver: ResolverSpec = {
      fqn: key,
      kind: 'online',
      namespace: spec.namespace,
      inputs: stepInputs.map((input) =>
        input.type === 'has_many'
          ? { type: 'has_many', param: input.param, fqn: input.fqn, features: [] }
          : { type: 'feature', param: input.param, fqn: input.fqn },
      ),
      outputs: [{ param: 'value', fqn }],
      environments: [],
      tags: [],
      total: false,
      description: formatExpression(node),
    };
    return draft(key, {
      kind: 'expression',
      resolver,
      inputs: stepInputs,
      outputs: [{ param: 'value', fqn, feature: spec }],
      dependsOn: [...dependsOn].sort((a, b) => a - b),
      subqueries,
      expression: { node, windowSeconds: spec.window?.seconds },
      cached: true,
    });
  };

  /**
   * A feature no resolver in scope produces, served from the online store alone (uploaded values,
   * reference §1.8), keyed by its namespace's primary key, which the query must be able to supply.
   */
  const planStored = (spec: ScalarFeatureSpec, fqn: string): number | QueryError => {
    const key = `stored:${fqn}`;
    const existing = stepByKey.get(key);
    if (existing !== undefined) return existing;
    const primaryKey = index.namespaces.get(spec.namespace)?.primaryKey ?? `${spec.namespace}.id`;
    const dependsOn = dependencies([primaryKey]);
    if (typeof dependsOn === 'string') return cannotResolve(key, dependsOn);
    const inputs: StepInput[] = [{ type: 'feature', param: '\0key', fqn: primaryKey }];
    const resolver: ResolverSpec = {
      fqn: key,
      kind: 'online',
      namespace: spec.namespace,
      inputs: [{ type: 'feature', param: '\0key', fqn: primaryKey }],
      outputs: [{ param: 'value', fqn }],
      environments: [],
      tags: [],
      total: false,
      description: 'online store only (uploaded values)',
    };
    return draft(key, {
      kind: 'stored',
      resolver,
      inputs,
      outputs: [{ param: 'value', fqn, feature: spec }],
      dependsOn: [...dependsOn].sort((a, b) => a - b),
      subqueries: [],
      cached: true,
    });
  };

  const planTraversal = (relation: HasOneFeatureSpec, fqn: string, rest: string): number | QueryError => {
    const key = `traversal:${relation.fqn}`;
    let stepIndex = stepByKey.get(key);
    if (stepIndex === undefined) {
      const locals = relation.join.map((pair) => pair.local);
      const dependsOn = dependencies(locals);
      if (typeof dependsOn === 'string') return cannotResolve(relation.fqn, dependsOn);
      const resolver: ResolverSpec = {
        fqn: relation.fqn,
        kind: 'online',
        namespace: relation.namespace,
        inputs: relation.join.map((pair) => ({ type: 'feature', param: pair.foreign, fqn: pair.local })),
        outputs: [],
        environments: [],
        tags: [],
        total: false,
        description: `has-one ${relation.target}`,
      };
      stepIndex = draft(key, {
        kind: 'traversal',
        resolver,
        inputs: relation.join.map((pair) => ({ type: 'feature', param: pair.foreign, fqn: pair.local })),
        outputs: [],
        dependsOn: [...dependsOn].sort((a, b) => a - b),
        subqueries: [],
        traversal: relation,
        cached: false,
      });
    }
    const step = steps[stepIndex]!;
    if (!step.outputs.some((output) => output.fqn === fqn)) {
      step.outputs.push({ param: rest, fqn, feature: index.resolve(fqn)?.spec ?? missingSpec(fqn) });
      step.maxStalenessS.set(fqn, 0);
      step.writeTtlS.set(fqn, 0);
      (step.resolver.outputs as { param: string; fqn: string }[]).push({ param: rest, fqn });
    }
    return stepIndex;
  };

  const resolve = (fqn: string): Resolution => {
    if (inputs.has(fqn)) return { ok: true, step: null };
    const known = memo.get(fqn);
    if (known) return known;
    if (visiting.has(fqn)) {
      return {
        ok: false,
        error: requestError(
          'RESOLVER_NOT_FOUND',
          fqn,
          `No resolver found for '${fqn}': its resolvers depend on it`,
        ),
      };
    }
    visiting.add(fqn);
    const result = resolveFresh(fqn);
    visiting.delete(fqn);
    memo.set(fqn, result);
    return result;
  };

  const asResolution = (fqn: string, step: number | QueryError): Resolution =>
    typeof step === 'number'
      ? { ok: true, step }
      : {
          ok: false,
          error: { ...step, feature: fqn, message: `No resolver found for '${fqn}': ${step.message}` },
        };

  const resolveFresh = (fqn: string): Resolution => {
    const resolved = index.resolve(fqn);
    if (resolved?.kind === 'path')
      return asResolution(fqn, planTraversal(resolved.relation, fqn, resolved.rest));
    const spec = resolved?.spec;
    if (spec?.kind === 'scalar' && spec.expression)
      return asResolution(fqn, planExpression(spec, fqn, spec.expression));

    let candidates = (index.producers.get(fqn) ?? [])
      .filter(inScope)
      .sort((a, b) => specificity(b) - specificity(a));
    if (candidates.length === 0)
      candidates = (index.streamed?.get(fqn) ?? [])
        .filter(inScope)
        .sort((a, b) => specificity(b) - specificity(a));
    let result: Resolution = {
      ok: false,
      error: requestError('RESOLVER_NOT_FOUND', fqn, `No resolver found for '${fqn}' in this query's scope`),
    };
    for (let i = 0; i < candidates.length; i++) {
      const resolver = candidates[i]!;
      const step = planResolver(resolver);
      if (typeof step !== 'number') {
        result = asResolution(fqn, step);
        continue;
      }
      const rival = candidates
        .slice(i + 1)
        .find(
          (other) => specificity(other) === specificity(resolver) && typeof planResolver(other) === 'number',
        );
      result = rival
        ? {
            ok: false,
            error: requestError(
              'INVALID_QUERY',
              fqn,
              `Ambiguous resolvers for '${fqn}': ${resolver.fqn} and ${rival.fqn} are both in scope`,
            ),
          }
        : { ok: true, step };
      break;
    }
    // No resolver in scope: in an online query, a feature kept online may still have been uploaded.
    if (
      candidates.length === 0 &&
      shape.kind === 'online' &&
      spec?.kind === 'scalar' &&
      spec.storeOnline &&
      !spec.primary
    ) {
      const step = planStored(spec, fqn);
      if (typeof step === 'number') return { ok: true, step };
    }
    return result;
  };

  const unresolvable = new Map<string, QueryError>();
  const outputs: PlannedOutput[] = requested.map(({ name, fqn, spec }) => {
    const resolution = resolve(fqn);
    const feature = fqn === spec.fqn ? spec : { ...spec, fqn };
    if (!resolution.ok) {
      if (feature.kind === 'scalar' && feature.default !== undefined)
        return { kind: 'default', feature, name, fqn };
      unresolvable.set(name, resolution.error);
      return { kind: 'unresolvable', feature, error: resolution.error, name, fqn };
    }
    return resolution.step === null
      ? { kind: 'input', feature, name, fqn }
      : { kind: 'step', feature, step: resolution.step, name, fqn };
  });

  let rowSource: ResolverSpec | undefined;
  if (shape.inputs.length === 0 && requested.length > 0) {
    const namespace = index.namespaces.get(requested[0]!.spec.namespace);
    rowSource = (index.producers.get(namespace?.primaryKey ?? '') ?? []).find(
      (resolver) => resolver.total && resolver.dataframe !== undefined && inScope(resolver),
    );
  }

  const pruned = pruneUnreachable(steps, outputs);
  const structure = JSON.stringify([
    pruned.steps.map((s) => [s.resolver.fqn, s.dependsOn, s.outputs.map((o) => o.fqn)]),
    pruned.outputs.map((o) => [o.name, o.kind === 'step' ? o.step : o.kind]),
    rowSource?.fqn ?? null,
  ]);
  const hash = createHash('sha256').update(structure).digest('hex').slice(0, 32);
  return {
    hash,
    ...pruned,
    errors: [],
    unresolvable,
    inputs: inputNames,
    rowSource,
    warnings: [...warnings],
    explain: explainPlan(hash, pruned.steps, pruned.outputs, rowSource),
  };
}
