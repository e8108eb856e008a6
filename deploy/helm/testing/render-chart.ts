import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { helmBinary, unlessCi } from '@slate/testing';
import { parseAllDocuments, stringify } from 'yaml';

/**
 * The helm binary of the chart tests (`deploy/helm/fetch-helm.sh`), or undefined: the tests then skip —
 * except under CI, where a missing helm fails them.
 */
export const helm = helmBinary();
unlessCi(helm ? undefined : 'helm is not fetched (run `bash deploy/helm/fetch-helm.sh`)');

/** The two charts, by name. */
export const CHARTS = {
  metadataPlane: new URL('../slate-metadata-plane', import.meta.url).pathname,
  dataPlane: new URL('../slate-data-plane', import.meta.url).pathname,
} as const;
export type ChartName = keyof typeof CHARTS;

/** A file under deploy/helm (fixtures/…, examples/…). */
export const helmFile = (path: string): string => new URL(`../${path}`, import.meta.url).pathname;

/** A rendered Kubernetes object, as YAML gives it. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

/**
 * What to render: values files (paths, applied in order, as `-f`) and/or inline values (written to a
 * temporary file after them), the release name (default `rel`) and namespace (default `slate`).
 */
export interface RenderOptions {
  readonly files?: readonly string[];
  readonly values?: unknown;
  readonly release?: string;
  readonly namespace?: string;
}

const run = promisify(execFile);
let scratch: string | undefined;

function valuesArgs(options: RenderOptions): string[] {
  const args: string[] = [];
  for (const file of options.files ?? []) args.push('-f', file);
  if (options.values !== undefined) {
    scratch ??= mkdtempSync(join(tmpdir(), 'slate-chart-'));
    const file = join(scratch, `values-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, stringify(options.values));
    args.push('-f', file);
  }
  return args;
}

/**
 * `helm template` of a chart: its objects, parsed.
 *
 * @throws the helm process's error (its message holds helm's stderr) when the chart refuses the values.
 */
export async function renderChart(chart: ChartName, options: RenderOptions = {}): Promise<Manifest[]> {
  const { stdout } = await run(helm!, [
    'template',
    options.release ?? 'rel',
    CHARTS[chart],
    '--namespace',
    options.namespace ?? 'slate',
    ...valuesArgs(options),
  ]);
  return parseAllDocuments(stdout)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((doc): doc is Manifest => doc !== null);
}

/** Renders values the chart must refuse and returns helm's error output (fails the test if it renders). */
export async function renderChartError(chart: ChartName, options: RenderOptions = {}): Promise<string> {
  try {
    await renderChart(chart, options);
  } catch (error) {
    return String((error as { stderr?: string }).stderr ?? error);
  }
  throw new Error(`${chart} rendered values it should have refused`);
}

/** `helm lint --strict` of a chart with values; returns its output (helm exits non-zero on failure). */
export async function lintChart(chart: ChartName, options: RenderOptions = {}): Promise<string> {
  const { stdout } = await run(helm!, ['lint', '--strict', CHARTS[chart], ...valuesArgs(options)]);
  return stdout;
}

/** The paths of the problems in a chart's one failure message (its `  - path: message` lines). */
export function problemPaths(message: string): string[] {
  return [...message.matchAll(/^ {2}- (\S+?): /gm)].map((m) => m[1]!);
}
