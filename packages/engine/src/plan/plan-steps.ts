import type { ResolverSpec } from '@slate/graph';
import type { PlannedOutput, ResolverStep } from './plan.ts';

/**
 * Keeps only the steps the outputs need. Planning tries candidates (to check their inputs resolve and to
 * detect ambiguity), which can leave steps no output depends on.
 */
export function pruneUnreachable(
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
  // What the query uses of each step: requested outputs and other steps' inputs. A step is served from
  // the online store when these are fresh, whatever its other outputs.
  const used = new Set<string>();
  for (const output of outputs) if (output.kind === 'step') used.add(output.fqn);
  for (const index of reachable) for (const input of steps[index]!.inputs) used.add(input.fqn);
  const kept = [...renumber.keys()].map((old) => {
    const step = steps[old]!;
    return {
      ...step,
      index: renumber.get(old)!,
      dependsOn: step.dependsOn.map((d) => renumber.get(d)!),
      needed: new Set(step.outputs.filter((output) => used.has(output.fqn)).map((output) => output.fqn)),
    };
  });
  return {
    steps: kept,
    outputs: outputs.map((output) =>
      output.kind === 'step' ? { ...output, step: renumber.get(output.step)! } : output,
    ),
  };
}

/** The plan in words: steps, what they read and produce, and where each output comes from. */
export function explainPlan(
  hash: string,
  steps: readonly ResolverStep[],
  outputs: readonly PlannedOutput[],
  rowSource: ResolverSpec | undefined,
): string {
  const lines = [`plan ${hash}: ${steps.length} step(s)`];
  if (rowSource) lines.push(`  rows: every entity returned by ${rowSource.fqn} (total)`);
  for (const step of steps) {
    const inputs = step.inputs.map((input) => input.fqn).join(', ');
    const produced = step.outputs.map((output) => output.fqn).join(', ');
    const after = step.dependsOn.length > 0 ? `  after ${step.dependsOn.map((d) => `[${d}]`).join(' ')}` : '';
    const how =
      step.kind === 'expression'
        ? ` = ${step.resolver.description}`
        : step.kind === 'traversal'
          ? ` (nested query in '${step.traversal?.target}')`
          : step.kind === 'stored'
            ? ' (online store only)'
            : '';
    lines.push(`  [${step.index}] ${step.resolver.fqn}(${inputs}) -> ${produced}${how}${after}`);
  }
  lines.push('outputs:');
  for (const output of outputs) {
    const how =
      output.kind === 'input'
        ? 'given as input'
        : output.kind === 'step'
          ? `from [${output.step}]`
          : output.kind === 'default'
            ? 'its default (no resolver in scope)'
            : `${output.error.code}: ${output.error.message}`;
    lines.push(`  ${output.name} ${how}`);
  }
  return lines.join('\n');
}
