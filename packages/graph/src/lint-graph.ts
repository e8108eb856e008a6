import { parseDuration } from './duration.ts';
import { type ExprNode, expressionReads, formatExpression } from './expression.ts';
import { assignable, inferExpressionType } from './expression-types.ts';
import { type FeatureIndex, indexFeatures } from './feature-index.ts';
import type { FeatureSpec, GraphArtifact, SourceLocation } from './graph-artifact.ts';
import { lintMetricChecks } from './lint-metric-checks.ts';

/** One finding of `lintGraph`; `error`s block a deployment. */
export interface LintIssue {
  readonly severity: 'error' | 'warning';
  readonly code: string;
  readonly message: string;
  readonly source?: SourceLocation;
  /** The 1-based column within `source.line`, when the finding knows it (type errors do). */
  readonly column?: number;
}

/** A producer of features as lint sees it: a resolver, or an expression feature. */
interface Producer {
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly source?: SourceLocation;
}

/** Names users may not give features or namespaces: the engine's own (`chalk_now`, window suffixes). */
const reservedName = (name: string) => name.startsWith('chalk_') || name.includes('__');

/**
 * Checks a graph artifact for mistakes a schema cannot see. Codes: `UNKNOWN_FEATURE` and
 * `UNKNOWN_NAMESPACE` (references to nothing, from resolvers, relationships, named queries and
 * expressions), `MIXED_NAMESPACES` (a resolver spanning namespaces), `TYPE_MISMATCH` (joins over different
 * types; expressions applying operators to the wrong types or producing a value of another type than their
 * feature), `CYCLE` (resolvers or expressions depending on themselves), `AMBIGUOUS_RESOLVER` (two resolvers
 * of the same kind produce a feature in exactly the same scope), `RESERVED_NAME`, `INVALID_DURATION`
 * (named-query staleness), `INVALID_DATAFRAME_RESOLVER`, `INVALID_VERSION`, `DUPLICATE_*`, and those of
 * charts and drift checks (`lintMetricChecks`: `UNKNOWN_RESOLVER`, `INVALID_WINDOW`, …). Returns every
 * issue (never throws); messages start with `file:line` when the definition's location is known.
 *
 * @example
 * const errors = lintGraph(artifact).filter((issue) => issue.severity === 'error');
 */
export function lintGraph(artifact: GraphArtifact): LintIssue[] {
  const issues: LintIssue[] = [];
  const report = (severity: LintIssue['severity'], code: string, text: string, source?: SourceLocation) =>
    issues.push({
      severity,
      code,
      source,
      message: source ? `${source.file}:${source.line}: ${text}` : text,
    });

  const index = indexFeatures(artifact);
  const namespaces = new Set<string>();
  for (const ns of artifact.namespaces) {
    if (namespaces.has(ns.name))
      report('error', 'DUPLICATE_NAMESPACE', `namespace '${ns.name}' is declared twice`, ns.source);
    namespaces.add(ns.name);
    if (reservedName(ns.name))
      report('error', 'RESERVED_NAME', `namespace '${ns.name}' uses a reserved name`, ns.source);
    for (const feature of ns.features) {
      const source = feature.source ?? ns.source;
      if (reservedName(feature.name) && !(feature.kind === 'scalar' && feature.window))
        report(
          'error',
          'RESERVED_NAME',
          `${feature.fqn}: names starting with 'chalk_' or containing '__' are reserved`,
          source,
        );
      if (feature.kind === 'scalar' && (feature.versions ?? 1) > 1) {
        if (feature.primary || feature.featureTime || feature.window)
          report(
            'error',
            'INVALID_VERSION',
            `${feature.fqn}: primary keys, feature times and windowed features cannot be versioned`,
            source,
          );
        if (feature.version > (feature.versions ?? 1))
          report(
            'error',
            'INVALID_VERSION',
            `${feature.fqn}: default version ${feature.version} is above its ${feature.versions ?? 1} versions`,
            source,
          );
      }
    }
  }

  lintRelations(artifact, index, namespaces, report);

  const producers: Producer[] = [];
  const resolverNames = new Set<string>();
  for (const resolver of artifact.resolvers) {
    if (resolverNames.has(resolver.fqn))
      report('error', 'DUPLICATE_RESOLVER', `two resolvers are named '${resolver.fqn}'`, resolver.source);
    resolverNames.add(resolver.fqn);
    const canonical = (fqn: string) => index.resolve(fqn)?.fqn ?? fqn;
    const refs = [
      ...resolver.inputs.map((input) => input.fqn),
      ...resolver.outputs.map((output) => output.fqn),
    ];
    for (const fqn of refs) {
      if (!index.resolve(fqn))
        report(
          'error',
          'UNKNOWN_FEATURE',
          `resolver ${resolver.fqn} uses unknown feature '${fqn}'`,
          resolver.source,
        );
      else if (!fqn.startsWith(`${resolver.namespace}.`)) {
        report(
          'error',
          'MIXED_NAMESPACES',
          `resolver ${resolver.fqn} mixes namespaces ('${fqn}' is not in '${resolver.namespace}')`,
          resolver.source,
        );
      }
    }
    if (resolver.dataframe !== undefined) {
      const primaryKey = index.namespaces.get(resolver.namespace)?.primaryKey;
      if (resolver.inputs.length > 0 || !resolver.outputs.some((o) => canonical(o.fqn) === primaryKey))
        report(
          'error',
          'INVALID_DATAFRAME_RESOLVER',
          `data-frame resolver ${resolver.fqn} must take no inputs and return the primary key ${primaryKey} in each row`,
          resolver.source,
        );
    }
    const outputs = resolver.outputs.map((output) => canonical(output.fqn));
    const inputs = resolver.inputs.map((input) => canonical(input.fqn));
    for (const output of outputs) {
      if (inputs.includes(output)) {
        report(
          'error',
          'CYCLE',
          `resolver ${resolver.fqn} takes its own output '${output}' as input`,
          resolver.source,
        );
      }
    }
    producers.push({ name: resolver.fqn, inputs, outputs, source: resolver.source });
  }

  for (const ns of artifact.namespaces) {
    for (const feature of ns.features) {
      if (feature.kind !== 'scalar' || !feature.expression) continue;
      const source = feature.source ?? ns.source;
      const inputs = lintExpression(feature, feature.expression, index, (text) =>
        report('error', text.code, text.message, source),
      );
      producers.push({
        name: `expression ${feature.fqn}`,
        inputs,
        outputs: [index.resolve(feature.fqn)?.fqn ?? feature.fqn],
        source,
      });
    }
  }

  lintAmbiguity(artifact, index, report);
  lintNamedQueries(artifact, index, report);
  lintMetricChecks(artifact, index, report);
  reportCycles(producers, report);
  return issues;
}

type Report = (severity: LintIssue['severity'], code: string, text: string, source?: SourceLocation) => void;

function lintRelations(
  artifact: GraphArtifact,
  index: FeatureIndex,
  namespaces: ReadonlySet<string>,
  report: Report,
): void {
  for (const ns of artifact.namespaces) {
    for (const feature of ns.features) {
      if (feature.kind === 'scalar') continue;
      const source = feature.source ?? ns.source;
      if (!namespaces.has(feature.target)) {
        report(
          'error',
          'UNKNOWN_NAMESPACE',
          `${feature.fqn} relates to unknown namespace '${feature.target}'`,
          source,
        );
        continue;
      }
      for (const pair of feature.join) {
        const local = index.features.get(pair.local);
        const foreign = index.features.get(pair.foreign);
        if (!local || !foreign) {
          report(
            'error',
            'UNKNOWN_FEATURE',
            `${feature.fqn} joins on unknown feature '${!local ? pair.local : pair.foreign}'`,
            source,
          );
        } else if (
          local.kind !== 'scalar' ||
          foreign.kind !== 'scalar' ||
          local.dtype.type !== foreign.dtype.type
        ) {
          report(
            'error',
            'TYPE_MISMATCH',
            `${feature.fqn} joins ${pair.local} with ${pair.foreign} of another type`,
            source,
          );
        }
      }
    }
  }
}

/** Checks one expression feature; returns the canonical features it reads (for cycle detection). */
function lintExpression(
  feature: FeatureSpec & { kind: 'scalar' },
  expression: ExprNode,
  index: FeatureIndex,
  report: (issue: { code: string; message: string }) => void,
): string[] {
  const reads = expressionReads(expression);
  const inputs: string[] = [];
  const inNamespace = (fqn: string) => fqn.startsWith(`${feature.namespace}.`);
  for (const fqn of reads.features) {
    const resolved = index.resolve(fqn);
    if (!resolved || !inNamespace(fqn))
      report({
        code: 'UNKNOWN_FEATURE',
        message: `${feature.fqn}: the expression reads unknown feature '${fqn}'`,
      });
    else inputs.push(resolved.fqn);
  }
  for (const [relation, columns] of reads.relations) {
    const spec = index.resolve(relation)?.spec;
    if (spec?.kind !== 'has_many' || !inNamespace(relation)) {
      report({
        code: 'UNKNOWN_FEATURE',
        message: `${feature.fqn}: the expression aggregates '${relation}', which is not a has-many relationship`,
      });
      continue;
    }
    inputs.push(relation);
    for (const column of columns) {
      if (!index.resolve(`${spec.target}.${column}`))
        report({
          code: 'UNKNOWN_FEATURE',
          message: `${feature.fqn}: the expression reads unknown feature '${spec.target}.${column}'`,
        });
    }
  }
  const typed = inferExpressionType(expression, {
    feature: (fqn) => {
      const spec = index.resolve(fqn)?.spec;
      return spec?.kind === 'scalar' ? spec.dtype : undefined;
    },
    column: (relation, name) => {
      const target = index.resolve(relation)?.spec;
      const spec = target?.kind === 'has_many' ? index.resolve(`${target.target}.${name}`)?.spec : undefined;
      return spec?.kind === 'scalar' ? spec.dtype : undefined;
    },
  });
  for (const error of typed.errors)
    report({ code: 'TYPE_MISMATCH', message: `${feature.fqn} = ${formatExpression(expression)}: ${error}` });
  if (typed.errors.length === 0 && !assignable(typed.type, feature.dtype))
    report({
      code: 'TYPE_MISMATCH',
      message: `${feature.fqn} is ${feature.dtype.type}, but its expression ${formatExpression(expression)} is ${typed.type}`,
    });
  return inputs;
}

/**
 * Two resolvers of the same kind producing a feature in exactly the same environments and tags: neither
 * can be preferred, so every query of that feature would fail as ambiguous.
 */
function lintAmbiguity(artifact: GraphArtifact, index: FeatureIndex, report: Report): void {
  const scopeKey = (r: GraphArtifact['resolvers'][number]) =>
    JSON.stringify([r.kind, [...r.environments].sort(), [...r.tags].sort(), r.dataframe !== undefined]);
  const seen = new Map<string, string>();
  for (const resolver of artifact.resolvers) {
    for (const output of resolver.outputs) {
      const fqn = index.resolve(output.fqn)?.fqn ?? output.fqn;
      // A stream keys its values by the primary key but never supplies one (as the planner sees it).
      if (resolver.stream && fqn === index.namespaces.get(resolver.namespace)?.primaryKey) continue;
      const key = `${fqn} ${scopeKey(resolver)}`;
      const rival = seen.get(key);
      if (rival !== undefined && rival !== resolver.fqn)
        report(
          'error',
          'AMBIGUOUS_RESOLVER',
          `${fqn} is produced by ${rival} and ${resolver.fqn} in the same scope; scope one by environment or tags`,
          resolver.source,
        );
      else seen.set(key, resolver.fqn);
    }
  }
}

function lintNamedQueries(artifact: GraphArtifact, index: FeatureIndex, report: Report): void {
  for (const query of artifact.namedQueries) {
    const label = `named query ${query.name}${query.version ? `@${query.version}` : ''}`;
    for (const fqn of [...query.inputs, ...query.outputs, ...Object.keys(query.staleness)]) {
      if (!index.resolve(fqn) && !index.windows(fqn))
        report('error', 'UNKNOWN_FEATURE', `${label} references unknown feature '${fqn}'`);
    }
    for (const [fqn, text] of Object.entries(query.staleness)) {
      try {
        parseDuration(text);
      } catch {
        report('error', 'INVALID_DURATION', `${label}: staleness of ${fqn} is '${text}', not a duration`);
      }
    }
  }
}

/** Producer-level cycles: A needs an output of B which needs an output of A. */
function reportCycles(producers: readonly Producer[], report: Report): void {
  const byOutput = new Map<string, Producer[]>();
  for (const producer of producers)
    for (const output of producer.outputs) byOutput.set(output, [...(byOutput.get(output) ?? []), producer]);
  const state = new Map<Producer, 'visiting' | 'done'>();
  const visit = (producer: Producer, path: Producer[]): void => {
    if (state.get(producer) === 'done') return;
    if (state.get(producer) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(producer)), producer].map((p) => p.name);
      report('error', 'CYCLE', `resolvers form a cycle: ${cycle.join(' -> ')}`, producer.source);
      return;
    }
    state.set(producer, 'visiting');
    for (const input of producer.inputs) {
      for (const next of byOutput.get(input) ?? []) {
        if (next !== producer) visit(next, [...path, producer]);
      }
    }
    state.set(producer, 'done');
  };
  for (const producer of producers) visit(producer, []);
}
