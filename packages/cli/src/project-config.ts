import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { SlateError } from '@slate/graph';
import { parse } from 'yaml';
import { z } from 'zod';

/** The file name of a feature repository's settings. */
export const PROJECT_CONFIG_FILE = 'slate.yaml';

/** `slate.yaml`: the project name and the module whose exports form the feature graph. */
export const ProjectConfigSchema = z.object({
  project: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, - and _'),
  entry: z
    .string()
    .min(1)
    .refine((entry) => !isAbsolute(entry), 'a path relative to slate.yaml'),
  /**
   * Named SQL data sources `slate up` gives its data plane (`{name, type: postgres|mysql, url}` or
   * `{name, type: pglite, initFile}`; paths relative to slate.yaml), validated by the data plane.
   */
  data_sources: z.array(z.record(z.string(), z.unknown())).optional(),
});
export type ProjectConfig = z.infer<typeof ProjectConfigSchema>;

/** A parsed `slate.yaml` and where its entry module is. */
export interface LoadedProjectConfig extends ProjectConfig {
  /** Absolute directory holding `slate.yaml`. */
  readonly dir: string;
  /** Absolute path of `entry`. */
  readonly entryPath: string;
}

/**
 * Reads and validates `<dir>/slate.yaml`.
 *
 * @throws SlateError `input`/`NO_PROJECT_CONFIG` when the file is missing, `input`/`INVALID_PROJECT_CONFIG`
 *   naming each bad field when it does not match `ProjectConfigSchema`.
 * @example
 * const { project, entryPath } = await readProjectConfig('examples/quickstart');
 */
export async function readProjectConfig(dir: string): Promise<LoadedProjectConfig> {
  const absolute = resolve(dir);
  const path = join(absolute, PROJECT_CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SlateError(
        'input',
        'NO_PROJECT_CONFIG',
        `${path} does not exist; is ${absolute} a feature repo?`,
        {
          path,
        },
      );
    }
    throw error;
  }
  const config = parseProjectConfig(text, path);
  return { ...config, dir: absolute, entryPath: join(absolute, config.entry) };
}

/**
 * Validates the text of a `slate.yaml`; `path` only labels messages.
 * @throws SlateError `input`/`INVALID_PROJECT_CONFIG`.
 */
export function parseProjectConfig(text: string, path = PROJECT_CONFIG_FILE): ProjectConfig {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new SlateError(
      'input',
      'INVALID_PROJECT_CONFIG',
      `${path}: not valid YAML: ${(error as Error).message}`,
      {
        path,
      },
    );
  }
  const parsed = ProjectConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new SlateError('input', 'INVALID_PROJECT_CONFIG', `${path}: ${problems.join('; ')}`, {
      path,
      issues: problems,
    });
  }
  return parsed.data;
}
