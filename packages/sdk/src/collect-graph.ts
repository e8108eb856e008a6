import {
  type FeatureSpec,
  GRAPH_ARTIFACT_VERSION,
  type GraphArtifact,
  GraphArtifactSchema,
  type NamespaceSpec,
  parseDuration,
  type ResolverInput,
  type ResolverSpec,
  SlateError,
} from '@slate/graph';
import {
  type AnyFeatureClass,
  type FeatureClassInternals,
  featureClassInternals,
  isFeatureClass,
  isRelationField,
} from './feature-class.ts';
import { isScalarField } from './fields.ts';
import { isNamedQuery, namedQueryOptions } from './named-query.ts';
import { isResolver, type ResolverContext, resolverInternals } from './resolver.ts';

/** A resolver's function as the engine calls it: named inputs in, named outputs out. */
export type ResolverFunction = (
  inputs: Record<string, unknown>,
  context: ResolverContext,
) => Record<string, unknown> | Promise<Record<string, unknown>>;

export interface CollectedGraph {
  readonly artifact: GraphArtifact;
  /** Resolver functions by resolver FQN. */
  readonly functions: ReadonlyMap<string, ResolverFunction>;
}

/**
 * Reads a feature repository's module (its exports: feature classes, resolvers, named queries) into the
 * graph artifact that deployments ship, plus the resolver functions by FQN. Resolvers are named by the
 * name they are exported under unless they set `name`. Feature classes reachable only through
 * relationships are included too.
 *
 * @throws SlateError `INVALID_GRAPH` when the exports do not form a valid artifact.
 * @example
 * const { artifact } = collectGraph(await import('./src/index.ts'), { project: 'fraud' });
 */
export function collectGraph(
  exports: Record<string, unknown>,
  options: { project?: string } = {},
): CollectedGraph {
  const classes = new Map<string, FeatureClassInternals>();
  const addClass = (featureClass: AnyFeatureClass) => {
    const internals = featureClassInternals(featureClass);
    const known = classes.get(internals.namespace);
    if (known === internals) return;
    if (known) {
      throw new SlateError('input', 'INVALID_GRAPH', `namespace '${internals.namespace}' is declared twice`, {
        source: internals.source,
      });
    }
    classes.set(internals.namespace, internals);
    for (const field of Object.values(internals.fields)) {
      if (isRelationField(field)) addClass(field.target());
    }
  };

  const resolvers: ResolverSpec[] = [];
  const functions = new Map<string, ResolverFunction>();
  const namedQueries: GraphArtifact['namedQueries'] = [];
  for (const [exportName, value] of Object.entries(exports)) {
    if (isFeatureClass(value)) addClass(value);
    else if (isResolver(value)) {
      const spec = resolverSpec(exportName, resolverInternals(value));
      if (functions.has(spec.fqn)) {
        throw new SlateError('input', 'INVALID_GRAPH', `two resolvers are named '${spec.fqn}'`, {
          source: spec.source,
        });
      }
      resolvers.push(spec);
      functions.set(spec.fqn, resolverInternals(value).fn as ResolverFunction);
    } else if (isNamedQuery(value)) {
      const query = namedQueryOptions(value);
      namedQueries.push({
        name: query.name,
        version: query.version,
        inputs: query.inputs.map((ref) => ref.fqn),
        outputs: query.outputs.map((ref) => ref.fqn),
        tags: [...(query.tags ?? [])],
        staleness: { ...(query.staleness ?? {}) },
        description: query.description,
        owner: query.owner,
      });
    }
  }

  const draft = {
    version: GRAPH_ARTIFACT_VERSION,
    project: options.project,
    namespaces: [...classes.values()].map(namespaceSpec),
    resolvers,
    namedQueries,
  };
  const parsed = GraphArtifactSchema.safeParse(draft);
  if (!parsed.success) {
    throw new SlateError('input', 'INVALID_GRAPH', 'the feature graph does not form a valid artifact', {
      issues: parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    });
  }
  return { artifact: parsed.data, functions };
}

function namespaceSpec(internals: FeatureClassInternals): NamespaceSpec {
  const { namespace, options } = internals;
  const classStaleness = options.maxStaleness === undefined ? 0 : parseDuration(options.maxStaleness);
  const classTags = [...(options.tags ?? [])];
  const features: FeatureSpec[] = Object.entries(internals.fields).map(([name, field]): FeatureSpec => {
    const fqn = `${namespace}.${name}`;
    if (isScalarField(field)) {
      const o = field.options;
      return {
        kind: 'scalar',
        fqn,
        name,
        namespace,
        dtype: field.dtype,
        description: o.description,
        owner: o.owner ?? options.owner,
        tags: [...new Set([...classTags, ...(o.tags ?? [])])],
        primary: name === internals.primaryKey,
        featureTime: name === internals.featureTime,
        nullable: o.nullable ?? false,
        default: o.default instanceof Date ? o.default.toISOString() : o.default,
        version: o.version ?? 1,
        deprecated: o.deprecated ?? false,
        maxStalenessS: o.maxStaleness === undefined ? classStaleness : parseDuration(o.maxStaleness),
        storeOnline: o.storeOnline ?? true,
        storeOffline: o.storeOffline ?? true,
        etlOfflineToOnline: o.etlOfflineToOnline ?? options.etlOfflineToOnline ?? false,
        cacheNulls: o.cacheNulls ?? true,
        cacheDefaults: o.cacheDefaults ?? true,
        offlineTtlS: o.offlineTtl === undefined ? null : parseDuration(o.offlineTtl),
        validations: o.validations,
      };
    }
    const target = featureClassInternals(field.target()).namespace;
    const join = Object.entries(field.on).map(([foreign, local]) => ({
      local: `${namespace}.${local}`,
      foreign: `${target}.${foreign}`,
    }));
    const common = { fqn, name, namespace, target, join, description: field.description, tags: classTags };
    return field.kind === 'has_many'
      ? {
          ...common,
          kind: 'has_many',
          maxStalenessS: field.maxStaleness === undefined ? 0 : parseDuration(field.maxStaleness),
        }
      : { ...common, kind: 'has_one', optional: field.optional };
  });
  return {
    name: namespace,
    primaryKey: `${namespace}.${internals.primaryKey}`,
    featureTime: internals.featureTime && `${namespace}.${internals.featureTime}`,
    description: options.description,
    owner: options.owner,
    tags: classTags,
    features,
    source: internals.source,
  };
}

function resolverSpec(exportName: string, internals: ReturnType<typeof resolverInternals>): ResolverSpec {
  const refs = [...Object.values(internals.inputs), ...Object.values(internals.outputs)];
  const namespace = refs[0]?.namespace ?? '';
  const inputs = Object.entries(internals.inputs).map(
    ([param, ref]): ResolverInput =>
      ref.kind === 'has_many'
        ? { type: 'has_many', param, fqn: ref.fqn, features: [...ref.features] }
        : { type: 'feature', param, fqn: ref.fqn },
  );
  const environment = internals.environment;
  return {
    fqn: internals.name ?? exportName,
    kind: internals.kind,
    namespace,
    inputs,
    outputs: Object.entries(internals.outputs).map(([param, ref]) => ({ param, fqn: ref.fqn })),
    environments:
      environment === undefined ? [] : typeof environment === 'string' ? [environment] : [...environment],
    tags: [...(internals.tags ?? [])],
    timeoutMs: timeoutMs(internals.timeout),
    total: false,
    cron: internals.cron,
    description: internals.description,
    owner: internals.owner,
    source: internals.source,
  };
}

function timeoutMs(timeout: string | undefined): number | undefined {
  const seconds = timeout === undefined ? null : parseDuration(timeout);
  return seconds === null ? undefined : Math.max(1, Math.round(seconds * 1000));
}
