import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSlateClient } from '@slate/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createTempFeatureRepo, repoTsconfig, type TempFeatureRepo } from '../temp-feature-repo.ts';
import { applyDeployment } from './apply-deployment.ts';
import { collectProject } from './build-deployment.ts';

const binPath = fileURLToPath(new URL('../../bin/slate.js', import.meta.url));

/** The resolver returns a number for a string feature: it loads, collects and passes the graph lint. */
const wrongReturn = [
  "import { features, int, online, string } from '@slate/sdk';",
  "export const User = features('user', { id: int(), email: string(), domain: string() });",
  'export const get_domain = online({',
  '  inputs: { email: User.email },',
  '  outputs: { domain: User.domain },',
  '  fn: ({ email }) => ({ domain: email.length }),',
  '});',
  '',
].join('\n');
const fixed = wrongReturn.replace('domain: email.length', "domain: email.split('@')[1] ?? ''");

const repos: TempFeatureRepo[] = [];
afterEach(async () => {
  await Promise.all(repos.splice(0).map((repo) => repo.remove()));
});

async function repoWith(index: string, withTsconfig = true): Promise<TempFeatureRepo> {
  const repo = await createTempFeatureRepo({
    'slate.yaml': 'project: typed\nentry: src/index.ts\n',
    'src/index.ts': index,
    ...(withTsconfig ? { 'tsconfig.json': repoTsconfig } : {}),
  });
  repos.push(repo);
  return repo;
}

/** Line and 1-based column of `needle` in `text`, found by hand. */
function positionOf(text: string, needle: string): { line: number; column: number } {
  const lines = text.split('\n');
  const line = lines.findIndex((candidate) => candidate.includes(needle));
  return { line: line + 1, column: lines[line]!.indexOf(needle) + 1 };
}

describe('the type check in lint and apply', () => {
  it('reports a wrong return type at file:line:col with the feature it feeds', async () => {
    const repo = await repoWith(wrongReturn);
    const { lint } = await collectProject(repo.dir);
    const typeErrors = lint.filter((issue) => issue.code === 'TYPE_ERROR');
    expect(typeErrors).toHaveLength(1);
    const { line, column } = positionOf(wrongReturn, 'domain: email.length');
    expect(typeErrors[0]).toMatchObject({
      severity: 'error',
      source: { file: join(repo.dir, 'src/index.ts'), line },
      column,
    });
    expect(typeErrors[0]!.message).toMatch(
      /^User\.domain \(output 'domain'\): TS2322: Type 'number' is not assignable/,
    );
    // The graph itself is fine: without the type check nothing is found.
    const untyped = await collectProject(repo.dir, { typeCheck: false });
    expect(untyped.lint.filter((issue) => issue.severity === 'error')).toEqual([]);
  }, 120_000);

  it('sees an edit: the cached result of an unchanged repository is not reused after a change', async () => {
    const repo = await repoWith(fixed);
    const clean = await collectProject(repo.dir);
    expect(clean.lint).toEqual([]);
    expect((await collectProject(repo.dir)).lint).toEqual([]);
    // Same size and a later time would do; a different size makes the edit certain on any file system.
    await writeFile(join(repo.dir, 'src/index.ts'), wrongReturn);
    const broken = await collectProject(repo.dir);
    expect(broken.lint.map((issue) => issue.code)).toEqual(['TYPE_ERROR']);
    await writeFile(join(repo.dir, 'src/index.ts'), fixed);
    expect((await collectProject(repo.dir)).lint).toEqual([]);
  }, 120_000);

  it('checks a repository without a tsconfig.json with strict defaults, and says so', async () => {
    const repo = await repoWith(wrongReturn, false);
    const { lint } = await collectProject(repo.dir);
    expect(lint.map((issue) => issue.code).sort()).toEqual(['NO_TSCONFIG', 'TYPE_ERROR']);
  }, 120_000);

  it('slate lint exits 2 and prints the error; apply uploads nothing', async () => {
    const repo = await repoWith(wrongReturn);
    const result = spawnSync(process.execPath, [binPath, 'lint'], {
      cwd: repo.dir,
      encoding: 'utf8',
      env: { ...process.env, SLATE_CLI_FROM_SOURCE: '1' },
    });
    const { line, column } = positionOf(wrongReturn, 'domain: email.length');
    expect(result.status).toBe(2);
    expect(result.stdout).toContain(
      `src/index.ts:${line}:${column}: error: User.domain (output 'domain'): TS2322: Type 'number' is not assignable to type 'string'. [TYPE_ERROR]`,
    );
    expect(result.stdout + result.stderr).not.toContain(repo.dir);
    // Nothing listens here: an upload would fail with a connection error, not LINT_FAILED.
    const client = createSlateClient({ apiServer: 'http://127.0.0.1:9', clientId: 'x', clientSecret: 'y' });
    await expect(applyDeployment({ dir: repo.dir, client, git: false })).rejects.toMatchObject({
      code: 'LINT_FAILED',
    });
  }, 120_000);
});

describe('the examples', () => {
  it.each(['quickstart', 'all-types'])(
    '%s type-checks under its own tsconfig.json',
    async (example) => {
      const dir = fileURLToPath(new URL(`../../../../examples/${example}`, import.meta.url));
      const { lint } = await collectProject(dir);
      expect(lint).toEqual([]);
    },
    120_000,
  );
});
