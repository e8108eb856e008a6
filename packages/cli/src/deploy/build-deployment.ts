import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256Hex } from '@slate/client';
import { type GraphArtifact, type LintIssue, lintGraph, SlateError } from '@slate/graph';
import { collectGraph } from '@slate/sdk';
import { build, type Message } from 'esbuild';
import { tsImport } from 'tsx/esm/api';
import { type LoadedProjectConfig, readProjectConfig } from '../project-config.ts';

/** A feature repository's graph as collected from its source, with the lint findings about it. */
export interface CollectedProject {
  readonly config: LoadedProjectConfig;
  readonly artifact: GraphArtifact;
  readonly lint: readonly LintIssue[];
}

/** Everything a deployment uploads, built locally and deterministically. */
export interface DeploymentBuild extends CollectedProject {
  /** The entry bundled with all its dependencies (the SDK included) as one ESM module. */
  readonly bundle: Uint8Array;
  /** Lowercase hex SHA-256 of `bundle`. */
  readonly sourceHash: string;
}

/**
 * Reads `slate.yaml`, imports its `entry` through tsx and collects the feature graph, then lints it and
 * (unless `typeCheck: false`) type-checks the repository with the TypeScript compiler (`type-check.ts`).
 * Each call imports the module afresh, so edits between calls are seen.
 *
 * @throws SlateError `input`: `NO_PROJECT_CONFIG`/`INVALID_PROJECT_CONFIG` (see `readProjectConfig`),
 *   `ENTRY_LOAD_FAILED` when the module does not load, `INVALID_GRAPH` when its exports do not form a graph.
 */
export async function collectProject(
  dir: string,
  options: { readonly typeCheck?: boolean } = {},
): Promise<CollectedProject> {
  const config = await readProjectConfig(dir);
  let exports: Record<string, unknown>;
  try {
    exports = (await tsImport(pathToFileURL(config.entryPath).href, import.meta.url)) as Record<
      string,
      unknown
    >;
  } catch (cause) {
    // The SDK's own findings (`UNKNOWN_FEATURE`, `INVALID_RESOLVER`, …) keep their code, paths made relative.
    if (isSlateError(cause) && cause.kind === 'input') throw relativeTo(config.dir, cause);
    throw relativeTo(
      config.dir,
      new SlateError(
        'input',
        'ENTRY_LOAD_FAILED',
        `cannot load ${relative(config.dir, config.entryPath)}: ${(cause as Error).message ?? String(cause)}`,
        { entry: config.entry },
        { cause },
      ),
    );
  }
  const sqlFiles = await readSqlFiles(config.dir, dirname(config.entryPath));
  let artifact: GraphArtifact;
  try {
    ({ artifact } = collectGraph(exports, { project: config.project, sqlFiles }));
  } catch (cause) {
    if (isSlateError(cause)) throw relativeTo(config.dir, cause);
    // A shape the SDK's checks did not foresee is still the repository's mistake, not the CLI's.
    throw new SlateError(
      'input',
      'INVALID_GRAPH',
      `cannot collect the graph of ${config.entry}: ${(cause as Error).message ?? String(cause)}`,
      { entry: config.entry },
      { cause },
    );
  }
  const graphLint = lintGraph(artifact);
  if (options.typeCheck === false) return { config, artifact, lint: graphLint };
  const { typeCheckProject } = await import('./type-check.ts');
  const typed = await typeCheckProject(config);
  return { config, artifact, lint: [...typed.issues, ...graphLint] };
}

/**
 * A `SlateError`, from this module graph or from the repository's own copy of the SDK, which tsx loads as
 * a separate module instance (so `instanceof` misses it).
 */
function isSlateError(error: unknown): error is SlateError {
  if (error instanceof SlateError) return true;
  const candidate = error as Partial<SlateError> | null;
  return (
    candidate instanceof Error &&
    candidate.name === 'SlateError' &&
    typeof candidate.code === 'string' &&
    typeof candidate.kind === 'string'
  );
}

/** The same error with absolute paths under `dir` in its message shortened to relative ones. */
function relativeTo(dir: string, error: SlateError): SlateError {
  const prefix = dir.endsWith(sep) ? dir : `${dir}${sep}`;
  if (!error.message.includes(prefix) && error instanceof SlateError) return error;
  return new SlateError(error.kind, error.code, error.message.split(prefix).join(''), error.details, {
    cause: error,
  });
}

/** SQL file resolvers: every `*.sql` under the entry's folder (paths relative to the project), sorted. */
async function readSqlFiles(projectDir: string, root: string): Promise<{ path: string; text: string }[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.sql'))
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => !relative(root, path).split(/[\\/]/).includes('node_modules'))
    .sort();
  return Promise.all(
    files.map(async (file) => ({ path: relative(projectDir, file), text: await readFile(file, 'utf8') })),
  );
}

/**
 * Bundles the entry with esbuild into memory: platform node, ESM, target node20, every import bundled
 * (Node built-ins excepted), no source map. esbuild writes no timestamps and orders modules by import
 * order, so the same sources always give the same bytes and thus the same `sourceHash`.
 *
 * @throws SlateError `input`/`BUNDLE_FAILED` listing esbuild's errors as `file:line: text`.
 */
export async function bundleProject(config: LoadedProjectConfig): Promise<Uint8Array> {
  try {
    const result = await build({
      absWorkingDir: config.dir,
      entryPoints: [config.entryPath],
      outfile: 'slate-bundle.mjs',
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      sourcemap: false,
      legalComments: 'none',
      charset: 'utf8',
      logLevel: 'silent',
      // Bundled CommonJS dependencies call `require`, which an ES module lacks.
      banner: {
        js: "import { createRequire as __slateCreateRequire } from 'node:module';\nconst require = __slateCreateRequire(import.meta.url);",
      },
    });
    const [output] = result.outputFiles;
    if (!output) throw new SlateError('internal', 'BUNDLE_FAILED', 'esbuild produced no output');
    // SQL file resolvers travel in the graph, not in the code: a trailing comment with their hashes makes
    // an edit to a .sql file change the bundle's hash, so `slate apply` deploys it.
    const sqlFiles = await readSqlFiles(config.dir, dirname(config.entryPath));
    if (sqlFiles.length === 0) return output.contents;
    const trailer = sqlFiles
      .map(
        (file) =>
          `// slate sql resolver ${file.path} ${createHash('sha256').update(file.text).digest('hex')}\n`,
      )
      .join('');
    return new Uint8Array(Buffer.concat([output.contents, Buffer.from(trailer, 'utf8')]));
  } catch (error) {
    if (error instanceof SlateError) throw error;
    const messages = (error as { errors?: Message[] }).errors ?? [];
    const lines = messages.map((m) =>
      m.location ? `${m.location.file}:${m.location.line}: ${m.text}` : m.text,
    );
    throw new SlateError(
      'input',
      'BUNDLE_FAILED',
      `cannot bundle ${config.entry}: ${lines.join('; ') || (error as Error).message}`,
      { errors: lines },
      { cause: error },
    );
  }
}

/**
 * Builds what `slate apply` uploads: the collected graph, its lint findings, the bundle and its hash.
 * It does not refuse a graph with lint errors; callers decide (see `applyDeployment`).
 *
 * @example
 * const { artifact, bundle, sourceHash, lint } = await buildDeployment({ dir: 'examples/quickstart' });
 */
export async function buildDeployment(options: {
  readonly dir: string;
  readonly typeCheck?: boolean;
}): Promise<DeploymentBuild> {
  const collected = await collectProject(options.dir, { typeCheck: options.typeCheck ?? true });
  const bundle = await bundleProject(collected.config);
  const sourceHash = await sha256Hex(bundle);
  return { ...collected, bundle, sourceHash };
}

/**
 * One lint issue as `file:line: severity: message [CODE]`, the file relative to `dir` (lint messages carry
 * absolute paths).
 */
export function formatLintIssue(issue: LintIssue, dir: string): string {
  const { source } = issue;
  const prefix = source ? `${source.file}:${source.line}: ` : '';
  const text =
    prefix && issue.message.startsWith(prefix) ? issue.message.slice(prefix.length) : issue.message;
  const column = issue.column === undefined ? '' : `:${issue.column}`;
  const where = source ? `${relative(dir, source.file) || source.file}:${source.line}${column}: ` : '';
  return `${where}${issue.severity}: ${text} [${issue.code}]`;
}
