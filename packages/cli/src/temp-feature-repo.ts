import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPOSITORY_TSCONFIG } from './init/repository-template.ts';

/** The monorepo's root, whose `node_modules/@slate` holds the workspace packages. */
export const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** A feature repository in a temporary directory; `remove` deletes it. */
export interface TempFeatureRepo {
  readonly dir: string;
  remove(): Promise<void>;
}

/**
 * Writes `files` (path → content) into a fresh temporary directory whose `node_modules/@slate` links to the
 * workspace packages, so `import { online } from '@slate/sdk'` resolves there as in a real repo. For tests.
 */
export async function createTempFeatureRepo(
  files: Readonly<Record<string, string>>,
): Promise<TempFeatureRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'slate-repo-'));
  await mkdir(join(dir, 'node_modules'));
  await symlink(join(repositoryRoot, 'node_modules', '@slate'), join(dir, 'node_modules', '@slate'), 'dir');
  // Node's types, as a real repository's devDependencies give them (the type check reads them).
  await symlink(join(repositoryRoot, 'node_modules', '@types'), join(dir, 'node_modules', '@types'), 'dir');
  // As in a real feature repo: without `"type": "module"` tsx loads `.ts` as CommonJS, without source maps.
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The `tsconfig.json` `slate init` writes, for repositories the type check should find clean. */
export const repoTsconfig = `${JSON.stringify(REPOSITORY_TSCONFIG)}\n`;

/** A valid repository: one namespace, one resolver, its tsconfig. */
export const validRepoFiles: Readonly<Record<string, string>> = {
  'slate.yaml': 'project: tiny\nentry: src/index.ts\n',
  'tsconfig.json': repoTsconfig,
  'src/index.ts': [
    "import { features, int, online, string } from '@slate/sdk';",
    "export const User = features('user', { id: int(), name: string() });",
    'export const get_name = online({',
    '  inputs: { id: User.id },',
    '  outputs: { name: User.name },',
    "  fn: ({ id }) => ({ name: 'user ' + String(id) }),",
    '});',
    '',
  ].join('\n'),
};

/** A repository whose resolver reads one namespace and writes another (lint error `MIXED_NAMESPACES`). */
export const mixedNamespaceRepoFiles: Readonly<Record<string, string>> = {
  'slate.yaml': 'project: mixed\nentry: src/index.ts\n',
  'src/index.ts': [
    "import { features, int, online, string } from '@slate/sdk';",
    "export const User = features('user', { id: int(), name: string() });",
    "export const Card = features('card', { id: int(), holder: string() });",
    'export const holder_name = online({',
    '  inputs: { name: User.name },',
    '  outputs: { holder: Card.holder },',
    '  fn: ({ name }) => ({ holder: name }),',
    '});',
    '',
  ].join('\n'),
};
