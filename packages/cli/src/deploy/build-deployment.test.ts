import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { GraphArtifact } from '@slate/graph';
import { collectGraph } from '@slate/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTempFeatureRepo, repositoryRoot, validRepoFiles } from '../temp-feature-repo.ts';
import { buildDeployment, type DeploymentBuild, formatLintIssue } from './build-deployment.ts';

const quickstart = join(repositoryRoot, 'examples', 'quickstart');

/** The artifact without `source` locations, which differ between the sources and the bundle. */
function withoutSources(artifact: GraphArtifact): unknown {
  return JSON.parse(
    JSON.stringify(artifact, (key, value: unknown) => (key === 'source' ? undefined : value)),
  );
}

describe('buildDeployment on examples/quickstart', () => {
  let first: DeploymentBuild;
  let bundleDir: string;
  beforeAll(async () => {
    first = await buildDeployment({ dir: quickstart, typeCheck: false });
    bundleDir = await mkdtemp(join(tmpdir(), 'slate-bundle-'));
  });
  afterAll(() => rm(bundleDir, { recursive: true, force: true }));

  it('collects the graph with its sources and no lint issues', () => {
    expect(first.config).toMatchObject({ project: 'quickstart', entry: 'src/index.ts' });
    expect(first.artifact.project).toBe('quickstart');
    expect(first.artifact.namespaces.map((ns) => ns.name).sort()).toEqual(['transaction', 'user']);
    // Every resolver of the example: user_plans from src/sql/user_plans.sql, the rest in TypeScript.
    expect(first.artifact.resolvers.map((r) => r.fqn).sort()).toEqual([
      'email_domain',
      'get_transaction',
      'get_user',
      'page_view_counts',
      'page_views',
      'risk_score',
      'transaction_stats',
      'user_directory',
      'user_plans',
      'user_transactions',
    ]);
    expect(first.artifact.scheduledQueries?.map((q) => q.name)).toEqual(['daily_risk']);
    // Only the file: Vitest's stack-trace handling hides tsx's source maps, so lines are checked in
    // main.test.ts through the real `bin/slate.js`.
    expect(first.artifact.resolvers.find((r) => r.fqn === 'get_user')?.source?.file).toBe(
      join(quickstart, 'src', 'resolvers.ts'),
    );
    expect(first.lint).toEqual([]);
  });

  it('hashes the bundle bytes with sha256', () => {
    expect(first.sourceHash).toBe(createHash('sha256').update(first.bundle).digest('hex'));
  });

  it('is deterministic: building again gives the same bytes', async () => {
    const second = await buildDeployment({ dir: quickstart, typeCheck: false });
    expect(second.sourceHash).toBe(first.sourceHash);
    expect(Buffer.from(second.bundle).equals(Buffer.from(first.bundle))).toBe(true);
  });

  it('bundles everything: the bundle alone, outside the repo, yields the same graph', async () => {
    const text = new TextDecoder().decode(first.bundle);
    expect(text).not.toMatch(/from ['"]@slate\//);
    expect(text).not.toMatch(/from ['"]zod['"]/);
    const file = join(bundleDir, 'bundle.mjs');
    await writeFile(file, first.bundle);
    const exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const { artifact, functions } = collectGraph(exports, { project: 'quickstart' });
    // SQL file resolvers travel in the artifact only: they have no code to bundle.
    const typescriptOnly = { ...first.artifact, resolvers: first.artifact.resolvers.filter((r) => !r.sql) };
    expect(withoutSources(artifact)).toEqual(withoutSources(typescriptOnly));
    const getUser = functions.get('get_user');
    expect(getUser).toBeDefined();
  });
});

describe('SQL file resolvers', () => {
  it('are collected from under the entry folder, and an edit to one changes the bundle hash', async () => {
    const sql = (column: string) => `-- source: app_db\n-- resolves: user\nselect id, ${column} from users\n`;
    const repo = await createTempFeatureRepo({ ...validRepoFiles, 'src/sql/user_names.sql': sql('name') });
    try {
      const before = await buildDeployment({ dir: repo.dir, typeCheck: false });
      expect(before.artifact.resolvers.find((r) => r.fqn === 'user_names')).toMatchObject({
        outputs: [{ param: 'name', fqn: 'user.name' }],
        sql: { dataSource: 'app_db', file: 'src/sql/user_names.sql' },
      });
      await writeFile(join(repo.dir, 'src/sql/user_names.sql'), sql('full_name as name'));
      const after = await buildDeployment({ dir: repo.dir, typeCheck: false });
      expect(after.sourceHash).not.toBe(before.sourceHash);
      expect(after.artifact.resolvers.find((r) => r.fqn === 'user_names')?.sql?.query).toContain('full_name');
    } finally {
      await repo.remove();
    }
  });
});

describe('formatLintIssue', () => {
  it('prints the file relative to the repository', () => {
    const line = formatLintIssue(
      {
        severity: 'error',
        code: 'MIXED_NAMESPACES',
        message: '/repo/src/a.ts:4: resolver r mixes namespaces',
        source: { file: '/repo/src/a.ts', line: 4 },
      },
      '/repo',
    );
    expect(line).toBe('src/a.ts:4: error: resolver r mixes namespaces [MIXED_NAMESPACES]');
  });
});
