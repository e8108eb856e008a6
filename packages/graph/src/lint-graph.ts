import type { FeatureSpec, GraphArtifact, SourceLocation } from './graph-artifact.ts';

/** One finding of `lintGraph`; `error`s block a deployment. */
export interface LintIssue {
  readonly severity: 'error' | 'warning';
  readonly code: string;
  readonly message: string;
  readonly source?: SourceLocation;
}

/**
 * Checks a graph artifact for mistakes a schema cannot see: unknown features, resolvers spanning
 * namespaces, joins over unknown or mismatched features, outputs nobody can compute from, and cycles
 * between resolvers. Returns every issue (never throws); messages start with `file:line` when known.
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

  const features = new Map<string, FeatureSpec>();
  const namespaces = new Set<string>();
  for (const ns of artifact.namespaces) {
    if (namespaces.has(ns.name))
      report('error', 'DUPLICATE_NAMESPACE', `namespace '${ns.name}' is declared twice`, ns.source);
    namespaces.add(ns.name);
    for (const feature of ns.features) features.set(feature.fqn, feature);
  }

  for (const ns of artifact.namespaces) {
    for (const feature of ns.features) {
      if (feature.kind === 'scalar') continue;
      if (!namespaces.has(feature.target)) {
        report(
          'error',
          'UNKNOWN_NAMESPACE',
          `${feature.fqn} relates to unknown namespace '${feature.target}'`,
          ns.source,
        );
        continue;
      }
      for (const pair of feature.join) {
        const local = features.get(pair.local);
        const foreign = features.get(pair.foreign);
        if (!local || !foreign) {
          report(
            'error',
            'UNKNOWN_FEATURE',
            `${feature.fqn} joins on unknown feature '${!local ? pair.local : pair.foreign}'`,
            ns.source,
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
            ns.source,
          );
        }
      }
    }
  }

  const producers = new Map<string, string[]>();
  const resolverNames = new Set<string>();
  for (const resolver of artifact.resolvers) {
    if (resolverNames.has(resolver.fqn))
      report('error', 'DUPLICATE_RESOLVER', `two resolvers are named '${resolver.fqn}'`, resolver.source);
    resolverNames.add(resolver.fqn);
    const refs = [
      ...resolver.inputs.map((input) => input.fqn),
      ...resolver.outputs.map((output) => output.fqn),
    ];
    for (const fqn of refs) {
      if (!features.has(fqn))
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
    for (const output of resolver.outputs) {
      producers.set(output.fqn, [...(producers.get(output.fqn) ?? []), resolver.fqn]);
      if (resolver.inputs.some((input) => input.fqn === output.fqn)) {
        report(
          'error',
          'CYCLE',
          `resolver ${resolver.fqn} takes its own output '${output.fqn}' as input`,
          resolver.source,
        );
      }
    }
  }

  for (const [fqn, names] of producers) {
    const scoped = artifact.resolvers.filter(
      (r) => names.includes(r.fqn) && r.environments.length === 0 && r.tags.length === 0,
    );
    if (scoped.length > 1 && new Set(scoped.map((r) => r.kind)).size === 1) {
      report(
        'warning',
        'AMBIGUOUS_RESOLVER',
        `${fqn} is produced by ${scoped.map((r) => r.fqn).join(' and ')} in every scope`,
      );
    }
  }

  reportCycles(artifact, producers, report);
  return issues;
}

/** Resolver-level cycles: A needs an output of B which needs an output of A. */
function reportCycles(
  artifact: GraphArtifact,
  producers: Map<string, string[]>,
  report: (severity: 'error', code: string, text: string, source?: SourceLocation) => void,
): void {
  const byName = new Map(artifact.resolvers.map((r) => [r.fqn, r]));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      report('error', 'CYCLE', `resolvers form a cycle: ${cycle.join(' -> ')}`, byName.get(name)?.source);
      return;
    }
    state.set(name, 'visiting');
    for (const input of byName.get(name)?.inputs ?? []) {
      for (const producer of producers.get(input.fqn) ?? []) {
        if (producer !== name) visit(producer, [...path, name]);
      }
    }
    state.set(name, 'done');
  };
  for (const resolver of artifact.resolvers) visit(resolver.fqn, []);
}
