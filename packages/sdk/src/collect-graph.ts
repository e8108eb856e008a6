import {
  type DType,
  type FeatureSpec,
  GRAPH_ARTIFACT_VERSION,
  type GraphArtifact,
  GraphArtifactSchema,
  inferExpressionType,
  type ModelRef,
  modelRefKey,
  type NamespaceSpec,
  nextFireTime,
  parseDuration,
  type ResolverInput,
  type ResolverSpec,
  SlateError,
  windowSuffix,
} from '@slate/graph';
import {
  type ChartDraft,
  chartDraft,
  driftCheckSpec,
  isChart,
  isDriftCheck,
  type MetricSubject,
} from './chart.ts';
import { type ClassTable, resolveExpression } from './expressions/resolve-expression.ts';
import {
  type AnyFeatureClass,
  type FeatureClassInternals,
  featureClassInternals,
  isFeatureClass,
  isRelationField,
} from './feature-class.ts';
import { isScalarField } from './fields.ts';
import { isModelHandle } from './model.ts';
import { isNamedQuery, namedQueryOptions } from './named-query.ts';
import { isResolver, type ResolverContext, resolverInternals } from './resolver.ts';
import { isScheduledQuery, scheduledQuerySpec } from './scheduled-query.ts';
import { isSqlResolver, parseSqlResolverFile, sqlResolverDeclaration } from './sql-resolver.ts';
import { sqlResolverSpec } from './sql-resolver-spec.ts';
import {
  isStreamResolver,
  STREAM_MESSAGE_PARAM,
  STREAM_SKIPPED_OUTPUT,
  type StreamInternals,
  type StreamMessage,
  streamInternals,
} from './stream.ts';
import { isWindowedField } from './windowed.ts';
import {
  isWindowedStreamResolver,
  STREAM_KEY_OUTPUT,
  STREAM_TIME_OUTPUT,
  type WindowedStreamInternals,
  windowedStreamInternals,
} from './windowed-stream.ts';

/**
 * A resolver's function as the engine calls it: named inputs in, named outputs out. A batch resolver's
 * also carries `batch`, which takes every row at once (calling the function itself runs one row).
 */
export interface ResolverFunction {
  (
    inputs: Record<string, unknown>,
    context: ResolverContext,
  ): Record<string, unknown> | Promise<Record<string, unknown>>;
  readonly batch?: (
    rows: Record<string, unknown>[],
    context: ResolverContext,
  ) => Record<string, unknown>[] | Promise<Record<string, unknown>[]>;
}

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
  options: {
    project?: string;
    /** SQL file resolvers (`*.sql` under the repository's source folder), with their paths and text. */
    sqlFiles?: readonly { readonly path: string; readonly text: string }[];
  } = {},
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
  const scheduledQueries: NonNullable<GraphArtifact['scheduledQueries']> = [];
  const sqlDeclarations: [string, ReturnType<typeof sqlResolverDeclaration>][] = [];
  // Charts name resolvers by their exported objects: FQNs are known once every resolver is collected.
  const resolverObjects = new Map<unknown, string>();
  const charts: ChartDraft[] = [];
  const driftChecks: NonNullable<GraphArtifact['driftChecks']> = [];
  const models = new Map<string, ModelRef>();
  for (const [exportName, value] of Object.entries(exports)) {
    const before = resolvers.length;
    if (isModelHandle(value)) models.set(modelRefKey(value.ref), value.ref);
    else if (isFeatureClass(value)) addClass(value);
    else if (isChart(value)) charts.push(chartDraft(value));
    else if (isDriftCheck(value)) driftChecks.push(driftCheckSpec(value));
    else if (isResolver(value)) {
      const spec = resolverSpec(exportName, resolverInternals(value));
      if (functions.has(spec.fqn)) {
        throw new SlateError('input', 'INVALID_GRAPH', `two resolvers are named '${spec.fqn}'`, {
          source: spec.source,
        });
      }
      resolvers.push(spec);
      functions.set(spec.fqn, resolverFunction(resolverInternals(value)));
    } else if (isStreamResolver(value)) {
      const internals = streamInternals(value);
      const spec = streamResolverSpec(exportName, internals);
      if (functions.has(spec.fqn)) {
        throw new SlateError('input', 'INVALID_GRAPH', `two resolvers are named '${spec.fqn}'`, {
          source: spec.source,
        });
      }
      resolvers.push(spec);
      functions.set(spec.fqn, streamFunction(internals));
    } else if (isWindowedStreamResolver(value)) {
      const internals = windowedStreamInternals(value);
      const spec = windowedStreamSpec(exportName, internals);
      if (functions.has(spec.fqn)) {
        throw new SlateError('input', 'INVALID_GRAPH', `two resolvers are named '${spec.fqn}'`, {
          source: spec.source,
        });
      }
      resolvers.push(spec);
      functions.set(spec.fqn, windowedStreamFunction(internals));
    } else if (isSqlResolver(value)) {
      sqlDeclarations.push([exportName, sqlResolverDeclaration(value)]);
    } else if (isScheduledQuery(value)) {
      const spec = scheduledQuerySpec(value);
      if (scheduledQueries.some((q) => q.name === spec.name))
        throw new SlateError('input', 'INVALID_GRAPH', `two scheduled queries are named '${spec.name}'`, {
          source: spec.source,
        });
      try {
        nextFireTime(spec.schedule, new Date(0));
      } catch (error) {
        throw new SlateError(
          'input',
          'INVALID_GRAPH',
          `scheduled query '${spec.name}': ${(error as Error).message}`,
          {
            source: spec.source,
          },
        );
      }
      scheduledQueries.push({ ...spec, output: [...spec.output], tags: [...spec.tags] });
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
    if (resolvers.length > before) resolverObjects.set(value, resolvers.at(-1)!.fqn);
  }

  for (const file of options.sqlFiles ?? [])
    sqlDeclarations.push(['', sqlResolverDeclaration(parseSqlResolverFile(file.path, file.text))]);
  // SQL resolvers have no function: the data plane runs their query against the named data source.
  for (const [exportName, declaration] of sqlDeclarations) {
    const spec = sqlResolverSpec(exportName, declaration, classes);
    if (functions.has(spec.fqn) || resolvers.some((r) => r.fqn === spec.fqn)) {
      throw new SlateError('input', 'INVALID_GRAPH', `two resolvers are named '${spec.fqn}'`, {
        source: spec.source,
      });
    }
    resolvers.push(spec);
  }

  // A windowed stream yields its entity's primary key (the function's key output).
  for (const [i, spec] of resolvers.entries()) {
    const internals = classes.get(spec.namespace);
    if (spec.stream?.mode !== 'windowed' || !internals) continue;
    const primaryKey = `${spec.namespace}.${internals.primaryKey}`;
    resolvers[i] = { ...spec, outputs: [{ param: STREAM_KEY_OUTPUT, fqn: primaryKey }, ...spec.outputs] };
  }
  // A stream's values are stored by primary key: each message must yield it.
  for (const spec of resolvers) {
    if (!spec.stream) continue;
    const internals = classes.get(spec.namespace);
    const primaryKey = internals && `${spec.namespace}.${internals.primaryKey}`;
    if (primaryKey && !spec.outputs.some((output) => output.fqn === primaryKey))
      throw new SlateError(
        'input',
        'INVALID_RESOLVER',
        `streaming resolver ${spec.fqn} must output the primary key ${primaryKey} (its values are stored by it)`,
        { source: spec.source },
      );
  }

  const namespaces = [...classes.values()].map((internals) => namespaceSpec(internals, classes));
  streamedWindows(namespaces, resolvers, classes);
  const draft = {
    version: GRAPH_ARTIFACT_VERSION,
    project: options.project,
    namespaces,
    resolvers,
    namedQueries,
    ...(scheduledQueries.length > 0 ? { scheduledQueries } : {}),
    ...(charts.length > 0 ? { charts: charts.map((c) => chartSpec(c, resolverObjects)) } : {}),
    ...(driftChecks.length > 0 ? { driftChecks } : {}),
    ...(models.size > 0 ? { models: [...models.values()] } : {}),
  };
  const parsed = GraphArtifactSchema.safeParse(draft);
  if (!parsed.success) {
    throw new SlateError('input', 'INVALID_GRAPH', 'the feature graph does not form a valid artifact', {
      issues: parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    });
  }
  // A scheduled query's outputs are scalar features of the graph (the data plane samples or recomputes them).
  const scalars = new Set(
    parsed.data.namespaces.flatMap((ns) => ns.features.flatMap((f) => (f.kind === 'scalar' ? [f.fqn] : []))),
  );
  for (const query of scheduledQueries) {
    const unknown = query.output.filter((fqn) => !scalars.has(fqn));
    if (unknown.length > 0)
      throw new SlateError(
        'input',
        'INVALID_GRAPH',
        `scheduled query '${query.name}' outputs unknown or non-scalar features: ${unknown.join(', ')}`,
        { source: query.source },
      );
  }
  return { artifact: parsed.data, functions };
}

/** Names a series filter's subject: a resolver object by its FQN, a feature reference by its FQN. */
function subjectName(
  subject: MetricSubject,
  resolverObjects: ReadonlyMap<unknown, string>,
  chart: ChartDraft,
): string {
  if (typeof subject === 'string') return subject;
  const fqn = resolverObjects.get(subject);
  if (fqn !== undefined) return fqn;
  if ('fqn' in subject && typeof subject.fqn === 'string') return subject.fqn;
  throw new SlateError(
    'input',
    'INVALID_GRAPH',
    `chart '${chart.name}' refers to a resolver that is not exported (export it, or name it by its FQN)`,
    { source: chart.source },
  );
}

function chartSpec(chart: ChartDraft, resolverObjects: ReadonlyMap<unknown, string>) {
  const name = (subject: MetricSubject) => subjectName(subject, resolverObjects, chart);
  return {
    name: chart.name,
    windowS: chart.windowS,
    everyS: chart.everyS,
    series: chart.series.map((s) => ({
      name: s.name,
      metric: s.metric,
      windowFunction: s.windowFunction,
      filters: Object.fromEntries(Object.entries(s.filters).map(([key, values]) => [key, values.map(name)])),
      groupBy: [...s.groupBy],
    })),
    formulas: chart.formulas.map((f) => ({ ...f, operands: [...f.operands] })),
    ...(chart.trigger ? { trigger: { ...chart.trigger } } : {}),
    links: chart.links.map(name),
    description: chart.description,
    source: chart.source,
  };
}

function namespaceSpec(internals: FeatureClassInternals, classes: ClassTable): NamespaceSpec {
  const { namespace, options } = internals;
  const classStaleness = options.maxStaleness === undefined ? 0 : parseDuration(options.maxStaleness);
  const classTags = [...(options.tags ?? [])];
  const features: FeatureSpec[] = Object.entries(internals.fields).flatMap(([name, field]): FeatureSpec[] => {
    const fqn = `${namespace}.${name}`;
    if (isScalarField(field)) {
      const o = field.options;
      return [
        {
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
          ...(o.versions && o.versions > 1
            ? { versions: o.versions, deprecatedVersions: [...(o.deprecatedVersions ?? [])] }
            : {}),
          deprecated: o.deprecated ?? false,
          maxStalenessS: o.maxStaleness === undefined ? classStaleness : parseDuration(o.maxStaleness),
          storeOnline: o.storeOnline ?? true,
          storeOffline: o.storeOffline ?? true,
          etlOfflineToOnline: o.etlOfflineToOnline ?? options.etlOfflineToOnline ?? false,
          cacheNulls: o.cacheNulls ?? true,
          cacheDefaults: o.cacheDefaults ?? true,
          offlineTtlS: o.offlineTtl === undefined ? null : parseDuration(o.offlineTtl),
          validations: o.validations,
          ...(o.expression ? { expression: resolveExpression(o.expression, namespace, classes) } : {}),
          source: o.source,
        },
      ];
    }
    if (isWindowedField(field)) {
      const o = field.options;
      // Without an expression a windowed stream computes the feature (checked by `streamedWindows`).
      const expression = field.expression && resolveExpression(field.expression, namespace, classes);
      const dtype = o.dtype ?? (expression ? inferredDType(expression, classes) : { type: 'float' as const });
      return field.windows.map((seconds) => ({
        kind: 'scalar',
        fqn: `${fqn}${windowSuffix(seconds)}`,
        name: `${name}${windowSuffix(seconds)}`,
        namespace,
        dtype,
        description: o.description,
        owner: o.owner ?? options.owner,
        tags: [...new Set([...classTags, ...(o.tags ?? [])])],
        primary: false,
        featureTime: false,
        nullable: o.default === undefined,
        default: o.default instanceof Date ? o.default.toISOString() : o.default,
        version: 1,
        deprecated: false,
        maxStalenessS: o.maxStaleness === undefined ? classStaleness : parseDuration(o.maxStaleness),
        storeOnline: true,
        storeOffline: true,
        etlOfflineToOnline: o.etlOfflineToOnline ?? options.etlOfflineToOnline ?? false,
        cacheNulls: true,
        cacheDefaults: true,
        offlineTtlS: null,
        ...(expression ? { expression } : {}),
        window: { base: name, seconds },
        source: o.source,
      }));
    }
    const target = featureClassInternals(field.target()).namespace;
    const join = Object.entries(field.on).map(([foreign, local]) => ({
      local: `${namespace}.${local}`,
      foreign: `${target}.${foreign}`,
    }));
    const common = { fqn, name, namespace, target, join, description: field.description, tags: classTags };
    return [
      field.kind === 'has_many'
        ? {
            ...common,
            kind: 'has_many',
            maxStalenessS: field.maxStaleness === undefined ? 0 : parseDuration(field.maxStaleness),
          }
        : { ...common, kind: 'has_one', optional: field.optional },
    ];
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

/** The type of a windowed feature declared without `type`: inferred from its expression (float if unclear). */
function inferredDType(expression: Parameters<typeof inferExpressionType>[0], classes: ClassTable): DType {
  const scalarAt = (fqn: string): DType | undefined => {
    const [namespace, ...path] = fqn.split('.');
    let current = classes.get(namespace ?? '');
    for (let i = 0; i < path.length && current; i++) {
      const field = current.fields[path[i]!];
      if (isScalarField(field)) return i === path.length - 1 ? field.dtype : undefined;
      if (!field || !isRelationField(field)) return undefined;
      current = featureClassInternals(field.target());
    }
    return undefined;
  };
  const { type } = inferExpressionType(expression, {
    feature: scalarAt,
    column: (relation, name) => {
      const [namespace, field] = relation.split('.');
      const relationField = classes.get(namespace ?? '')?.fields[field ?? ''];
      if (!relationField || !isRelationField(relationField)) return undefined;
      return scalarAt(`${featureClassInternals(relationField.target()).namespace}.${name}`);
    },
  });
  switch (type) {
    case 'int':
    case 'float':
    case 'string':
    case 'bool':
    case 'datetime':
    case 'date':
      return { type };
    default:
      return { type: 'float' };
  }
}

function resolverSpec(exportName: string, internals: ReturnType<typeof resolverInternals>): ResolverSpec {
  const refs = [...Object.values(internals.inputs), ...Object.values(internals.outputs)];
  const namespace = refs[0]?.namespace ?? '';
  const inputs = Object.entries(internals.inputs).map(
    ([param, ref]): ResolverInput =>
      ref.kind === 'has_many'
        ? { type: 'has_many', param, fqn: ref.fqn, features: [...ref.features] }
        : { type: 'feature', param, fqn: ref.kind === 'dataframe' ? ref.namespace : ref.fqn },
  );
  const environment = internals.environment;
  const [frameParam, frame] =
    Object.entries(internals.outputs).find(([, ref]) => ref.kind === 'dataframe') ?? [];
  const outputs =
    frame?.kind === 'dataframe'
      ? frame.features.map((fqn) => ({ param: fqn.slice(fqn.indexOf('.') + 1), fqn }))
      : Object.entries(internals.outputs).map(([param, ref]) => ({
          param,
          fqn: ref.kind === 'dataframe' ? ref.namespace : ref.fqn,
        }));
  return {
    fqn: internals.name ?? exportName,
    kind: internals.kind,
    namespace,
    inputs,
    outputs,
    environments:
      environment === undefined ? [] : typeof environment === 'string' ? [environment] : [...environment],
    tags: [...(internals.tags ?? [])],
    timeoutMs: timeoutMs(internals.timeout),
    total: internals.total ?? false,
    ...(frameParam === undefined ? {} : { dataframe: frameParam }),
    ...(internals.batch ? { batch: true } : {}),
    cron: internals.cron,
    description: internals.description,
    owner: internals.owner,
    source: internals.source,
  };
}

/** The function the engine calls; a batch resolver's runs one row when called and all rows through `batch`. */
function resolverFunction(internals: ReturnType<typeof resolverInternals>): ResolverFunction {
  if (!internals.batch) return internals.fn as ResolverFunction;
  const batch = internals.fn as NonNullable<ResolverFunction['batch']>;
  const one = async (inputs: Record<string, unknown>, context: ResolverContext) => {
    const [outputs] = await batch([inputs], context);
    return outputs as Record<string, unknown>;
  };
  return Object.assign(one, { batch });
}

function timeoutMs(timeout: string | undefined): number | undefined {
  const seconds = timeout === undefined ? null : parseDuration(timeout);
  return seconds === null ? undefined : Math.max(1, Math.round(seconds * 1000));
}

function streamResolverSpec(exportName: string, internals: StreamInternals): ResolverSpec {
  const outputs = Object.entries(internals.outputs).map(([param, ref]) => ({ param, fqn: ref.fqn }));
  const environment = internals.environment;
  const deadline =
    internals.lateArrivalDeadline === undefined ? null : parseDuration(internals.lateArrivalDeadline);
  return {
    fqn: internals.name ?? exportName,
    kind: 'online',
    namespace: Object.values(internals.outputs)[0]?.namespace ?? '',
    inputs: [],
    outputs,
    environments:
      environment === undefined ? [] : typeof environment === 'string' ? [environment] : [...environment],
    tags: [],
    total: false,
    stream: { topic: internals.source.topic, lateArrivalS: deadline, mode: 'mapping' },
    description: internals.description,
    owner: internals.owner,
    source: internals.location,
  };
}

/** A streaming resolver's function: `{ message }` in, its parsed values (or a skip marker) out. */
function streamFunction(internals: StreamInternals): ResolverFunction {
  return (inputs) => {
    const message = inputs[STREAM_MESSAGE_PARAM] as StreamMessage;
    const parsed = internals.parse(message);
    return parsed === undefined ? { [STREAM_SKIPPED_OUTPUT]: true } : (parsed as Record<string, unknown>);
  };
}

/**
 * Windowed features without an expression must be computed by a windowed stream; a stream's `count` makes
 * an untyped one an int.
 */
function streamedWindows(
  namespaces: NamespaceSpec[],
  resolvers: readonly ResolverSpec[],
  classes: ClassTable,
) {
  const aggregations = new Map(
    resolvers.flatMap((r) => r.stream?.windowed?.aggregations.map((a) => [a.feature, a] as const) ?? []),
  );
  for (const namespace of namespaces)
    for (const [i, feature] of namespace.features.entries()) {
      if (feature.kind !== 'scalar' || !feature.window || feature.expression) continue;
      const aggregation = aggregations.get(`${namespace.name}.${feature.window.base}`);
      if (!aggregation)
        throw new SlateError(
          'input',
          'INVALID_FEATURE',
          `${feature.source ? `${feature.source.file}:${feature.source.line}: ` : ''}windowed feature '${feature.window.base}' has no expression and no windowed stream computes it (give an expression, or aggregate it with windowedStream)`,
          { source: feature.source },
        );
      const field = classes.get(namespace.name)?.fields[feature.window.base];
      const typed = isWindowedField(field) && field.options.dtype !== undefined;
      if (aggregation.function === 'count' && !typed)
        namespace.features[i] = { ...feature, dtype: { type: 'int' } };
    }
}

function windowedStreamSpec(exportName: string, internals: WindowedStreamInternals): ResolverSpec {
  const environment = internals.environment;
  const deadline =
    internals.lateArrivalDeadline === undefined ? null : parseDuration(internals.lateArrivalDeadline);
  const aggregations = internals.aggregations.map((aggregation, i) => ({
    param: `a${i}`,
    feature: aggregation.feature.fqn,
    function: aggregation.function,
    windows: internals.windows[i]!.map((w) => ({ fqn: w.fqn, seconds: w.seconds })),
  }));
  return {
    fqn: internals.name ?? exportName,
    kind: 'online',
    namespace: internals.namespace,
    inputs: [],
    // The primary key output is added by `collectGraph`, which knows the namespace's key.
    outputs: aggregations.flatMap((a) =>
      a.windows.map((w) => ({ param: w.fqn.slice(w.fqn.indexOf('.') + 1), fqn: w.fqn })),
    ),
    environments:
      environment === undefined ? [] : typeof environment === 'string' ? [environment] : [...environment],
    tags: [],
    total: false,
    stream: {
      topic: internals.source.topic,
      lateArrivalS: deadline,
      mode: 'windowed',
      windowed: { windowMode: internals.windowMode, bucketS: internals.bucketS, aggregations },
    },
    description: internals.description,
    owner: internals.owner,
    source: internals.location,
  };
}

/**
 * A windowed stream's function: `{ message }` in; out the row's key, event time (when the resolver has
 * `time`) and each aggregation's input (`a0`, `a1`, …), or a skip marker.
 */
function windowedStreamFunction(internals: WindowedStreamInternals): ResolverFunction {
  return (inputs) => {
    const row = internals.parse(inputs[STREAM_MESSAGE_PARAM] as StreamMessage);
    if (row === undefined) return { [STREAM_SKIPPED_OUTPUT]: true };
    const key = internals.key(row);
    if (typeof key !== 'string' && typeof key !== 'number')
      throw new TypeError(`key() returned ${key === null ? 'null' : typeof key}, not a string or number`);
    const outputs: Record<string, unknown> = { [STREAM_KEY_OUTPUT]: key };
    if (internals.time) {
      const time = internals.time(row);
      const ms = time instanceof Date ? time.getTime() : time;
      if (typeof ms !== 'number' || !Number.isFinite(ms))
        throw new TypeError('time() returned no valid time');
      outputs[STREAM_TIME_OUTPUT] = ms;
    }
    internals.aggregations.forEach((aggregation, i) => {
      const value = aggregation.of(row);
      if (value === null || value === undefined) outputs[`a${i}`] = null;
      else if (aggregation.function === 'count') outputs[`a${i}`] = value ? 1 : 0;
      else if (typeof value === 'number' && Number.isFinite(value)) outputs[`a${i}`] = value;
      else
        throw new TypeError(
          `${aggregation.feature.fqn}: the value to ${aggregation.function} is not a number`,
        );
    });
    return outputs;
  };
}
