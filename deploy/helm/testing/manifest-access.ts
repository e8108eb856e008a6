import type { Manifest } from './render-chart.ts';

/** The parts of a container the chart tests read. */
export interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: string[];
  readonly args?: string[];
  readonly workingDir?: string;
  readonly env?: { name: string; value?: string; valueFrom?: Record<string, Record<string, unknown>> }[];
  readonly envFrom?: { secretRef?: { name: string } }[];
  readonly ports?: { name: string; containerPort: number }[];
  readonly volumeMounts?: { name: string; mountPath: string }[];
  readonly livenessProbe?: Record<string, unknown>;
  readonly readinessProbe?: Record<string, unknown>;
}

/** The parts of a pod spec the chart tests read. */
export interface PodSpec {
  readonly serviceAccountName: string;
  readonly containers: Container[];
  readonly initContainers?: Container[];
  readonly volumes?: {
    name: string;
    configMap?: { name: string };
    secret?: { secretName: string; items?: { key: string; path: string }[] };
    emptyDir?: object;
  }[];
}

/** The one object of a kind and name, or a thrown error listing what there is. */
export function findManifest(docs: readonly Manifest[], kind: string, name: string): Manifest {
  const found = docs.find((d) => d.kind === kind && d.metadata.name === name);
  if (!found) {
    const have = docs.map((d) => `${d.kind}/${d.metadata.name}`).join(', ');
    throw new Error(`no ${kind}/${name} among ${have}`);
  }
  return found;
}

export const manifestsOf = (docs: readonly Manifest[], kind: string): Manifest[] =>
  docs.filter((d) => d.kind === kind);

/** A Deployment's pod spec. */
export const podOf = (deployment: Manifest): PodSpec =>
  (deployment.spec as { template: { spec: PodSpec } }).template.spec;

export const containerOf = (deployment: Manifest): Container => podOf(deployment).containers[0]!;

/** A container's literal env values by name (`valueFrom` entries map to undefined). */
export const envOf = (container: Container): Record<string, string | undefined> =>
  Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));

/** A container's env entry by name, or a thrown error. */
export function envEntry(container: Container, name: string) {
  const entry = container.env?.find((e) => e.name === name);
  if (!entry) throw new Error(`${container.name} has no env ${name}`);
  return entry;
}

/** `spec` of an object, typed loosely for assertions. */
export const specOf = (doc: Manifest): Record<string, unknown> => doc.spec as Record<string, unknown>;
